// The training loss's cross-entropy over the vocabulary as one native kernel (native/cross_entropy.c,
// crossEntropy) on the wasm heap, with its gradient as a second one: −log softmax(logits)[target] per
// row forward (instead of logSoftmax's six kernels, the one-hot, its Casts, a Multiply and a Sum over
// [N, V]), softmax − one-hot times the upstream gradient backward (instead of ~10 kernels over
// [N, V]). While a gradient tape records, the forward also stores each row's max and log-sum for the
// backward; evaluation does not. The mean over the rows stays a tfjs op (crossEntropyOfRows). Used
// where the backend is wasm with the native kernels (and their 'cross-entropy' part) on; else null
// and the caller computes the tfjs formulation.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const CROSS_ENTROPY = 'GlimpseCrossEntropy';
export const CROSS_ENTROPY_GRAD = 'GlimpseCrossEntropyGrad';

function check(x: tf.TensorInfo, dtype: 'float32' | 'int32', shape: number[], what: string): void {
  if (x.dtype !== dtype || tf.util.sizeFromShape(x.shape) !== tf.util.sizeFromShape(shape)) {
    throw new Error(`${CROSS_ENTROPY}: ${what} must be ${dtype} of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

const forwardKernel = nativeKernel({
  kernelName: CROSS_ENTROPY,
  entry: 'crossEntropy',
  fallback: 'none',
  list: true,
  plan({ inputs, attrs }) {
    const logits = required(inputs, 'logits');
    const targets = required(inputs, 'targets');
    const [N, V] = logits.shape;
    check(logits, 'float32', [N, V], 'logits');
    check(targets, 'int32', [N], 'targets');
    const store = (attrs as { store?: boolean }).store === true;
    return {
      // loss [N], and (max, log-sum) per row [N, 2] while recording
      outputs: store ? [[N], [N, 2]] : [[N]],
      params: (offset, [loss, stats]) => ({
        logitsOff: offset(logits),
        targetsOff: offset(targets),
        lossOff: loss,
        statsOff: store ? stats : -1,
        N,
        V,
      }),
    };
  },
});

const gradKernel = nativeKernel({
  kernelName: CROSS_ENTROPY_GRAD,
  entry: 'crossEntropyGrad',
  fallback: 'none',
  plan({ inputs }) {
    const logits = required(inputs, 'logits');
    const targets = required(inputs, 'targets');
    const stats = required(inputs, 'stats');
    const dy = required(inputs, 'dy');
    const [N, V] = logits.shape;
    check(logits, 'float32', [N, V], 'logits');
    check(targets, 'int32', [N], 'targets');
    check(stats, 'float32', [N, 2], 'stats');
    check(dy, 'float32', [N], 'dy');
    return {
      outputs: [[N, V]],
      params: (offset, [dx]) => ({
        logitsOff: offset(logits),
        targetsOff: offset(targets),
        statsOff: offset(stats),
        dyOff: offset(dy),
        dxOff: dx,
        N,
        V,
      }),
    };
  },
});

/** The fused loss and its gradient: kernels of their own (no fallback: callers check first). */
export const NATIVE_CROSS_ENTROPY_KERNELS: NativeKernel[] = [forwardKernel, gradKernel];

/** The per-row loss as a function of the logits alone (the targets are data: no gradient). */
const withGrad = (targets: tf.Tensor1D) =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, stats] = tf.engine().runKernel(CROSS_ENTROPY, { logits, targets }, { store: true }) as tf.Tensor[];
    save([logits, targets, stats]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(CROSS_ENTROPY_GRAD, { logits: saved[0], targets: saved[1], stats: saved[2], dy }, {}) as tf.Tensor,
    };
  });

/**
 * −log softmax(logits)[target] per row [N] for logits [N, V] (float32) and targets [N] (int32; a
 * target outside [0, V) contributes 0, as tf.oneHot's zero row does) natively, or null where not
 * available.
 */
export function nativeCrossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  if (tf.getBackend() !== 'wasm' || activeNativePart('cross-entropy') == null) return null;
  if (logits.dtype !== 'float32' || targets.dtype !== 'int32' || logits.size === 0) return null;
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return withGrad(targets)(logits) as tf.Tensor1D;
  const [loss] = tf.engine().runKernel(CROSS_ENTROPY, { logits, targets }, { store: false }) as tf.Tensor[];
  return loss as tf.Tensor1D;
}
