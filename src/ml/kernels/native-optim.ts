// The optimiser's element-wise work through the native addon (native/optim.c) on the wasm heap:
// a gradient's sum of squares (global-norm clipping) and the whole Adam update of one variable in
// one pass (the moments in place, the weights in fresh memory). tfjs' own Adam is ~11 kernels per
// variable over weight-sized tensors and the clip two more, each a full pass with a fresh output.
// The C code performs tfjs' float32 operations in its order, so the results are bit for bit
// those of tf.train.adam after clipByGlobalNorm (on the native Sum). The moments are written in
// place when no other tensor shares their memory (the backend's refCount is 1); a shared one (a
// checkpoint's tensor loaded into a moment, a reshape of a weight still alive) first gets its own
// copy, assigned to the variable, so no other tensor ever sees a change. The weights always get a
// fresh copy (see `exclusive`).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './native-addon.ts';
import { activeNativePart, heapBytes } from './native-kernel.ts';
import { packParams } from './native-params.ts';

/** The float32 scalars of one Adam step (as tfjs makes them: every value already float32). */
export interface AdamScalars {
  /** the clip factor (1 without clipping) */
  scale: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** 1 − β1ᵗ, 1 − β2ᵗ */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  negLr: number;
  epsilon: number;
}

export interface NativeOptimizer {
  /** Σ g², in the order of the native Sum over Square (a float32 value) */
  sumSquares(g: tf.Tensor): number;
  /** w, m, v ← Adam(w, g·scale, m, v), in place */
  adam(w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamScalars): void;
}

/** The native optimiser when the backend is wasm with the native kernels (and their 'optimizer' part) on; else null. */
export function nativeOptimizer(): NativeOptimizer | null {
  const native = activeNativePart('optimizer');
  if (tf.getBackend() !== 'wasm' || native == null) return null;
  return bind(tf.backend() as BackendWasm, native.addon);
}

function float32Input(x: tf.Tensor, what: string): void {
  if (x.dtype !== 'float32' || x.isDisposed) throw new Error(`native optimiser: ${what} must be a live float32 tensor`);
}

function bind(wasm: BackendWasm, addon: NativeAddon): NativeOptimizer {
  /**
   * the variable's memory, its own: a copy assigned to it first when another tensor shares it, or
   * always (`fresh`) for the weights. wasm's XNNPACK kernels (Conv2D, FusedConv2D, …) cache their
   * packed weights by the weight tensor's data id, so a weight changed in place would leave them
   * computing with the old values outside the gradient tape (validation, captions): a weight gets
   * new memory (a new id; disposing the old one drops its cached operators) every step.
   */
  const exclusive = (x: tf.Variable, fresh = false): number => {
    if (!fresh && wasm.refCount(x.dataId) <= 1) return wasm.getMemoryOffset(x.dataId);
    const out = wasm.makeOutput(x.shape, 'float32');
    const from = wasm.getMemoryOffset(x.dataId);
    const to = wasm.getMemoryOffset(out.dataId);
    heapBytes(wasm).copyWithin(to, from, from + x.size * 4); // the heap after the allocation
    const copy = tf.engine().makeTensorFromTensorInfo(out);
    x.assign(copy);
    copy.dispose();
    return to;
  };
  return {
    sumSquares(g) {
      float32Input(g, 'the gradient');
      return addon.sumSquares(heapBytes(wasm), packParams('sumSquares', { xOff: wasm.getMemoryOffset(g.dataId), n: g.size }));
    },
    adam(w, g, m, v, s) {
      for (const [x, what] of [
        [w, 'the variable'],
        [g, 'the gradient'],
        [m, 'the first moment'],
        [v, 'the second moment'],
      ] as const) {
        float32Input(x, what);
        if (!tf.util.arraysEqual(x.shape, w.shape)) throw new Error(`native optimiser: ${what} is misshapen`);
      }
      if (w.size === 0) return;
      const wOff = exclusive(w, true);
      const mOff = exclusive(m);
      const vOff = exclusive(v);
      const params = packParams('adam', { ...s, wOff, gOff: wasm.getMemoryOffset(g.dataId), mOff, vOff, n: w.size });
      addon.adam(heapBytes(wasm), params);
    },
  };
}
