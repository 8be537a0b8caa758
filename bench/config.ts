// A bench backend configuration: `<backend>[+openblas][:wasmThreads[:blasThreads]]`, e.g. `wasm`
// (XNNPACK products only), `wasm:2`, `wasm+openblas` (the native kernels), `wasm+openblas:2:1`.
// Threads not named are a training worker's defaults on this machine (src/process/cpu-budget.ts,
// GLIMPSE_CPUS and the thread variables honoured as a worker honours them): plain `wasm+openblas`
// is what a worker runs with no variable set.
import { loadConfig } from '../src/config/index.ts';
import { workerThreads } from '../src/jobs/threads.ts';
import type { BackendOptions } from '../src/ml/backend.ts';

export interface BenchConfig {
  backend: string;
  /** the BackendInfo name the configuration must come up as */
  expectName: string;
  options: BackendOptions;
}

/**
 * `role`: whose defaults fill the threads not named: a training worker's (the training rows) or a caption worker's
 * (the decoding rows: `npm start` decodes captions in its caption worker, one thread per batch).
 */
export function parseBenchConfig(config: string, role: 'training' | 'caption' = 'training'): BenchConfig {
  const [name, wasmThreads, blasThreads] = config.split(':');
  const native = name.endsWith('+openblas');
  const backend = native ? name.slice(0, -'+openblas'.length) : name;
  const env = loadConfig();
  const defaults = workerThreads({
    ...env,
    workerJobs: [role],
    nativeKernels: native,
    wasmThreads: wasmThreads ? Number(wasmThreads) : env.wasmThreads,
    blasThreads: blasThreads ? Number(blasThreads) : env.blasThreads,
  });
  const options: BackendOptions = { wasmThreads: defaults.wasmThreads, nativeKernels: native };
  if (native) options.blasThreads = defaults.blasThreads;
  return { backend, expectName: name, options };
}
