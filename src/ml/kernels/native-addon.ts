// The optional native kernels addon: native/*.c, an N-API addon over the system OpenBLAS, built
// by native/build.mjs (npm install, npm run build:native) where a C toolchain and OpenBLAS headers
// exist and absent otherwise. Loading it never throws: a missing, broken or out-of-date addon is a
// reason string, and the wasm backend keeps its own kernels.
//
// OpenBLAS fixes its kernels (OPENBLAS_CORETYPE) when the library loads, i.e. at the first load of
// the addon: the process must set that variable before (chooseOpenBlasCore says which core).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NATIVE_PARAMS, type NativeEntry } from './native-params.ts';

/**
 * The ABI this code expects (native/kernels.h, KERNELS_ABI_VERSION): an addon built from other
 * sources is refused ("out of date"), never called with a layout it does not have.
 */
export const NATIVE_ABI_VERSION = 11;

/** One entry point: validates every region against `heap`, writes only its outputs (native/kernels.h). */
export type HeapFn = (heap: Uint8Array, params: Float64Array) => void;

/** The addon's exports. */
export type NativeAddon = Record<Exclude<NativeEntry, 'sumSquares'>, HeapFn> & {
  /** Σ x² (a float32 value) */
  sumSquares(heap: Uint8Array, params: Float64Array): number;
  abiVersion(): number;
  /** each entry point's parameter names, in order */
  layout(): Record<string, string[]>;
  /** `threads` OpenBLAS threads for products of ≥ `parallelMin` multiply-adds (m·n·k), one below (default 0: all) */
  setThreads(threads: number, parallelMin?: number): void;
  getThreads(): number;
  /**
   * The threads now (native/threads.c): [policy threads, threads now (1 while another process holds a
   * core), calls that found a core taken, tries of all threads, parallel calls, the last call's lowest
   * share of a core per thread]
   */
  getThreadState(): number[];
  config(): string;
};

/** The addon's threads as the last parallel calls left them (native/threads.c, "A core taken"). */
export interface ThreadState {
  /** the worker's OpenBLAS threads (setThreads) */
  policy: number;
  /** the threads the next calls use: `policy`, or 1 while another process holds a core */
  now: number;
  /** parallel calls whose slowest thread got under 80 % of a core (each drops to one thread) */
  coreTaken: number;
  /** calls that tried all threads again while on one */
  tries: number;
  /** calls that ran in parallel parts */
  parallelCalls: number;
  /** the last parallel call's lowest share of a core among its threads (0..1) */
  lowestShare: number;
}

export function threadState(addon: NativeAddon): ThreadState {
  const [policy = 1, now = 1, coreTaken = 0, tries = 0, parallelCalls = 0, lowestShare = 1] = addon.getThreadState();
  return { policy, now, coreTaken, tries, parallelCalls, lowestShare };
}

export interface NativeKernels {
  addon: NativeAddon;
  /** e.g. "OpenBLAS 0.3.21 … SkylakeX MAX_THREADS=64 (core SkylakeX)" */
  config: string;
  /** OpenBLAS threads of the large products */
  threads: number;
  /** the smallest product (m·n·k multiply-adds) that runs on `threads` threads; smaller ones run on one */
  parallelMin: number;
}

export type NativeLoad = { kernels: NativeKernels } | { reason: string };

/**
 * OpenBLAS threads when the caller names none (src/process/cpu-budget.ts gives the worker's, from
 * its CPUs): one.
 */
export const DEFAULT_BLAS_THREADS = 1;

/**
 * The smallest product, in multiply-adds m·n·k, that runs on more than one OpenBLAS thread: a
 * smaller one stays on one thread, where a second costs more than it gains. Measured with
 * `npx tsx bench/blas-threads.ts` (bench/README.md, "OpenBLAS threads per product").
 */
export const DEFAULT_BLAS_PARALLEL_MIN = 2 ** 25;

// the repository's native/ folder (not a module import: a file the addon build writes)
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/glimpse_kernels.node', import.meta.url));
/** the file the addon had before it was named for what it holds (a build from before that) */
const OLD_ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/glimpse_blas.node', import.meta.url));

const OWN_FUNCTIONS = ['abiVersion', 'layout', 'setThreads', 'getThreads', 'getThreadState', 'config'] as const;
const OUT_OF_DATE = 'native kernels addon out of date: npm run build:native';

const require = createRequire(import.meta.url);

/**
 * OpenBLAS 0.3.21 (Debian 12) falls back to its slowest kernels (Prescott) on CPUs newer than it
 * knows: the newest core that the CPU flags of `cpuinfo` (Linux /proc/cpuinfo's text) support,
 * for OPENBLAS_CORETYPE; null where none of ours fits (OpenBLAS's own choice stands).
 */
export function chooseOpenBlasCore(cpuinfo: string): 'SkylakeX' | 'Haswell' | null {
  const line = cpuinfo.split('\n').find((l) => l.startsWith('flags'));
  const flags = new Set((line ?? '').split(/\s+/));
  if (['avx512f', 'avx512vl', 'avx512bw', 'avx512dq'].every((f) => flags.has(f))) return 'SkylakeX';
  if (['avx2', 'fma'].every((f) => flags.has(f))) return 'Haswell';
  return null;
}

/** The addon's functions as a plain object (its own properties are read-only), or why it does not fit. */
function checked(raw: Record<string, unknown>): NativeAddon | string {
  const version = typeof raw.abiVersion === 'function' ? (raw.abiVersion as () => unknown)() : 'none';
  if (version !== NATIVE_ABI_VERSION) return `${OUT_OF_DATE} (its ABI ${version}, expected ${NATIVE_ABI_VERSION})`;
  const names = [...OWN_FUNCTIONS, ...(Object.keys(NATIVE_PARAMS) as NativeEntry[])];
  const missing = names.filter((name) => typeof raw[name] !== 'function');
  if (missing.length > 0) return `${OUT_OF_DATE} (no ${missing.join(', ')})`;
  const addon = Object.fromEntries(names.map((name) => [name, raw[name]])) as NativeAddon;
  const layout = addon.layout();
  const differs = (Object.keys(NATIVE_PARAMS) as NativeEntry[]).filter(
    (entry) => JSON.stringify(layout[entry]) !== JSON.stringify(NATIVE_PARAMS[entry]),
  );
  if (differs.length > 0) {
    return `${OUT_OF_DATE} (the parameters of ${differs.join(', ')} differ from src/ml/kernels/native-params.ts: if the sources agree, bump KERNELS_ABI_VERSION and NATIVE_ABI_VERSION)`;
  }
  return addon;
}

/** Opens an addon file (no caching): the kernels, or why not. Sets the OpenBLAS threads. */
export function openNativeKernels(file: string, threads = DEFAULT_BLAS_THREADS, parallelMin = DEFAULT_BLAS_PARALLEL_MIN): NativeLoad {
  if (!existsSync(file)) {
    return existsSync(OLD_ADDON_PATH) && file === ADDON_PATH
      ? { reason: `${OUT_OF_DATE} (only glimpse_blas.node, from before the rename, is built)` }
      : { reason: 'native kernels not built (npm install builds native/ where a C compiler and libopenblas-dev exist)' };
  }
  try {
    const addon = checked(require(file) as Record<string, unknown>);
    if (typeof addon === 'string') return { reason: addon };
    addon.setThreads(threads, parallelMin);
    return { kernels: { addon, config: addon.config(), threads: addon.getThreads(), parallelMin } };
  } catch (err) {
    return { reason: `native kernels failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

let loaded: NativeLoad | null = null;

/** The addon if this process has loaded it (null: not loaded or not loadable); never loads it. */
export function loadedNativeKernels(): NativeKernels | null {
  return loaded != null && 'kernels' in loaded ? loaded.kernels : null;
}

/**
 * The addon at ADDON_PATH, loaded once per process. `threads`: OpenBLAS threads of the products of
 * at least `parallelMin` multiply-adds (defaults DEFAULT_BLAS_THREADS, DEFAULT_BLAS_PARALLEL_MIN); a
 * later call with `threads` changes them.
 */
export function loadNativeKernels(threads?: number, parallelMin = DEFAULT_BLAS_PARALLEL_MIN): NativeLoad {
  if (loaded == null) {
    loaded = openNativeKernels(ADDON_PATH, threads, parallelMin);
  } else if ('kernels' in loaded && threads != null) {
    loaded.kernels.addon.setThreads(threads, parallelMin);
    loaded.kernels.threads = loaded.kernels.addon.getThreads();
    loaded.kernels.parallelMin = parallelMin;
  }
  return loaded;
}
