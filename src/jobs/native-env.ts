// The native kernels' environment, read here until src/config parses it (issue 18: src/ml takes
// options and reads no process.env). Then initBackend's native options come from the config, the
// OpenBLAS core is set by the config's start-up step, and this file goes.
//   GLIMPSE_NATIVE_KERNELS on|off (old name GLIMPSE_NATIVE_GEMM, accepted for one release)
//   OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS: OpenBLAS threads (first set wins)
//   OPENBLAS_CORETYPE: where unset, chosen from the CPU flags before the addon loads
import { existsSync, readFileSync } from 'node:fs';
import { BackendError, type BackendOptions, chooseOpenBlasCore } from '../ml/index.ts';

const BLAS_THREAD_VARIABLES = ['OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS'];

/** GLIMPSE_NATIVE_KERNELS (or GLIMPSE_NATIVE_GEMM): `off` keeps wasm's own kernels even where the addon is built. */
export function nativeKernelsFromEnv(env: NodeJS.ProcessEnv = process.env): { on: boolean; notes: string[] } {
  const deprecated = (env.GLIMPSE_NATIVE_KERNELS ?? '') === '' && (env.GLIMPSE_NATIVE_GEMM ?? '') !== '';
  const name = deprecated ? 'GLIMPSE_NATIVE_GEMM' : 'GLIMPSE_NATIVE_KERNELS';
  const value = env[name];
  const notes = deprecated ? ['GLIMPSE_NATIVE_GEMM is the old name of GLIMPSE_NATIVE_KERNELS (accepted for one release)'] : [];
  if (value == null || value === '' || value === 'on') return { on: true, notes };
  if (value === 'off') return { on: false, notes };
  throw new BackendError('BACKEND_UNKNOWN', `${name} must be "on" or "off" (got "${value}")`);
}

/**
 * OPENBLAS_CORETYPE where unset: the newest core the CPU flags (`cpuinfo`: /proc/cpuinfo) support,
 * since OpenBLAS reads it once, when the addon first loads. The note to report, or null.
 */
export function prepareOpenBlasCore(env: NodeJS.ProcessEnv = process.env, cpuinfo = '/proc/cpuinfo'): string | null {
  if (env.OPENBLAS_CORETYPE != null && env.OPENBLAS_CORETYPE !== '')
    return `OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} (set by the environment)`;
  const core = existsSync(cpuinfo) ? chooseOpenBlasCore(readFileSync(cpuinfo, 'utf8')) : null;
  if (core == null) return null;
  env.OPENBLAS_CORETYPE = core;
  return `OPENBLAS_CORETYPE=${core} (from the CPU flags)`;
}

/** initBackend's native options from the environment (prepareOpenBlasCore first, where the kernels are wanted). */
export function nativeBackendOptions(
  env: NodeJS.ProcessEnv = process.env,
  cpuinfo = '/proc/cpuinfo',
): Pick<BackendOptions, 'nativeKernels' | 'blasThreads' | 'nativeNotes'> {
  const { on, notes } = nativeKernelsFromEnv(env);
  if (!on) return { nativeKernels: false, nativeNotes: notes };
  const core = prepareOpenBlasCore(env, cpuinfo);
  if (core != null) notes.push(core);
  const variable = BLAS_THREAD_VARIABLES.find((name) => Number.isInteger(Number(env[name])) && Number(env[name]) >= 1);
  if (variable == null) return { nativeKernels: true, nativeNotes: notes };
  const blasThreads = Number(env[variable]);
  notes.push(`OpenBLAS threads ${blasThreads} (from the environment)`);
  return { nativeKernels: true, blasThreads, nativeNotes: notes };
}
