// The join of src/config and src/ml for the native kernels: initBackend's native options from the
// config (GLIMPSE_NATIVE_KERNELS, OpenBLAS threads and core) and src/ml's pure OpenBLAS core chooser.
// Every process that loads the ML backend (the worker, the CLI, benches, tests) calls it before its
// first initBackend: OpenBLAS reads OPENBLAS_CORETYPE once, when the addon loads.
import { existsSync, readFileSync } from 'node:fs';
import { type Config, type Env, prepareNativeEnvironment, readVariable } from '../config/index.ts';
import { type BackendOptions, chooseOpenBlasCore } from '../ml/index.ts';

export type NativeConfig = Pick<Config, 'nativeKernels' | 'blasThreads' | 'openBlasCore'>;
type NativeOptions = Pick<BackendOptions, 'nativeKernels' | 'blasThreads' | 'nativeNotes'>;

/** the native settings alone, for processes that do not load the whole config (CLI, benches, tests) */
export function nativeConfig(env?: Env): NativeConfig {
  return {
    nativeKernels: readVariable('GLIMPSE_NATIVE_KERNELS', env),
    blasThreads: readVariable('OPENBLAS_NUM_THREADS', env),
    openBlasCore: readVariable('OPENBLAS_CORETYPE', env),
  };
}

/** the core this CPU's flags (Linux /proc/cpuinfo) support, or null */
const coreFromCpu = (cpuinfo: string) => () => (existsSync(cpuinfo) ? chooseOpenBlasCore(readFileSync(cpuinfo, 'utf8')) : null);

/** initBackend's native options for `config`; sets OPENBLAS_CORETYPE in `env` where the kernels are wanted and none is named */
export function nativeBackendOptionsFor(config: NativeConfig, cpuinfo = '/proc/cpuinfo', env?: Env): NativeOptions {
  const native = prepareNativeEnvironment(config, coreFromCpu(cpuinfo), env);
  if (!native.nativeKernels) return { nativeKernels: false, nativeNotes: native.notes };
  return native.blasThreads === undefined
    ? { nativeKernels: true, nativeNotes: native.notes }
    : { nativeKernels: true, blasThreads: native.blasThreads, nativeNotes: native.notes };
}

/** the same from the environment's variables (parsed by src/config) */
export function nativeBackendOptions(env?: Env, cpuinfo = '/proc/cpuinfo'): NativeOptions {
  return nativeBackendOptionsFor(nativeConfig(env), cpuinfo, env);
}

/** OPENBLAS_CORETYPE prepared on its own (benches that start children): the note to report, or null */
export function prepareOpenBlasCore(env?: Env, cpuinfo = '/proc/cpuinfo'): string | null {
  const config = { nativeKernels: true, openBlasCore: readVariable('OPENBLAS_CORETYPE', env) };
  return prepareNativeEnvironment(config, coreFromCpu(cpuinfo), env).notes[0] ?? null;
}
