// 3×3 'same' convolution with kernels stored as [9 · Cin, Cout] (Keras [3, 3, Cin, Cout] flattened).
// On wasm (no Conv2DBackpropFilter of its own, a slow scalar Conv2DBackpropInput) conv + bias +
// ReLU is the fused forward kernel (the native addon's where it is on, else XNNPACK) with our own
// gradient: relu′ from the output; the input gradient (skipped for pixels) the native addon's
// Conv2DBackpropInput (native/conv.c: dy · Kᵀ + col2im) where it is on, else a forward conv with
// the rotated kernel; the filter gradient the native Conv2DBackpropFilter (im2col + sgemm) where
// it is on, else Σ over the 9 taps of shifted(x)ᵀ · dy. Same maths.
import * as tf from '@tensorflow/tfjs';
import { nativeConvFilterGradient } from '../kernels/native-conv.ts';
import { nativeConvInputGradient } from '../kernels/native-conv2d.ts';

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

/** dx of a stride-1 'same' 3×3 conv: natively dy · Kᵀ scattered back, else a forward conv of dy with the kernel rotated 180°, Cin/Cout swapped */
function inputGradient(dy: tf.Tensor4D, kernel: tf.Tensor2D, cIn: number): tf.Tensor4D {
  const filter = kernel.reshape([3, 3, cIn, kernel.shape[1]]) as tf.Tensor4D; // [3, 3, Cin, Cout]
  if (nativeConvInputGradient()) {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [...dy.shape.slice(0, 3), cIn] };
    return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs) as tf.Tensor4D; // [B, H, W, Cin]
  }
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [3, 3, Cout, Cin]
  return tf.conv2d(dy, flipped, 1, 'same'); // [B, H, W, Cin]
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
      const dx = inputGradient(dy as tf.Tensor4D, ks, C); // [B, H, W, C]
      const dKernel = filterGradient(xs, dy as tf.Tensor4D); // [9C, Cout]
      return [dx, dKernel];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor4D, kernel: tf.Tensor2D) => tf.Tensor4D;

type ConvRelu = (x: tf.Tensor4D, kernel: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor4D;

/**
 * relu(conv3x3(x) + bias) as one fused forward kernel, with the gradients above; relu′ from the
 * output (y > 0 exactly where the pre-activation is). Without `withInputGradient` x's gradient is
 * zeros and not computed: for data (pixels) that no weight precedes.
 */
function convReluExplicitGrad(withInputGradient: boolean): ConvRelu {
  return tf.customGrad(((x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, save: tf.GradSaveFunc) => {
    const C = x.shape[3] as number;
    const filter = kernel.reshape([3, 3, C, kernel.shape[1] as number]) as tf.Tensor4D; // [3, 3, Cin, Cout]
    // the kernel itself: under a gradient tape tf.fused.conv2d would run conv, add and relu apart
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    const y = tf.engine().runKernel(tf.FusedConv2D, { x, filter, bias }, attrs) as tf.Tensor4D; // [B, H, W, Cout]
    save([x, kernel, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ks, ys] = saved as [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D];
        const g = tf.mul(dy, tf.step(ys)) as tf.Tensor4D; // [B, H, W, Cout]: the pre-activation's gradient
        const dBias = tf.sum(g, [0, 1, 2]); // [Cout]
        const dx = withInputGradient ? inputGradient(g, ks, C) : tf.zerosLike(xs); // [B, H, W, Cin]
        return [dx, filterGradient(xs, g), dBias];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]) as ConvRelu;
}

const convRelu = convReluExplicitGrad(true);
const convReluNoInputGrad = convReluExplicitGrad(false);

export interface ConvOptions {
  /** false: x is data (pixels) whose gradient nobody reads; wasm then skips computing it (zeros). Default true. */
  inputGradient?: boolean;
}

/** relu(conv3x3(x) + bias) */
export function conv3x3Relu(x: tf.Tensor4D, kernel: tf.Tensor2D, bias: tf.Tensor1D, options: ConvOptions = {}): tf.Tensor4D {
  const cIn = x.shape[3];
  const cOut = kernel.shape[1];
  if (hasNativeConvGradient()) {
    const filter = kernel.reshape([3, 3, cIn, cOut]) as tf.Tensor4D; // [3, 3, Cin, Cout]
    return tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' }); // [B, H, W, Cout]
  }
  return (options.inputGradient === false ? convReluNoInputGrad : convRelu)(x, kernel, bias); // [B, H, W, Cout]
}
