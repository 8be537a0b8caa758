// UnsortedSegmentSum as a plain JS kernel. tfjs-backend-wasm has none (so the gradient of
// tf.gather, i.e. of the embedding, fails there) and tfjs-backend-cpu's loops over every
// segment id for every row (54% of a training step with a 5000-word vocabulary).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';

type Values = Float32Array | Int32Array;

/** out[s, :] = Σ_{i : ids[i] = s} x[i, :]; ids outside [0, numSegments) are dropped, as in TF. */
export function segmentSumInto(x: Values, ids: ArrayLike<number>, inner: number, numSegments: number, out: Values): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

interface SegmentProblem {
  outShape: number[];
  inner: number;
  numSegments: number;
}

function describe(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number): SegmentProblem {
  const idsSize = tf.util.sizeFromShape(segmentIds.shape);
  const leading = tf.util.sizeFromShape(x.shape.slice(0, segmentIds.shape.length));
  if (leading !== idsSize) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} does not prefix x shape ${x.shape}`);
  }
  const innerShape = x.shape.slice(segmentIds.shape.length);
  return { outShape: [numSegments, ...innerShape], inner: tf.util.sizeFromShape(innerShape), numSegments };
}

function checkDtype(x: tf.TensorInfo): void {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  }
}

/** wasm: writes straight into the wasm heap (views are taken after the output is allocated). */
const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = required(inputs, 'x');
  const segmentIds = required(inputs, 'segmentIds');
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  checkDtype(x);
  const wasm = backend as BackendWasm;
  const p = describe(x, segmentIds, numSegments);
  const out = wasm.makeOutput(p.outShape, x.dtype);
  const outValues = wasm.typedArrayFromHeap(out) as Values;
  segmentSumInto(wasm.typedArrayFromHeap(x) as Values, wasm.typedArrayFromHeap(segmentIds), p.inner, numSegments, outValues);
  return out;
};

/** Any backend with readSync/makeTensorInfo (cpu). */
const hostKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = required(inputs, 'x');
  const segmentIds = required(inputs, 'segmentIds');
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  checkDtype(x);
  const p = describe(x, segmentIds, numSegments);
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * p.inner) : new Float32Array(numSegments * p.inner);
  const host = backend as HostBackend;
  const ids = host.readSync(segmentIds.dataId) as Int32Array;
  segmentSumInto(host.readSync(x.dataId) as Values, ids, p.inner, numSegments, out);
  return host.makeTensorInfo(p.outShape, x.dtype, out);
};

interface HostBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Values): tf.TensorInfo;
}

export function unsortedSegmentSumKernel(backendName: 'wasm' | 'cpu'): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName,
    kernelFunc: backendName === 'wasm' ? wasmKernel : hostKernel,
  };
}
