// Puts the native addon's kernels in front of wasm's (call after registerFastKernels('wasm'), so
// that the kernels they defer to are ours): every declared native kernel, registered in one loop.
import { loadNativeKernels } from './native-addon.ts';
import { NATIVE_ATTENTION_KERNELS } from './native-attention.ts';
import { NATIVE_ATTENTION_SOFTMAX_KERNELS } from './native-attention-softmax.ts';
import { NATIVE_CONV_KERNELS } from './native-conv.ts';
import { NATIVE_CROSS_ENTROPY_KERNELS } from './native-cross-entropy.ts';
import { NATIVE_CONV2D_KERNELS } from './native-conv2d.ts';
import { NATIVE_DECODE_STEP_KERNELS } from './native-decode-step.ts';
import { NATIVE_ELEMENTWISE_KERNELS } from './native-elementwise.ts';
import { NATIVE_GRU_KERNELS } from './native-gru.ts';
import { setInstalledNativeKernels, setNativeKernels } from './native-kernel.ts';
import { NATIVE_MATMUL_KERNELS } from './native-matmul.ts';
import { NATIVE_RECURRENCE_KERNELS } from './native-recurrence.ts';
import { registerKernels } from './registry.ts';

const NATIVE_KERNELS = [
  ...NATIVE_MATMUL_KERNELS,
  ...NATIVE_ELEMENTWISE_KERNELS,
  ...NATIVE_CONV_KERNELS,
  ...NATIVE_CONV2D_KERNELS,
  ...NATIVE_ATTENTION_KERNELS,
  ...NATIVE_ATTENTION_SOFTMAX_KERNELS,
  ...NATIVE_GRU_KERNELS,
  ...NATIVE_RECURRENCE_KERNELS,
  ...NATIVE_DECODE_STEP_KERNELS,
  ...NATIVE_CROSS_ENTROPY_KERNELS,
];

export interface NativeInstallOptions {
  /** false: wasm keeps its own kernels even where the addon is built */
  wanted: boolean;
  /** OpenBLAS threads (default DEFAULT_BLAS_THREADS) */
  blasThreads?: number;
  /** the caller's notes on the native environment, reported unless the addon failed to load */
  notes?: readonly string[];
}

let installed = false;

/** Installs (once) and switches on the native kernels; the suffix of the backend's name, or null. Adds its notes to `notes`. */
export function useNativeKernels(options: NativeInstallOptions, notes: string[]): string | null {
  if (!options.wanted) {
    setNativeKernels(false);
    if (installed) notes.push('native kernels off: matrix products on XNNPACK');
    notes.push(...(options.notes ?? []));
    return null;
  }
  const native = loadNativeKernels(options.blasThreads);
  if ('reason' in native) {
    notes.push(`${native.reason}: matrix products on XNNPACK`);
    return null;
  }
  if (!installed) {
    registerKernels(NATIVE_KERNELS.map((kernel) => kernel.config(native.kernels)));
    setInstalledNativeKernels(native.kernels);
    installed = true;
  }
  setNativeKernels(true);
  notes.push(
    `matrix products, Tanh, Exp, Sum, convolutions and their gradients, Adam, attention weights, the GRU cell, the teacher-forced recurrence, the decoding step and the loss's cross-entropy on the native kernels: ${native.kernels.config}, ${native.kernels.threads} thread(s)${native.kernels.threads > 1 ? ` for products of ≥ ${native.kernels.parallelMin} multiply-adds` : ''}`,
    ...(options.notes ?? []),
  );
  return '+openblas';
}
