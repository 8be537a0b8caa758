// The GRU cell (src/ml/model/gru.ts) as one native kernel (native/gru.c) on the wasm heap, with its
// gradient as a second one: forward one pass over [B, U] (the gates, the reset, the update and the
// candidate: 5 Slices, 3 Adds, a Sigmoid, a Tanh, 2 Multiplies and a Sub of the tfjs ops), backward
// one pass giving the gradients of x, r and h (~20 kernels). While a gradient tape records, the
// forward also stores the gates (z, s, c) [B, 3U] for the backward pass; decoding does not.
// Used where the backend is wasm with the native kernels (and their 'gru' part) on; else null and
// the caller computes the tfjs ops.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const GRU_CELL = 'GlimpseGruCell';
export const GRU_CELL_GRAD = 'GlimpseGruCellGrad';

function float32(x: tf.TensorInfo, shape: number[], what: string): void {
  if (x.dtype !== 'float32' || x.shape.length !== 2 || x.shape[0] !== shape[0] || x.shape[1] !== shape[1]) {
    throw new Error(`${GRU_CELL}: ${what} must be float32 of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

const cellKernel = nativeKernel({
  kernelName: GRU_CELL,
  entry: 'gruCell',
  fallback: 'none',
  list: true,
  plan({ inputs, attrs }) {
    const x = required(inputs, 'x');
    const r = required(inputs, 'r');
    const h = required(inputs, 'h');
    const [B, U] = h.shape;
    float32(x, [B, 3 * U], 'x');
    float32(r, [B, 3 * U], 'r');
    float32(h, [B, U], 'h');
    const store = (attrs as { store?: boolean }).store === true;
    return {
      // h' [B, U], and the gates (z, s, c) [B, 3U] while recording
      outputs: store
        ? [
            [B, U],
            [B, 3 * U],
          ]
        : [[B, U]],
      params: (offset, [hNew, gates]) => ({
        xOff: offset(x),
        rOff: offset(r),
        hOff: offset(h),
        hNewOff: hNew,
        gatesOff: store ? gates : -1,
        B,
        U,
      }),
    };
  },
});

const gradKernel = nativeKernel({
  kernelName: GRU_CELL_GRAD,
  entry: 'gruCellGrad',
  fallback: 'none',
  list: true,
  plan({ inputs }) {
    const gates = required(inputs, 'gates');
    const r = required(inputs, 'r');
    const h = required(inputs, 'h');
    const dy = required(inputs, 'dy');
    const [B, U] = h.shape;
    float32(gates, [B, 3 * U], 'gates');
    float32(r, [B, 3 * U], 'r');
    float32(h, [B, U], 'h');
    float32(dy, [B, U], 'dy');
    return {
      outputs: [
        [B, 3 * U],
        [B, 3 * U],
        [B, U],
      ], // dx, dr, dh
      params: (offset, [dx, dr, dh]) => ({
        gatesOff: offset(gates),
        rOff: offset(r),
        hOff: offset(h),
        dyOff: offset(dy),
        dxOff: dx,
        drOff: dr,
        dhOff: dh,
        B,
        U,
      }),
    };
  },
});

/** The fused cell and its gradient: kernels of their own (no fallback: callers check first). */
export const NATIVE_GRU_KERNELS: NativeKernel[] = [cellKernel, gradKernel];

const cellWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, r, h, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const [hNew, gates] = tf.engine().runKernel(GRU_CELL, { x, r, h }, { store: true }) as tf.Tensor[];
  save([gates, r, h]);
  return {
    value: hNew,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(GRU_CELL_GRAD, { gates: saved[0], r: saved[1], h: saved[2], dy }, {}) as tf.Tensor[],
  };
});

/**
 * The GRU cell's new state [B, U] from x [B, 3U], r [B, 3U] and h [B, U] natively, or null where
 * not available (another backend, the native kernels or their 'gru' part off, other shapes).
 */
export function nativeGruCell(x: tf.Tensor2D, r: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D | null {
  if (tf.getBackend() !== 'wasm' || activeNativePart('gru') == null) return null;
  const [B, U] = h.shape;
  const fits = (t: tf.Tensor2D, cols: number) => t.dtype === 'float32' && t.shape[0] === B && t.shape[1] === cols;
  if (h.size === 0 || !fits(x, 3 * U) || !fits(r, 3 * U) || !fits(h, U)) return null;
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return cellWithGrad(x, r, h) as tf.Tensor2D;
  const [hNew] = tf.engine().runKernel(GRU_CELL, { x, r, h }, { store: false }) as tf.Tensor[];
  return hNew as tf.Tensor2D;
}
