// A bench backend configuration: `<backend>[+openblas][:wasmThreads[:blasThreads]]`, e.g. `wasm`
// (XNNPACK products only), `wasm:2`, `wasm+openblas` (the native kernels), `wasm+openblas:2:1`.
import type { BackendOptions } from '../src/ml/backend.ts';

export interface BenchConfig {
  backend: string;
  /** the BackendInfo name the configuration must come up as */
  expectName: string;
  options: BackendOptions;
}

export function parseBenchConfig(config: string): BenchConfig {
  const [name, wasmThreads, blasThreads] = config.split(':');
  const native = name.endsWith('+openblas');
  const backend = native ? name.slice(0, -'+openblas'.length) : name;
  const options: BackendOptions = { wasmThreads: wasmThreads ? Number(wasmThreads) : 1, nativeKernels: native };
  if (blasThreads) options.blasThreads = Number(blasThreads);
  return { backend, expectName: name, options };
}
