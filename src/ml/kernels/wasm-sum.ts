// tfjs-backend-wasm's Sum reduces innermost axes only: for any other axis it first runs its
// generic (per-element index) Transpose. Training reduces leading/middle axes all the time —
// every broadcast bias gradient (Σ over rows of [176, 5000]: ~10 ms) and the attention query
// gradient (Σ over L of [16, 64, 512]). Here a contiguous block of axes with data after it is
// summed in one pass that reads memory in order; everything else goes to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';

/** out[o, i] = Σ_r x[o, r, i] for x viewed as [outer, reduce, inner]. */
export function sumMiddleInto(x: Float32Array, outer: number, reduce: number, inner: number, out: Float32Array): void {
  out.fill(0);
  for (let o = 0; o < outer; o++) {
    const dst = o * inner;
    for (let r = 0; r < reduce; r++) {
      const src = (o * reduce + r) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] += x[src + i];
    }
  }
}

export function wasmSumKernel(): tf.KernelConfig {
  const stock = tf.getKernel(tf.Sum, 'wasm');
  if (stock == null) throw new Error('wasm kernel Sum is not registered');
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const first = axes[0];
    const last = axes[axes.length - 1];
    const contiguous = axes.length > 0 && last - first === axes.length - 1;
    if (x.dtype !== 'float32' || !contiguous || last === rank - 1 || tf.util.sizeFromShape(x.shape) === 0) {
      return stock.kernelFunc(args);
    }
    const wasm = args.backend as BackendWasm;
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const out = wasm.makeOutput(outShape, 'float32');
    const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
    const reduce = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
    const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
    // views after makeOutput: allocation may grow (and detach) the wasm heap
    const dst = wasm.typedArrayFromHeap(out) as Float32Array;
    sumMiddleInto(wasm.typedArrayFromHeap(x) as Float32Array, outer, reduce, inner, dst);
    return out;
  };
  return { kernelName: tf.Sum, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}
