// Data-movement kernels of tfjs-backend-wasm that copy more than they need to:
// - Identity copies its input; tensors are immutable, so sharing the buffer (as the cpu
//   backend does) is the same result. The tape emits hundreds per training step.
// - Unpack (tf.unstack, and the gradient of tf.stack) runs one generic strided Slice per
//   output; here each output row is one contiguous copy.
// - PadV2 (tf.pad, and the gradient of every tf.slice) computes an index per element; here
//   the output is filled once and each innermost input row is one contiguous copy.
// - Slice reads its whole input through readSync, a copy of the input (the GRU's 3 MB kernel
//   sliced twice per step, every per-step [B, 4U] projection sliced twice), before copying the
//   part; here the part is copied straight from the heap, in runs as long as the layout allows.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import { kernelBefore } from './registry.ts';

const identity: tf.KernelFunc = ({ inputs, backend }) => {
  const x = required(inputs, 'x');
  const wasm = backend as BackendWasm;
  if (x.dtype === 'string') throw new Error('Identity: string tensors are not supported on wasm');
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

const unpack: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const value = required(inputs, 'value');
  const wasm = backend as BackendWasm;
  const rank = value.shape.length;
  const axis = ((attrs as unknown as tf.UnpackAttrs).axis + rank) % rank;
  const count = value.shape[axis];
  const outer = tf.util.sizeFromShape(value.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(value.shape.slice(axis + 1));
  const outShape = value.shape.filter((_, i) => i !== axis);
  const outs = Array.from({ length: count }, () => wasm.makeOutput(outShape, value.dtype));
  // views after every allocation: growing the heap detaches earlier views
  const src = wasm.typedArrayFromHeap(value);
  outs.forEach((out, i) => {
    const dst = wasm.typedArrayFromHeap(out);
    for (let o = 0; o < outer; o++) {
      const from = (o * count + i) * inner;
      dst.set(src.subarray(from, from + inner), o * inner);
    }
  });
  return outs;
};

function padded(wasm: BackendWasm, x: tf.TensorInfo, paddings: [number, number][], constantValue: number): tf.TensorInfo {
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = wasm.makeOutput(outShape, x.dtype);
  const dst = wasm.typedArrayFromHeap(out);
  dst.fill(constantValue);
  const src = wasm.typedArrayFromHeap(x);
  const last = x.shape[rank - 1];
  if (src.length === 0) return out;
  const outStrides = tf.util.computeStrides(outShape); // rank − 1 entries
  const index = new Array<number>(rank - 1).fill(0); // position among the input rows
  for (let from = 0; from < src.length; from += last) {
    let to = paddings[rank - 1][0];
    for (let d = 0; d < rank - 1; d++) to += (index[d] + paddings[d][0]) * outStrides[d];
    dst.set(src.subarray(from, from + last), to);
    for (let d = rank - 2; d >= 0 && ++index[d] === x.shape[d]; d--) index[d] = 0;
  }
  return out;
}

function padKernel(): tf.KernelConfig {
  const stock = kernelBefore(tf.PadV2, 'wasm');
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    if (x.shape.length === 0 || x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args);
    return padded(args.backend as BackendWasm, x, paddings, constantValue);
  };
  return { kernelName: tf.PadV2, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}

function sliceKernel(): tf.KernelConfig {
  const stock = kernelBefore(tf.Slice, 'wasm');
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    if (x.shape.length === 0 || x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const wasm = args.backend as BackendWasm;
    const out = wasm.makeOutput(size_, x.dtype);
    const dst = wasm.typedArrayFromHeap(out); // views after the allocation
    const src = wasm.typedArrayFromHeap(x);
    if (dst.length === 0) return out;
    // the innermost dimensions taken whole form one run with the first partial one above them
    const rank = x.shape.length;
    let j = rank - 1;
    while (j > 0 && begin_[j] === 0 && size_[j] === x.shape[j]) j--;
    const run = tf.util.sizeFromShape(size_.slice(j));
    const strides = tf.util.computeStrides(x.shape); // rank − 1 entries
    const stride = (d: number) => (d < rank - 1 ? strides[d] : 1);
    const index = new Array<number>(j).fill(0); // position among the runs
    for (let to = 0; to < dst.length; to += run) {
      let from = begin_[j] * stride(j);
      for (let d = 0; d < j; d++) from += (index[d] + begin_[d]) * stride(d);
      dst.set(src.subarray(from, from + run), to);
      for (let d = j - 1; d >= 0 && ++index[d] === size_[d]; d--) index[d] = 0;
    }
    return out;
  };
  return { kernelName: tf.Slice, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}

export function wasmCopyKernels(): tf.KernelConfig[] {
  return [
    { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity },
    { kernelName: tf.Unpack, backendName: 'wasm', kernelFunc: unpack },
    padKernel(),
    sliceKernel(),
  ];
}
