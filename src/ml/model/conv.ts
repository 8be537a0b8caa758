// 3×3 'same' convolution with kernels stored as [9 · Cin, Cout] (Keras [3, 3, Cin, Cout] flattened).
// On wasm (no Conv2DBackpropFilter of its own, a slow scalar Conv2DBackpropInput) the forward conv
// stays wasm's, the input gradient is a forward conv with the rotated kernel, and the filter
// gradient is the native addon's Conv2DBackpropFilter (native/conv.c: im2col + sgemm) where it is
// on, else Σ over the 9 taps of shifted(x)ᵀ · dy. Same maths.
import * as tf from '@tensorflow/tfjs';
import { nativeConvFilterGradient } from '../kernels/native-conv.ts';

/** Backends whose own conv2d gradients are fast (tensorflow, cpu): the fused conv and tfjs' gradient. */
function hasNativeConvGradient(): boolean {
  return tf.getBackend() !== 'wasm' && tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/** Σ over positions of x's 3×3 neighbourhoods ⊗ dy: the filter gradient [9C, Cout] (rows dy, dx, c) */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor2D {
  const [B, H, W, C] = x.shape;
  if (nativeConvFilterGradient()) {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, dy.shape[3]] };
    const dK = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor4D; // [3, 3, C, Cout]
    return dK.reshape([9 * C, dy.shape[3]]); // [9C, Cout]
  }
  const rows = B * H * W;
  const dyRows = dy.reshape([rows, dy.shape[3]]); // [B·H·W, Cout]
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]); // [B, H+2, W+2, C]
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const shifted = tf.slice(padded, [0, i, j, 0], [B, H, W, C]).reshape([rows, C]); // [B·H·W, C]
      taps.push(tf.matMul(shifted, dyRows, true, false)); // [C, Cout]
    }
  }
  return tf.concat(taps, 0); // [9C, Cout]
}

/** conv with the gradients above; exported so tests can check it against tf.conv2d. */
export const conv3x3ExplicitGrad = tf.customGrad(((x: tf.Tensor, kernel: tf.Tensor, save: tf.GradSaveFunc) => {
  const [_B, _H, _W, C] = x.shape;
  const cOut = kernel.shape[1] as number;
  save([x, kernel]);
  return {
    value: tf.conv2d(x as tf.Tensor4D, kernel.reshape([3, 3, C, cOut]) as tf.Tensor4D, 1, 'same'), // [B, H, W, Cout]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ks] = saved as [tf.Tensor4D, tf.Tensor2D];
      const filter = ks.reshape([3, 3, C, cOut]) as tf.Tensor4D;
      // stride 1, 'same': dx is a forward conv of dy with the kernel rotated 180° and Cin/Cout swapped
      const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [3, 3, Cout, Cin]
      const dx = tf.conv2d(dy as tf.Tensor4D, flipped, 1, 'same'); // [B, H, W, C]
      const dKernel = filterGradient(xs, dy as tf.Tensor4D); // [9C, Cout]
      return [dx, dKernel];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor4D, kernel: tf.Tensor2D) => tf.Tensor4D;

/** relu(conv3x3(x) + bias) */
export function conv3x3Relu(x: tf.Tensor4D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor4D {
  const cIn = x.shape[3];
  const cOut = kernel.shape[1];
  if (hasNativeConvGradient()) {
    const filter = kernel.reshape([3, 3, cIn, cOut]) as tf.Tensor4D; // [3, 3, Cin, Cout]
    return tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' }); // [B, H, W, Cout]
  }
  return tf.relu(tf.add(conv3x3ExplicitGrad(x, kernel), bias)) as tf.Tensor4D; // [B, H, W, Cout]
}
