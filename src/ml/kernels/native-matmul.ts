// BatchMatMul and _FusedMatMul on the wasm backend computed by the native GEMM (OpenBLAS) in
// place on the wasm heap: inputs are read where tfjs keeps them (their memoryOffset), the output
// is allocated by the backend (makeOutput) and written once; no copies, transposes are BLAS
// flags. Products it does not take (other dtypes, PReLU, batch broadcasts that do not flatten
// to one shared operand, biases other than a scalar or one value per column, empty tensors)
// go to the kernel registered before (wasm-matmul.ts: XNNPACK).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import type { NativeGemm } from './native-gemm.ts';

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 };

let enabled = true;

/** Turns the native kernels (products, Tanh, Sum) on or off at run time (tests compare both in one process). */
export function setNativeKernels(on: boolean): void {
  enabled = on;
}

export function nativeKernelsEnabled(): boolean {
  return enabled;
}

let installedGemm: NativeGemm | null = null;

/** The addon whose kernels are installed on wasm, while they are enabled (for code outside kernels: the optimiser). */
export function activeNativeGemm(): NativeGemm | null {
  return enabled ? installedGemm : null;
}

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

/** The current bytes of the wasm memory (it may have grown, and been replaced, since the last call). */
export function heapBytes(wasm: BackendWasm): Uint8Array {
  const module = wasm.wasm as unknown as { wasmMemory?: WebAssembly.Memory; HEAPU8: Uint8Array };
  return module.wasmMemory != null ? new Uint8Array(module.wasmMemory.buffer) : module.HEAPU8;
}

const params = new Float64Array(15);

function nativeMatMul(kernelName: string, gemm: NativeGemm): tf.KernelConfig {
  const fallback = tf.getKernel(kernelName, 'wasm');
  if (fallback == null) throw new Error(`wasm kernel ${kernelName} is not registered`);
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, backend, attrs } = args;
    if (!enabled || inputs.preluActivationWeights != null) return fallback.kernelFunc(args);
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    const a = required(inputs, 'a');
    const b = required(inputs, 'b');
    const plan = planGemm(a, b, transposeA, transposeB, inputs.bias, activation ?? 'linear');
    if (plan == null) return fallback.kernelFunc(args);
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(plan.outShape, 'float32');
    try {
      // offsets after makeOutput: allocating may have grown the heap (offsets stay, the buffer changes)
      params.set([
        plan.batch,
        plan.m,
        plan.n,
        plan.k,
        transposeA ? 1 : 0,
        transposeB ? 1 : 0,
        wasm.getMemoryOffset(a.dataId),
        plan.aBatch,
        wasm.getMemoryOffset(b.dataId),
        plan.bBatch,
        wasm.getMemoryOffset(out.dataId),
        inputs.bias != null ? wasm.getMemoryOffset(inputs.bias.dataId) : -1,
        plan.biasLen,
        plan.activation,
        leakyreluAlpha ?? 0.2,
      ]);
      gemm.addon.gemm(heapBytes(wasm), params);
      return out;
    } catch (err) {
      wasm.disposeData(out.dataId);
      throw err;
    }
  };
  return { kernelName, backendName: 'wasm', setupFunc: fallback.setupFunc, disposeFunc: fallback.disposeFunc, kernelFunc };
}

/**
 * Kernel configs for BatchMatMul and _FusedMatMul through the native GEMM, deferring to the
 * kernels registered now (call after registerFastKernels('wasm')).
 */
export function nativeMatMulKernels(gemm: NativeGemm): tf.KernelConfig[] {
  installedGemm = gemm;
  return [nativeMatMul(tf.BatchMatMul, gemm), nativeMatMul(tf._FusedMatMul, gemm)];
}
