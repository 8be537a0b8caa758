// Installs our kernels over (or next to) the stock ones of a backend. Idempotent.
import * as tf from '@tensorflow/tfjs';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.ts';
import { wasmCopyKernels } from './wasm-copies.ts';
import { wasmMatMulKernels } from './wasm-matmul.ts';
import { wasmSumKernel } from './wasm-sum.ts';
import { wasmTanhKernel } from './wasm-tanh.ts';

export type PatchedBackend = 'wasm' | 'cpu';

const installed = new Set<PatchedBackend>();

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) != null) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * wasm: adds UnsortedSegmentSum (missing), routes transposed/batched matMuls to XNNPACK and
 * computes Tanh through the vectorised Sigmoid, sums non-innermost axes in one pass; Identity
 * shares buffers, Unpack and PadV2 copy rows.
 * cpu: replaces the slow UnsortedSegmentSum. The wasm package must be imported before.
 */
export function registerFastKernels(backendName: PatchedBackend): void {
  if (installed.has(backendName)) return;
  const configs =
    backendName === 'wasm'
      ? [unsortedSegmentSumKernel('wasm'), ...wasmMatMulKernels(), wasmTanhKernel(), wasmSumKernel(), ...wasmCopyKernels()]
      : [unsortedSegmentSumKernel('cpu')];
  configs.forEach(replaceKernel);
  installed.add(backendName);
}
