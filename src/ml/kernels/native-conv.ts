// Conv2DBackpropFilter and MaxPoolGrad on the wasm backend computed by the native addon
// (native/conv.c), in place on the wasm heap like the native products.
// - tfjs-backend-wasm has no Conv2DBackpropFilter: src/ml/model/conv.ts summed 9 shifted slices'
//   products instead (~100 ms of Slice per demo step). Here: blocked im2col + one sgemm per block,
//   any NHWC filter, stride, padding (dilation 1, as tfjs' conv2d gradient requires). With the
//   native kernels off it throws (there is no wasm kernel to defer to): callers check
//   nativeConvFilterGradient() first, as conv.ts does.
// - wasm's MaxPoolGrad is a scalar loop over every input position and window (~60 ms per demo
//   step); here one pass over the windows (2×2 stride 2 windows inside x: 4 comparisons per value).
//   Other dtypes, empty tensors and dilated pools go to the kernel registered before.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeCall, type NativeKernel, nativeKernel, nativePartOn } from './native-kernel.ts';

/** True where Conv2DBackpropFilter runs on the native addon now (wasm backend, kernels and their 'conv' part on). */
export function nativeConvFilterGradient(): boolean {
  return activeNativePart('conv') != null && tf.getBackend() === 'wasm';
}

type Shape4 = [number, number, number, number];

/** The window geometry the conv and pool kernels take, from tfjs' conv or pool info (native-conv2d.ts adds the channels). */
export function geometry(info: tf.backend_util.Conv2DInfo) {
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    OH: info.outHeight,
    OW: info.outWidth,
    FH: info.filterHeight,
    FW: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

const empty = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape) === 0;

/** A kernel of the 'conv' part over an input (named `xName` by tfjs) and the gradient dy. */
function convPartKernel<E extends 'convFilterGrad' | 'maxPoolGrad'>(
  kernelName: string,
  entry: E,
  fallback: 'previous' | 'none',
  xName: string,
  plan: (x: tf.TensorInfo, dy: tf.TensorInfo, attrs: unknown) => NativeCall<E> | null,
): NativeKernel {
  return nativeKernel({
    kernelName,
    entry,
    fallback,
    enabled: () => nativePartOn('conv'), // bench/profile-demo.ts compares the part on and off in one process
    plan: ({ inputs, attrs }) => plan(required(inputs, xName), required(inputs, 'dy'), attrs),
  });
}

// x [B, H, W, Cin], dy [B, OH, OW, Cout] → dK [FH, FW, Cin, Cout]
const conv2DBackpropFilter = convPartKernel(tf.Conv2DBackpropFilter, 'convFilterGrad', 'none', 'x', (x, dy, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32')
    throw new Error('Conv2DBackpropFilter on wasm: only float32 NHWC');
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode);
  if (!tf.util.arraysEqual(info.outShape, dy.shape)) {
    throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
  }
  // zeros when there is nothing to sum
  if (empty(x) || empty(dy)) return { outputs: [filterShape], params: null };
  return {
    outputs: [filterShape],
    params: (offset, [dk]) => ({
      ...geometry(info),
      xOff: offset(x),
      dyOff: offset(dy),
      dkOff: dk,
      Cin: info.inChannels,
      Cout: info.outChannels,
      dh: info.dilationHeight,
      dw: info.dilationWidth,
    }),
  };
});

// x [B, H, W, C], dy [B, OH, OW, C] → dx [B, H, W, C]
const maxPoolGrad = convPartKernel(tf.MaxPoolGrad, 'maxPoolGrad', 'previous', 'input', (x, dy, attrs) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as tf.MaxPoolGradAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  if (!tf.util.arraysEqual(info.outShape, dy.shape) || empty(x) || empty(dy) || info.dilationHeight !== 1 || info.dilationWidth !== 1)
    return null;
  return {
    outputs: [x.shape],
    params: (offset, [dx]) => ({ ...geometry(info), xOff: offset(x), dyOff: offset(dy), dxOff: dx, C: info.inChannels }),
  };
});

/** Conv2DBackpropFilter (new on wasm) and MaxPoolGrad (over the kernel registered before) through the addon. */
export const NATIVE_CONV_KERNELS: NativeKernel[] = [conv2DBackpropFilter, maxPoolGrad];
