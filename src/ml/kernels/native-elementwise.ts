// Tanh, Exp and Sum on the wasm backend computed by the native addon (native/elementwise.c), in
// place on the wasm heap like the native products. wasm's Tanh is 4 XNNPACK kernels (wasm-tanh.ts),
// its Exp a scalar std::exp loop (~23 ns per element: the loss's softmax over [B·T, 5000]), and its
// Sum transposes first whenever the reduced axes are not the innermost (the attention's
// [16, 64, 512] over axis 1, bias gradients over axis 0); here each is one vectorised pass.
// Other dtypes, empty tensors and sums over non-adjacent axes go to the kernels registered before.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { type NativeKernel, nativeKernel } from './native-kernel.ts';

/** y = f(x) element-wise, f the addon's `entry`. */
function nativeUnary(kernelName: string, entry: 'tanh' | 'exp'): NativeKernel {
  return nativeKernel({
    kernelName,
    entry,
    fallback: 'previous',
    plan({ inputs }) {
      const x = required(inputs, 'x');
      const n = tf.util.sizeFromShape(x.shape);
      if (x.dtype !== 'float32' || n === 0) return null;
      return { outputs: [x.shape], params: (offset, [y]) => ({ xOff: offset(x), yOff: y, n }) };
    },
  });
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

const nativeSum = nativeKernel({
  kernelName: tf.Sum,
  entry: 'sumAxes',
  fallback: 'previous',
  plan({ inputs, attrs }) {
    const x = required(inputs, 'x');
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return null;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const layout = sumLayout(x.shape, axes);
    if (layout == null) return null;
    const [outer, reduce, inner] = layout; // x viewed as [outer, reduce, inner] → [outer, inner]
    const reduced = new Set(axes);
    const shape = keepDims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
    return { outputs: [shape], params: (offset, [out]) => ({ xOff: offset(x), outOff: out, outer, reduce, inner }) };
  },
});

/** Tanh, Exp and Sum through the addon, deferring to the kernels registered before. */
export const NATIVE_ELEMENTWISE_KERNELS: NativeKernel[] = [nativeUnary(tf.Tanh, 'tanh'), nativeUnary(tf.Exp, 'exp'), nativeSum];
