// Data-movement kernels of tfjs-backend-wasm that copy more than they need to:
// - Identity copies its input; tensors are immutable, so sharing the buffer (as the cpu
//   backend does) is the same result. The tape emits hundreds per training step.
// - Unpack (tf.unstack, and the gradient of tf.stack) runs one generic strided Slice per
//   output; here each output row is one contiguous copy.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';

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

export function wasmCopyKernels(): tf.KernelConfig[] {
  return [
    { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity },
    { kernelName: tf.Unpack, backendName: 'wasm', kernelFunc: unpack },
  ];
}
