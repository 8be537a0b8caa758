// BatchMatMul and _FusedMatMul on the wasm backend computed by the native addon (native/gemm.c,
// OpenBLAS) in place on the wasm heap: inputs are read where tfjs keeps them (their memoryOffset),
// the output is allocated by the backend and written once; no copies, transposes are BLAS flags.
// Products it does not take (other dtypes, PReLU, batch broadcasts that do not flatten to one
// shared operand, biases other than a scalar or one value per column, empty tensors) go to the
// kernel registered before (wasm-matmul.ts: XNNPACK).
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { type NativeKernel, nativeKernel } from './native-kernel.ts';

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 };

/** The product's layout for native/gemm.c, or null when the native path does not take it. */
export interface GemmPlan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  aBatch: number;
  bBatch: number;
  biasLen: number;
  activation: number;
}

function outerSize(shape: number[]): number {
  return tf.util.sizeFromShape(shape.slice(0, -2));
}

export function planGemm(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  activation: string,
): GemmPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transposeA ? ac : ar;
  const k = transposeA ? ar : ac;
  const n = transposeB ? br : bc;
  if ((transposeB ? bc : br) !== k) return null; // the stock kernel reports the mismatch
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const batch = tf.util.sizeFromShape(outer);
  const aBatch = outerSize(a.shape);
  const bBatch = outerSize(b.shape);
  // an operand's batch is either the whole batch (then its outer shape is the output's) or shared
  if ((aBatch !== batch && aBatch !== 1) || (bBatch !== batch && bBatch !== 1)) return null;
  if (batch < 1 || m < 1 || n < 1 || k < 1) return null;
  const act = ACTIVATIONS[activation];
  if (act == null) return null;
  let biasLen = 0;
  if (bias != null) {
    const size = tf.util.sizeFromShape(bias.shape);
    if (bias.dtype !== 'float32' || bias.shape.length > outer.length + 2) return null;
    if (size === 1) biasLen = 1;
    else if (size === n && bias.shape[bias.shape.length - 1] === n) biasLen = n;
    else return null;
  }
  return { outShape: [...outer, m, n], batch, m, n, k, aBatch, bBatch, biasLen, activation: act };
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

function nativeMatMul(kernelName: string): NativeKernel {
  return nativeKernel({
    kernelName,
    entry: 'gemm',
    fallback: 'previous',
    plan({ inputs, attrs }) {
      if (inputs.preluActivationWeights != null) return null;
      const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as MatMulAttrs;
      const a = required(inputs, 'a');
      const b = required(inputs, 'b');
      const { bias } = inputs;
      const plan = planGemm(a, b, transposeA, transposeB, bias, activation ?? 'linear');
      if (plan == null) return null;
      return {
        outputs: [plan.outShape],
        params: (offset, [c]) => ({
          batch: plan.batch,
          m: plan.m,
          n: plan.n,
          k: plan.k,
          transA: transposeA ? 1 : 0,
          transB: transposeB ? 1 : 0,
          aOff: offset(a),
          aBatch: plan.aBatch,
          bOff: offset(b),
          bBatch: plan.bBatch,
          cOff: c,
          biasOff: bias != null ? offset(bias) : -1,
          biasLen: plan.biasLen,
          activation: plan.activation,
          leakyAlpha: leakyreluAlpha ?? 0.2,
        }),
      };
    },
  });
}

/** BatchMatMul and _FusedMatMul through the addon, deferring to the kernels registered before (registerFastKernels('wasm')). */
export const NATIVE_MATMUL_KERNELS: NativeKernel[] = [nativeMatMul(tf.BatchMatMul), nativeMatMul(tf._FusedMatMul)];
