// Conv2DBackpropFilter and MaxPoolGrad on the wasm backend computed by the native addon
// (native/conv.c), in place on the wasm heap like the native GEMM.
// - tfjs-backend-wasm has no Conv2DBackpropFilter: src/ml/model/conv.ts summed 9 shifted slices'
//   products instead (~100 ms of Slice per demo step). Here: blocked im2col + one sgemm per block,
//   any NHWC filter, stride, padding (dilation 1, as tfjs' conv2d gradient requires). With the
//   native kernels off it throws (there is no wasm kernel to defer to): callers check
//   nativeConvFilterGradient() first, as conv.ts does.
// - wasm's MaxPoolGrad is a scalar loop over every input position and window (~60 ms per demo
//   step); here one pass over the windows (2×2 stride 2 windows inside x: 4 comparisons per value).
//   Other dtypes, empty tensors and dilated pools go to the kernel registered before.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import type { NativeGemm } from './native-gemm.ts';
import { heapBytes, nativeKernelsEnabled } from './native-matmul.ts';

const filterParams = new Float64Array(18);
const poolParams = new Float64Array(15);

let filterKernelInstalled = false;
let convOn = true;

/** Turns these two kernels alone on or off (bench/profile-demo.ts compares both in one process). */
export function setNativeConvKernels(on: boolean): void {
  convOn = on;
}

function enabled(): boolean {
  return convOn && nativeKernelsEnabled();
}

/** True where Conv2DBackpropFilter runs on the native addon now (wasm backend, kernels on). */
export function nativeConvFilterGradient(): boolean {
  return filterKernelInstalled && enabled() && tf.getBackend() === 'wasm';
}

type Shape4 = [number, number, number, number];

function conv2DBackpropFilter(gemm: NativeGemm): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const dy = required(args.inputs, 'dy');
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const convFilterGrad = gemm.addon.convFilterGrad;
    if (!enabled() || convFilterGrad == null)
      throw new Error('Conv2DBackpropFilter on wasm needs the native addon (native kernels are off)');
    if (dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32')
      throw new Error('Conv2DBackpropFilter on wasm: only float32 NHWC');
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode);
    if (!tf.util.arraysEqual(info.outShape, dy.shape)) {
      throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
    }
    const wasm = args.backend as BackendWasm;
    const out = wasm.makeOutput(filterShape, 'float32');
    if (tf.util.sizeFromShape(x.shape) === 0 || tf.util.sizeFromShape(dy.shape) === 0) {
      wasm.typedArrayFromHeap(out).fill(0);
      return out;
    }
    try {
      filterParams.set([
        wasm.getMemoryOffset(x.dataId),
        wasm.getMemoryOffset(dy.dataId),
        wasm.getMemoryOffset(out.dataId),
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
        info.outChannels,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.dilationHeight,
        info.dilationWidth,
        info.padInfo.top,
        info.padInfo.left,
      ]);
      convFilterGrad(heapBytes(wasm), filterParams);
      return out;
    } catch (err) {
      wasm.disposeData(out.dataId);
      throw err;
    }
  };
  return { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc };
}

function maxPoolGrad(gemm: NativeGemm): tf.KernelConfig {
  const fallback = tf.getKernel(tf.MaxPoolGrad, 'wasm');
  if (fallback == null) throw new Error('wasm kernel MaxPoolGrad is not registered');
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'input');
    const dy = required(args.inputs, 'dy');
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
    const native = gemm.addon.maxPoolGrad;
    if (!enabled() || native == null || x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
    if (
      !tf.util.arraysEqual(info.outShape, dy.shape) ||
      tf.util.sizeFromShape(x.shape) === 0 ||
      tf.util.sizeFromShape(dy.shape) === 0 ||
      info.dilationHeight !== 1 ||
      info.dilationWidth !== 1
    )
      return fallback.kernelFunc(args);
    const wasm = args.backend as BackendWasm;
    const out = wasm.makeOutput(x.shape, 'float32');
    try {
      poolParams.set([
        wasm.getMemoryOffset(x.dataId),
        wasm.getMemoryOffset(dy.dataId),
        wasm.getMemoryOffset(out.dataId),
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
      ]);
      native(heapBytes(wasm), poolParams);
      return out;
    } catch (err) {
      wasm.disposeData(out.dataId);
      throw err;
    }
  };
  return { ...fallback, kernelFunc };
}

/**
 * Conv2DBackpropFilter (new on wasm) and MaxPoolGrad (over the kernel registered now) through the
 * addon; none where the addon predates native/conv.c.
 */
export function nativeConvKernels(gemm: NativeGemm): tf.KernelConfig[] {
  if (gemm.addon.convFilterGrad == null || gemm.addon.maxPoolGrad == null) return [];
  filterKernelInstalled = true;
  return [conv2DBackpropFilter(gemm), maxPoolGrad(gemm)];
}
