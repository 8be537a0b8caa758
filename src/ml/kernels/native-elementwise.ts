// Tanh, Exp and Sum on the wasm backend computed by the native addon (native/elementwise.c), in
// place on the wasm heap like the native GEMM. wasm's Tanh is 4 XNNPACK kernels (wasm-tanh.ts), its
// Exp a scalar std::exp loop (~23 ns per element: the loss's softmax over [B·T, 5000]), and its
// Sum transposes first whenever the reduced axes are not the innermost (the attention's
// [16, 64, 512] over axis 1, bias gradients over axis 0); here each is one vectorised pass.
// Other dtypes, empty tensors and sums over non-adjacent axes go to the kernels registered before.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import type { NativeGemm } from './native-gemm.ts';
import { heapBytes, nativeKernelsEnabled } from './native-matmul.ts';

function previous(kernelName: string): tf.KernelConfig {
  const config = tf.getKernel(kernelName, 'wasm');
  if (config == null) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return config;
}

const unaryParams = new Float64Array(3);
const sumParams = new Float64Array(5);

/** y = f(x) element-wise, f one of the addon's unary functions. */
function nativeUnary(
  kernelName: string,
  fn: (addon: NativeGemm['addon']) => NativeGemm['addon']['tanh'],
  gemm: NativeGemm,
): tf.KernelConfig {
  const fallback = previous(kernelName);
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const n = tf.util.sizeFromShape(x.shape);
    if (!nativeKernelsEnabled() || x.dtype !== 'float32' || n === 0) return fallback.kernelFunc(args);
    const wasm = args.backend as BackendWasm;
    const out = wasm.makeOutput(x.shape, 'float32');
    try {
      unaryParams.set([wasm.getMemoryOffset(x.dataId), wasm.getMemoryOffset(out.dataId), n]);
      fn(gemm.addon)(heapBytes(wasm), unaryParams);
      return out;
    } catch (err) {
      wasm.disposeData(out.dataId);
      throw err;
    }
  };
  return { ...fallback, kernelFunc };
}

/** [outer, reduce, inner] when the axes are one adjacent block, else null. */
export function sumLayout(shape: number[], axes: number[]): [number, number, number] | null {
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (last - first + 1 !== sorted.length) return null;
  const size = (from: number, to: number) => tf.util.sizeFromShape(shape.slice(from, to));
  return [size(0, first), size(first, last + 1), size(last + 1, shape.length)];
}

function nativeSum(gemm: NativeGemm): tf.KernelConfig {
  const fallback = previous(tf.Sum);
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (!nativeKernelsEnabled() || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return fallback.kernelFunc(args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const layout = sumLayout(x.shape, axes);
    if (layout == null) return fallback.kernelFunc(args);
    const reduced = new Set(axes);
    const shape = keepDims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
    const wasm = args.backend as BackendWasm;
    const out = wasm.makeOutput(shape, 'float32');
    try {
      sumParams.set([wasm.getMemoryOffset(x.dataId), wasm.getMemoryOffset(out.dataId), ...layout]);
      gemm.addon.sumAxes(heapBytes(wasm), sumParams);
      return out;
    } catch (err) {
      wasm.disposeData(out.dataId);
      throw err;
    }
  };
  return { ...fallback, kernelFunc };
}

/** Tanh, Exp and Sum through the addon, deferring to the kernels registered now. */
export function nativeElementwiseKernels(gemm: NativeGemm): tf.KernelConfig[] {
  // the addon's functions are looked up per call (tests wrap them to count calls)
  return [nativeUnary(tf.Tanh, (a) => a.tanh, gemm), nativeUnary(tf.Exp, (a) => a.exp, gemm), nativeSum(gemm)];
}
