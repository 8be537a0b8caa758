// Installs our kernels over (or next to) the stock ones of a backend. Idempotent.
import * as tf from '@tensorflow/tfjs';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.ts';
import { wasmMatMulKernels } from './wasm-matmul.ts';

export type PatchedBackend = 'wasm' | 'cpu';

const installed = new Set<PatchedBackend>();

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) != null) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * wasm: adds UnsortedSegmentSum (missing) and routes transposed/batched matMuls to XNNPACK.
 * cpu: replaces the slow UnsortedSegmentSum. The wasm package must be imported before.
 */
export function registerFastKernels(backendName: PatchedBackend): void {
  if (installed.has(backendName)) return;
  const configs = backendName === 'wasm' ? [unsortedSegmentSumKernel('wasm'), ...wasmMatMulKernels()] : [unsortedSegmentSumKernel('cpu')];
  configs.forEach(replaceKernel);
  installed.add(backendName);
}
