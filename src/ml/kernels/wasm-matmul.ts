// tfjs-backend-wasm runs BatchMatMul/_FusedMatMul through XNNPACK (~25–45 GFLOP/s) only when
// neither input is transposed and both batch dims are 1; otherwise a scalar loop (0.5–3 GFLOP/s).
// Backprop always asks for transposed products (dA = dY·Bᵀ, dB = Aᵀ·dY) and a [B, M, K]·[K, N]
// product has batch B, so training falls to the slow loop. These wrappers transpose explicitly
// (a cheap copy), fold a shared right-hand side's batch into rows, and call the stock kernel
// on its fast path. Same maths: every output element is the same dot product.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';

type MatMulAttrs = { transposeA: boolean; transposeB: boolean } & Record<string, unknown>;

interface Prepared {
  a: tf.TensorInfo; // [batchA, M, K] (or [1, batchA·M, K] when b is shared)
  b: tf.TensorInfo; // [batchB, K, N]
  outShape: number[]; // broadcast batch dims + [M, N]
  temps: tf.TensorInfo[];
}

function withShape(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** [..., R, C] → [..., C, R] as a new contiguous tensor. */
function transposeLast(t: tf.TensorInfo, transpose: tf.KernelFunc, backend: BackendWasm): tf.TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return transpose({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
}

function prepare(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: MatMulAttrs,
  foldBatch: boolean,
  transpose: tf.KernelFunc,
  backend: BackendWasm,
): Prepared {
  const temps: tf.TensorInfo[] = [];
  const plainA = attrs.transposeA ? transposeLast(a, transpose, backend) : a; // [..., M, K]
  const plainB = attrs.transposeB ? transposeLast(b, transpose, backend) : b; // [..., K, N]
  if (plainA !== a) temps.push(plainA);
  if (plainB !== b) temps.push(plainB);
  const [m, k] = plainA.shape.slice(-2);
  const n = plainB.shape[plainB.shape.length - 1];
  const batchA = tf.util.sizeFromShape(plainA.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(plainB.shape.slice(0, -2));
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...outer, m, n];
  const shared = foldBatch && batchB === 1 && batchA > 1;
  return {
    a: shared ? withShape(plainA, [1, batchA * m, k]) : withShape(plainA, [batchA, m, k]),
    b: withShape(plainB, [batchB, plainB.shape[plainB.shape.length - 2], n]),
    outShape,
    temps,
  };
}

function fastMatMul(kernelName: string, foldBatch: (inputs: tf.NamedTensorInfoMap) => boolean): tf.KernelConfig {
  const stock = tf.getKernel(kernelName, 'wasm');
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (stock == null || transpose == null) throw new Error(`wasm kernel ${kernelName} or Transpose is not registered`);
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const at = attrs as unknown as MatMulAttrs;
    const p = prepare(required(inputs, 'a'), required(inputs, 'b'), at, foldBatch(inputs), transpose.kernelFunc, wasm);
    const out = stock.kernelFunc({
      inputs: { ...inputs, a: p.a, b: p.b },
      backend,
      attrs: { ...at, transposeA: false, transposeB: false } as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    for (const t of p.temps) wasm.disposeData(t.dataId);
    out.shape = p.outShape;
    return out;
  };
  return { kernelName, backendName: 'wasm', setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc, kernelFunc };
}

/** Kernel configs replacing wasm's BatchMatMul and _FusedMatMul (call after the wasm package is imported). */
export function wasmMatMulKernels(): tf.KernelConfig[] {
  return [
    fastMatMul(tf.BatchMatMul, () => true),
    // a PReLU weight tensor broadcasts against [B, M, N]; folding B into rows would misalign it
    fastMatMul(tf._FusedMatMul, (inputs) => inputs.preluActivationWeights == null),
  ];
}
