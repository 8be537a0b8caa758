// 3×3 'same' convolution with kernels stored as [9 · Cin, Cout] (Keras [3, 3, Cin, Cout] flattened).
// Backends without a Conv2DBackpropFilter kernel (wasm) get the same maths as im2col + one matMul,
// whose gradients need only pad/slice/concat/matMul.
import * as tf from '@tensorflow/tfjs';

function hasNativeConvGradient(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/** im2col formulation; exported so tests can check it against tf.conv2d. */
export function conv3x3Im2col(x: tf.Tensor4D, kernel: tf.Tensor2D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]); // [B, H+2, W+2, C]
  const patches: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) patches.push(tf.slice(padded, [0, dy, dx, 0], [B, H, W, C])); // [B, H, W, C]
  }
  const columns = tf.concat(patches, 3).reshape([B * H * W, 9 * C]); // [B·H·W, 9C]
  return tf.matMul(columns, kernel).reshape([B, H, W, kernel.shape[1]]); // [B, H, W, Cout]
}

/** relu(conv3x3(x) + bias) */
export function conv3x3Relu(x: tf.Tensor4D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor4D {
  const cIn = x.shape[3];
  const cOut = kernel.shape[1];
  if (hasNativeConvGradient()) {
    const filter = kernel.reshape([3, 3, cIn, cOut]) as tf.Tensor4D; // [3, 3, Cin, Cout]
    return tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' }); // [B, H, W, Cout]
  }
  return tf.relu(tf.add(conv3x3Im2col(x, kernel), bias)) as tf.Tensor4D; // [B, H, W, Cout]
}
