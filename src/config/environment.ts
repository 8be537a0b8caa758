// What this process hands to the programs it starts through the environment: its children's variables
// (worker processes, the embedded Postgres) and the native kernels' OpenBLAS settings, which the
// library reads from the environment when it loads.
import type { Env } from './parse.ts';
import type { Config } from './types.ts';

/** this process's environment with `extra` on top, for a child process */
export function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** initBackend's native options, and how they were chosen */
export interface NativeEnvironment {
  nativeKernels: boolean;
  /** OpenBLAS threads; unset → src/ml's default */
  blasThreads?: number;
  /** for the backend's notes: where the OpenBLAS core and threads came from */
  notes: string[];
}

/**
 * Call before the ML backend loads, in every process that may load the native addon (the worker, the CLI's
 * training and captioning commands, benches): OpenBLAS fixes its kernels when the library loads, from
 * OPENBLAS_CORETYPE, and old versions (0.3.21, Debian 12) fall back to their slowest ones on CPUs newer
 * than they know. Where the environment names no core, this sets the one `chooseCore` picks for this CPU
 * (src/ml's pure chooser over the CPU flags; null: leave OpenBLAS to detect it). Where it names no
 * OPENBLAS_THREAD_TIMEOUT, this sets OPENBLAS_SPIN: OpenBLAS's idle pool threads then sleep at once instead
 * of spinning ~0.1 s after every threaded product, on the cores the addon's own threads (native/threads.c)
 * and other processes need — with the default they halved the recurrence's threads' share of a core on an
 * idle 2-CPU machine; waking them costs microseconds against products of ≥ 2^25 multiply-adds. Nothing is
 * set when the native kernels are off. Returns initBackend's options.
 */
/** OPENBLAS_THREAD_TIMEOUT where unset: 2^4 cycles of spinning before an idle pool thread sleeps (OpenBLAS's least; its default is 2^28) */
export const OPENBLAS_SPIN = '4';

export function prepareNativeEnvironment(
  config: Pick<Config, 'nativeKernels' | 'blasThreads' | 'openBlasCore'>,
  chooseCore: () => string | null,
  env: Env = process.env,
): NativeEnvironment {
  if (!config.nativeKernels) return { nativeKernels: false, notes: [] };
  const notes: string[] = [];
  if (config.openBlasCore !== undefined) {
    notes.push(`OPENBLAS_CORETYPE=${config.openBlasCore} (set by the environment)`);
  } else {
    const core = chooseCore();
    if (core !== null) {
      env.OPENBLAS_CORETYPE = core;
      notes.push(`OPENBLAS_CORETYPE=${core} (from the CPU flags)`);
    }
  }
  if (!env.OPENBLAS_THREAD_TIMEOUT) env.OPENBLAS_THREAD_TIMEOUT = OPENBLAS_SPIN;
  if (config.blasThreads === undefined) return { nativeKernels: true, notes };
  notes.push(`OpenBLAS threads ${config.blasThreads} (from the environment)`);
  return { nativeKernels: true, blasThreads: config.blasThreads, notes };
}
