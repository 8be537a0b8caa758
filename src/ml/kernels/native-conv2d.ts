// Conv2D, FusedConv2D and Conv2DBackpropInput on the wasm backend computed by the native addon
// (native/conv.c: conv2d, convInputGrad) in place on the wasm heap, instead of XNNPACK on one
// thread (Conv2D, FusedConv2D) and wasm's scalar loop (Conv2DBackpropInput).
// - forward: blocked im2col + one OpenBLAS sgemm per block (the HWIO filter is the
//   [FH·FW·Cin, Cout] matrix as it is), bias and relu on each block in cache; a 1×1 stride-1
//   unpadded conv is a plain product.
// - input gradient: dcol = dy · filterᵀ (sgemm's transB) per block of rows, then col2im (each
//   tap added into dx): no Reverse or Transpose of the filter.
// Float32 NHWC, any filter size, stride and padding ('same', 'valid', explicit), dilation 1, no
// bias or one per output channel, linear or relu. Everything else (and everything while the
// 'conv' or 'conv2d' part is off) goes to the kernel registered before: wasm's own.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { geometry, nativeConvFilterGradient } from './native-conv.ts';
import { type NativeCall, type NativeKernel, nativeKernel, nativePartOn } from './native-kernel.ts';

// bench/profile-demo.ts compares the parts on and off in one process
const partsOn = () => nativePartOn('conv') && nativePartOn('conv2d');

/** True where Conv2DBackpropInput runs on the native addon now (wasm, the native kernels and the 'conv' and 'conv2d' parts on). */
export function nativeConvInputGradient(): boolean {
  return nativeConvFilterGradient() && nativePartOn('conv2d');
}

type Shape4 = [number, number, number, number];

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

const float4D = (t: tf.TensorInfo) => t.dtype === 'float32' && t.shape.length === 4 && tf.util.sizeFromShape(t.shape) > 0;

/** tfjs' geometry of x [B, H, W, Cin] ⊛ filter [FH, FW, Cin, Cout], or null where the native kernels do not take it. */
function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo | null {
  if (attrs.dataFormat === 'NCHW' || xShape[3] !== filterShape[2]) return null;
  const { strides, pad, dilations, dimRoundingMode } = attrs;
  const info = tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, strides, dilations ?? 1, pad, dimRoundingMode);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || tf.util.sizeFromShape(info.outShape) === 0) return null;
  return info;
}

/** The parameters both entry points share, from tfjs' conv info: the window (native-conv.ts) and the channels. */
function convGeometry(info: tf.backend_util.Conv2DInfo) {
  return { ...geometry(info), Cin: info.inChannels, Cout: info.outChannels };
}

/** y = act(x ⊛ filter + bias), or null where the native kernel declines. */
function planForward(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  attrs: ConvAttrs,
): NativeCall<'conv2d'> | null {
  const activation = ACTIVATIONS[attrs.activation ?? 'linear'];
  if (activation == null || !float4D(x) || !float4D(filter)) return null;
  const info = convInfo(x.shape, filter.shape, attrs);
  if (info == null) return null;
  if (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return null;
  return {
    outputs: [info.outShape],
    params: (offset, [y]) => ({
      ...convGeometry(info),
      xOff: offset(x),
      fOff: offset(filter),
      biasOff: bias != null ? offset(bias) : -1,
      yOff: y,
      activation,
    }),
  };
}

function forwardKernel(kernelName: string, fused: boolean): NativeKernel {
  return nativeKernel({
    kernelName,
    entry: 'conv2d',
    fallback: 'previous',
    enabled: partsOn,
    plan: ({ inputs, attrs }) => {
      if (fused && inputs.preluActivationWeights != null) return null;
      const a = attrs as unknown as ConvAttrs;
      return planForward(
        required(inputs, 'x'),
        required(inputs, 'filter'),
        fused ? inputs.bias : undefined,
        fused ? a : { ...a, activation: 'linear' },
      );
    },
  });
}

// dy [B, OH, OW, Cout], filter [FH, FW, Cin, Cout] → dx [B, H, W, Cin] (attrs.inputShape)
const conv2DBackpropInput = nativeKernel({
  kernelName: tf.Conv2DBackpropInput,
  entry: 'convInputGrad',
  fallback: 'previous',
  enabled: partsOn,
  plan: ({ inputs, attrs }) => {
    const dy = required(inputs, 'dy');
    const filter = required(inputs, 'filter');
    const { inputShape, ...conv } = attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (!float4D(dy) || !float4D(filter) || inputShape.length !== 4 || tf.util.sizeFromShape(inputShape) === 0) return null;
    const info = convInfo(inputShape, filter.shape, { ...conv, dilations: 1 });
    // a dy of another shape: the stock kernel reports it
    if (info == null || !tf.util.arraysEqual(info.outShape, dy.shape)) return null;
    return {
      outputs: [inputShape],
      params: (offset, [dx]) => ({ ...convGeometry(info), dyOff: offset(dy), fOff: offset(filter), dxOff: dx }),
    };
  },
});

/** Conv2D, FusedConv2D and Conv2DBackpropInput through the addon, deferring to wasm's own kernels. */
export const NATIVE_CONV2D_KERNELS: NativeKernel[] = [
  forwardKernel(tf.Conv2D, false),
  forwardKernel(tf.FusedConv2D, true),
  conv2DBackpropInput,
];
