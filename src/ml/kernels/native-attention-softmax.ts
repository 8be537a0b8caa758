// Bahdanau attention's weights α = softmax(tanh(keys + q)·v) as one native kernel (native/attention.c,
// attnSoftmax) on the wasm heap, with its gradient as a second one: the fused scores
// (native-attention.ts) with the Softmax after them forward, and the softmax's gradient (a Multiply,
// a Sum, a Sub and a Multiply) with the scores' backward. While a gradient tape records, the forward
// also stores tanh(keys + q) for the backward pass; decoding does not. The context Σ α·features stays
// a matrix product (one output per kernel: tfjs would fill a zero gradient for a second one at every
// step). Used where the backend is wasm with the native kernels (and their 'attention-softmax' part)
// on; else null and the caller computes the scores and tf.softmax.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const ATTENTION_SOFTMAX = 'GlimpseAttentionSoftmax';
export const ATTENTION_SOFTMAX_GRAD = 'GlimpseAttentionSoftmaxGrad';

function float32(x: tf.TensorInfo, shape: number[], what: string): void {
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) !== tf.util.sizeFromShape(shape)) {
    throw new Error(`${ATTENTION_SOFTMAX}: ${what} must be float32 of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

const softmaxKernel = nativeKernel({
  kernelName: ATTENTION_SOFTMAX,
  entry: 'attnSoftmax',
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
      // α [B, L], and hidden = tanh(keys + q) [B, L, U] while recording
      outputs: store
        ? [
            [B, L],
            [B, L, U],
          ]
        : [[B, L]],
      params: (offset, [alpha, hidden]) => ({
        keysOff: offset(keys),
        qOff: offset(query),
        vOff: offset(v),
        alphaOff: alpha,
        hiddenOff: store ? hidden : -1,
        B,
        L,
        U,
      }),
    };
  },
});

const gradKernel = nativeKernel({
  kernelName: ATTENTION_SOFTMAX_GRAD,
  entry: 'attnSoftmaxGrad',
  fallback: 'none',
  list: true,
  plan({ inputs }) {
    const hidden = required(inputs, 'hidden');
    const v = required(inputs, 'v');
    const alpha = required(inputs, 'alpha');
    const dy = required(inputs, 'dy');
    const [B, L, U] = hidden.shape;
    float32(hidden, [B, L, U], 'hidden');
    float32(v, [U, 1], 'v');
    float32(alpha, [B, L], 'alpha');
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
        alphaOff: offset(alpha),
        dalphaOff: offset(dy),
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

/** The fused weights and their gradient: kernels of their own (no fallback: callers check first). */
export const NATIVE_ATTENTION_SOFTMAX_KERNELS: NativeKernel[] = [softmaxKernel, gradKernel];

const weightsWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [keys, query, v, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const [alpha, hidden] = tf.engine().runKernel(ATTENTION_SOFTMAX, { keys, query, v }, { store: true }) as tf.Tensor[];
  save([hidden, v, alpha]);
  return {
    value: alpha,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(ATTENTION_SOFTMAX_GRAD, { hidden: saved[0], v: saved[1], alpha: saved[2], dy }, {}) as tf.Tensor[],
  };
});

/** softmax(tanh(keys + q)·v) [B, L] for keys [B, L, U], query [B, U], v [U, 1] natively, or null where not available. */
export function nativeAttentionWeights(keys: tf.Tensor3D, query: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D | null {
  if (tf.getBackend() !== 'wasm' || activeNativePart('attention-softmax') == null) return null;
  if (keys.dtype !== 'float32' || query.dtype !== 'float32' || v.dtype !== 'float32' || keys.size === 0) return null;
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return weightsWithGrad(keys, query, v) as tf.Tensor2D;
  const [alpha] = tf.engine().runKernel(ATTENTION_SOFTMAX, { keys, query, v }, { store: false }) as tf.Tensor[];
  return alpha as tf.Tensor2D;
}
