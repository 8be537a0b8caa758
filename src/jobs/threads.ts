// A worker's threads from its config: GLIMPSE_CPUS (else the CPUs this process may use) and its
// roles through src/process/cpu-budget.ts's rule; GLIMPSE_WASM_THREADS and OPENBLAS_NUM_THREADS win.
import type { Config } from '../config/index.ts';
import { type CpuSources, type ThreadPlan, threadPlan, usableCpus } from '../process/cpu-budget.ts';

export type ThreadConfig = Pick<Config, 'cpus' | 'wasmThreads' | 'blasThreads' | 'nativeKernels' | 'workerJobs'>;

export function workerThreads(config: ThreadConfig, sources?: CpuSources): ThreadPlan {
  const cpus = config.cpus !== undefined ? { cpus: config.cpus, source: 'GLIMPSE_CPUS' } : usableCpus(sources);
  const plan = threadPlan({
    cpus: cpus.cpus,
    trains: config.workerJobs.includes('training'),
    native: config.nativeKernels,
    wasmThreads: config.wasmThreads,
    blasThreads: config.blasThreads,
  });
  return { ...plan, note: `${plan.note}; CPUs: ${cpus.source}` };
}
