// Bahdanau attention's scores, tanh(keys + q)·v, as one native kernel (native/attention.c) on the
// wasm heap, with its gradient as a second one: forward one pass over [B, L, U] (the Add, the
// Tanh and the matrix–vector product of the tfjs ops, without materialising keys + q), backward
// one pass giving the gradients of keys, q and v (instead of the tanh derivative's Square, Sub
// and Multiply, the outer product ds·vᵀ, the GEMV for v and the Sum for q). While a gradient tape
// records, the forward also stores tanh(keys + q) for the backward pass; decoding does not.
// Used where the backend is wasm with the native kernels (and their 'attention' part) on; else
// null and the caller computes the tfjs ops.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const ATTENTION_SCORES = 'GlimpseAttentionScores';
export const ATTENTION_SCORES_GRAD = 'GlimpseAttentionScoresGrad';

function float32(x: tf.TensorInfo, shape: number[], what: string): void {
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) !== tf.util.sizeFromShape(shape)) {
    throw new Error(`${ATTENTION_SCORES}: ${what} must be float32 of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

const scoresKernel = nativeKernel({
  kernelName: ATTENTION_SCORES,
  entry: 'attnScores',
  fallback: 'none',
  list: true,
  plan({ inputs, attrs }) {
    const keys = required(inputs, 'keys');
    const query = required(inputs, 'query');
    const v = required(inputs, 'v');
    const [B, L, U] = keys.shape;
    float32(keys, [B, L, U], 'keys');
    float32(query, [B, U], 'query');
    float32(v, [U, 1], 'v');
    const store = (attrs as { store?: boolean }).store === true;
    return {
      // scores [B, L], and hidden = tanh(keys + q) [B, L, U] while recording
      outputs: store
        ? [
            [B, L],
            [B, L, U],
          ]
        : [[B, L]],
      params: (offset, [scores, hidden]) => ({
        keysOff: offset(keys),
        qOff: offset(query),
        vOff: offset(v),
        scoresOff: scores,
        hiddenOff: store ? hidden : -1,
        B,
        L,
        U,
      }),
    };
  },
});

const gradKernel = nativeKernel({
  kernelName: ATTENTION_SCORES_GRAD,
  entry: 'attnScoresGrad',
  fallback: 'none',
  list: true,
  plan({ inputs }) {
    const hidden = required(inputs, 'hidden');
    const v = required(inputs, 'v');
    const dy = required(inputs, 'dy');
    const [B, L, U] = hidden.shape;
    float32(hidden, [B, L, U], 'hidden');
    float32(v, [U, 1], 'v');
    float32(dy, [B, L], 'dy');
    return {
      outputs: [
        [B, L, U],
        [B, U],
        [U, 1],
      ], // dkeys, dq, dv
      params: (offset, [dkeys, dq, dv]) => ({
        hiddenOff: offset(hidden),
        vOff: offset(v),
        dsOff: offset(dy),
        dkeysOff: dkeys,
        dqOff: dq,
        dvOff: dv,
        B,
        L,
        U,
      }),
    };
  },
});

/** The fused scores and their gradient: kernels of their own (no fallback: callers check first). */
export const NATIVE_ATTENTION_KERNELS: NativeKernel[] = [scoresKernel, gradKernel];

const scoresWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [keys, query, v, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const [scores, hidden] = tf.engine().runKernel(ATTENTION_SCORES, { keys, query, v }, { store: true }) as tf.Tensor[];
  save([hidden, v]);
  return {
    value: scores,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(ATTENTION_SCORES_GRAD, { hidden: saved[0], v: saved[1], dy }, {}) as tf.Tensor[],
  };
});

/** tanh(keys + q)·v [B, L] for keys [B, L, U], query [B, U], v [U, 1] natively, or null where not available. */
export function nativeAttentionScores(keys: tf.Tensor3D, query: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D | null {
  if (tf.getBackend() !== 'wasm' || activeNativePart('attention') == null) return null;
  if (keys.dtype !== 'float32' || query.dtype !== 'float32' || v.dtype !== 'float32' || keys.size === 0) return null;
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return scoresWithGrad(keys, query, v) as tf.Tensor2D;
  const [scores] = tf.engine().runKernel(ATTENTION_SCORES, { keys, query, v }, { store: false }) as tf.Tensor[];
  return scores as tf.Tensor2D;
}
