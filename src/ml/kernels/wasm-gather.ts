// GatherV2 on wasm for the common case: whole rows of a float32 or int32 tensor by int32 indices
// along axis 0 (tf.gather(x, indices) with batchDims 0: the embedding lookup, the training loss's
// real target rows). tfjs-backend-wasm's kernel computes an index per element (≈ 10 ms for the
// [523, 512] rows of a batch-64 step); here each row is one contiguous copy on the heap. Every
// other case (another axis, batch dimensions, other dtypes, empty inputs) goes to the stock kernel,
// as does everything while switched off (benches compare both in one process). The gradient
// (UnsortedSegmentSum, unsorted-segment-sum.ts) is unchanged.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import { kernelBefore } from './registry.ts';

let enabled = true;

/** Turns the row-copy GatherV2 on or off (off: wasm's stock kernel for every gather). */
export function setFastGather(on: boolean): void {
  enabled = on;
}

function takesRows(x: tf.TensorInfo, indices: tf.TensorInfo, attrs: tf.GatherV2Attrs): boolean {
  if (!enabled || x.shape.length === 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') {
    return false;
  }
  if ((attrs.batchDims ?? 0) !== 0 || tf.util.parseAxisParam(attrs.axis, x.shape)[0] !== 0) return false;
  return tf.util.sizeFromShape(x.shape) > 0;
}

const gatherRows = (wasm: BackendWasm, x: tf.TensorInfo, indices: tf.TensorInfo): tf.TensorInfo => {
  const rows = x.shape[0];
  const ids = wasm.typedArrayFromHeap(indices);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    // the stock kernel's check and message
    if (!(id <= rows - 1 && id >= 0)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
  }
  const inner = tf.util.sizeFromShape(x.shape.slice(1));
  const out = wasm.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  // views after the allocation: growing the heap detaches earlier ones
  const dst = wasm.typedArrayFromHeap(out);
  const src = wasm.typedArrayFromHeap(x);
  const at = wasm.typedArrayFromHeap(indices);
  for (let i = 0; i < at.length; i++) dst.set(src.subarray(at[i] * inner, (at[i] + 1) * inner), i * inner);
  return out;
};

export function wasmGatherKernel(): tf.KernelConfig {
  const stock = kernelBefore(tf.GatherV2, 'wasm');
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = required(args.inputs, 'x');
    const indices = required(args.inputs, 'indices');
    if (!takesRows(x, indices, args.attrs as unknown as tf.GatherV2Attrs)) return stock.kernelFunc(args);
    return gatherRows(args.backend as BackendWasm, x, indices);
  };
  return { kernelName: tf.GatherV2, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}
