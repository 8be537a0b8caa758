// Bahdanau attention's scores, tanh(keys + q)·v, as one native kernel (native/attention.c) on the
// wasm heap, with its gradient as a second one: forward one pass over [B, L, U] (the Add, the
// Tanh and the matrix–vector product of the tfjs ops, without materialising keys + q), backward
// one pass giving the gradients of keys, q and v (instead of the tanh derivative's Square, Sub
// and Multiply, the outer product ds·vᵀ, the GEMV for v and the Sum for q). While a gradient tape
// records, the forward also stores tanh(keys + q) for the backward pass; decoding does not.
// Used where the backend is wasm with the native kernels on and the addon has them; else null and
// the caller computes the tfjs ops.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import type { BlasAddon } from './native-gemm.ts';
import { activeNativeGemm, heapBytes } from './native-matmul.ts';

export const ATTENTION_SCORES = 'GlimpseAttentionScores';
export const ATTENTION_SCORES_GRAD = 'GlimpseAttentionScoresGrad';

type AttentionAddon = Required<Pick<BlasAddon, 'attnScores' | 'attnScoresGrad'>>;

const forwardParams = new Float64Array(8);
const gradParams = new Float64Array(9);

function float32(x: tf.TensorInfo, shape: number[], what: string): void {
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) !== tf.util.sizeFromShape(shape)) {
    throw new Error(`${ATTENTION_SCORES}: ${what} must be float32 of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

/** outputs allocated in order, filled by `fill`, all released if it throws */
function outputs(wasm: BackendWasm, shapes: number[][], fill: (offsets: number[]) => void): tf.TensorInfo[] {
  const outs: tf.TensorInfo[] = [];
  try {
    for (const shape of shapes) outs.push(wasm.makeOutput(shape, 'float32'));
    fill(outs.map((o) => wasm.getMemoryOffset(o.dataId)));
    return outs;
  } catch (err) {
    for (const o of outs) wasm.disposeData(o.dataId);
    throw err;
  }
}

function kernels(addon: AttentionAddon): tf.KernelConfig[] {
  const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const keys = required(inputs, 'keys');
    const query = required(inputs, 'query');
    const v = required(inputs, 'v');
    const [B, L, U] = keys.shape;
    float32(keys, [B, L, U], 'keys');
    float32(query, [B, U], 'query');
    float32(v, [U, 1], 'v');
    const wasm = backend as BackendWasm;
    const store = (attrs as { store?: boolean }).store === true;
    return outputs(
      wasm,
      store
        ? [
            [B, L],
            [B, L, U],
          ]
        : [[B, L]],
      ([scores, hidden]) => {
        forwardParams.set([
          wasm.getMemoryOffset(keys.dataId),
          wasm.getMemoryOffset(query.dataId),
          wasm.getMemoryOffset(v.dataId),
          scores,
          store ? hidden : -1,
          B,
          L,
          U,
        ]);
        addon.attnScores(heapBytes(wasm), forwardParams);
      },
    );
  };
  const backward: tf.KernelFunc = ({ inputs, backend }) => {
    const hidden = required(inputs, 'hidden');
    const v = required(inputs, 'v');
    const dy = required(inputs, 'dy');
    const [B, L, U] = hidden.shape;
    float32(hidden, [B, L, U], 'hidden');
    float32(v, [U, 1], 'v');
    float32(dy, [B, L], 'dy');
    const wasm = backend as BackendWasm;
    return outputs(
      wasm,
      [
        [B, L, U],
        [B, U],
        [U, 1],
      ],
      ([dkeys, dq, dv]) => {
        gradParams.set([
          wasm.getMemoryOffset(hidden.dataId),
          wasm.getMemoryOffset(v.dataId),
          wasm.getMemoryOffset(dy.dataId),
          dkeys,
          dq,
          dv,
          B,
          L,
          U,
        ]);
        addon.attnScoresGrad(heapBytes(wasm), gradParams);
      },
    );
  };
  return [
    { kernelName: ATTENTION_SCORES, backendName: 'wasm', kernelFunc: forward },
    { kernelName: ATTENTION_SCORES_GRAD, backendName: 'wasm', kernelFunc: backward },
  ];
}

let registeredFor: BlasAddon | null = null;

function ensureKernels(addon: BlasAddon & AttentionAddon): void {
  if (registeredFor === addon) return;
  for (const config of kernels(addon)) {
    if (tf.getKernel(config.kernelName, 'wasm') != null) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registeredFor = addon;
}

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
  if (tf.getBackend() !== 'wasm') return null;
  const addon = activeNativeGemm()?.addon;
  if (addon?.attnScores == null || addon.attnScoresGrad == null) return null;
  if (keys.dtype !== 'float32' || query.dtype !== 'float32' || v.dtype !== 'float32' || keys.size === 0) return null;
  ensureKernels(addon as BlasAddon & AttentionAddon);
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return scoresWithGrad(keys, query, v) as tf.Tensor2D;
  const [scores] = tf.engine().runKernel(ATTENTION_SCORES, { keys, query, v }, { store: false }) as tf.Tensor[];
  return scores as tf.Tensor2D;
}
