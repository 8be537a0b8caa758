// Installs our JavaScript kernels over (or next to) the stock ones of a backend. Idempotent. (The
// native addon's kernels: native-install.ts.)
import { registerKernels } from './registry.ts';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.ts';
import { wasmCopyKernels } from './wasm-copies.ts';
import { wasmGatherKernel } from './wasm-gather.ts';
import { wasmMatMulKernels } from './wasm-matmul.ts';
import { wasmTanhKernel } from './wasm-tanh.ts';

export type PatchedBackend = 'wasm' | 'cpu';

const installed = new Set<PatchedBackend>();

/**
 * wasm: adds UnsortedSegmentSum (missing), routes transposed/batched matMuls to XNNPACK and
 * computes Tanh through the vectorised Sigmoid; Identity shares buffers, Unpack copies rows,
 * GatherV2 copies whole rows.
 * cpu: replaces the slow UnsortedSegmentSum. The wasm package must be imported before.
 */
export function registerFastKernels(backendName: PatchedBackend): void {
  if (installed.has(backendName)) return;
  registerKernels(
    backendName === 'wasm'
      ? [unsortedSegmentSumKernel('wasm'), ...wasmMatMulKernels(), wasmTanhKernel(), ...wasmCopyKernels(), wasmGatherKernel()]
      : [unsortedSegmentSumKernel('cpu')],
  );
  installed.add(backendName);
}
