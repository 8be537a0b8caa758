// The optional native GEMM: native/gemm.c (an N-API addon over the system OpenBLAS), built at
// install by native/build.mjs where a C toolchain and OpenBLAS headers exist and absent otherwise.
// Loading it never throws: a missing or broken addon is a reason string, and the wasm backend
// keeps its XNNPACK products.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's exports (native/gemm.c). */
export interface BlasAddon {
  /** See native/gemm.c: validates every offset against `heap` and writes only C. */
  gemm(heap: Uint8Array, params: Float64Array): void;
  setThreads(threads: number): void;
  getThreads(): number;
  config(): string;
  /** native/elementwise.c: y = tanh(x); params [xOff, yOff, n] */
  tanh(heap: Uint8Array, params: Float64Array): void;
  /** native/elementwise.c: y = exp(x); params [xOff, yOff, n] */
  exp(heap: Uint8Array, params: Float64Array): void;
  /** native/elementwise.c: out[a, b] = Σ_r x[a, r, b]; params [xOff, outOff, outer, reduce, inner] */
  sumAxes(heap: Uint8Array, params: Float64Array): void;
  /** native/optim.c (absent in an addon built before it): Σ x²; params [xOff, n] */
  sumSquares?(heap: Uint8Array, params: Float64Array): number;
  /** native/optim.c (absent in an addon built before it): Adam in place; see src/ml/kernels/native-optim.ts */
  adam?(heap: Uint8Array, params: Float64Array): void;
  /** native/attention.c (absent in an addon built before it): see src/ml/kernels/native-attention.ts */
  attnScores?(heap: Uint8Array, params: Float64Array): void;
  /** native/attention.c (absent in an addon built before it): see src/ml/kernels/native-attention.ts */
  attnScoresGrad?(heap: Uint8Array, params: Float64Array): void;
  /** native/conv.c (absent in an addon built before it): see src/ml/kernels/native-conv.ts */
  convFilterGrad?(heap: Uint8Array, params: Float64Array): void;
  /** native/conv.c (absent in an addon built before it): see src/ml/kernels/native-conv.ts */
  maxPoolGrad?(heap: Uint8Array, params: Float64Array): void;
}

export interface NativeGemm {
  addon: BlasAddon;
  /** e.g. "OpenBLAS 0.3.21 … SkylakeX MAX_THREADS=64 (core SkylakeX)" */
  config: string;
  /** OpenBLAS threads in use */
  threads: number;
  /** how the OpenBLAS kernels and threads were chosen, for BackendInfo.notes */
  notes: string[];
}

/**
 * BLAS threads when neither the caller nor OPENBLAS_NUM_THREADS/OMP_NUM_THREADS says: measured on
 * the 2-core machine (bench/README, "Native GEMM threads"): one OpenBLAS thread per product.
 */
export const DEFAULT_BLAS_THREADS = 1;

// the repository's native/ folder (not a module import: a file the addon build writes)
const ADDON_FILE = fileURLToPath(new URL('../../../native/build/Release/glimpse_blas.node', import.meta.url));
export const ADDON_PATH = ADDON_FILE;

const require = createRequire(import.meta.url);

let loaded: { gemm: NativeGemm } | { reason: string } | null = null;

/**
 * OpenBLAS 0.3.21 (Debian 12) falls back to its slowest kernels (Prescott) on CPUs newer than it
 * knows. Its core is fixed when the library loads, from OPENBLAS_CORETYPE: where that is unset,
 * name the newest core this CPU's flags (Linux /proc/cpuinfo) support. Returns the note to log.
 */
export function chooseOpenBlasCore(env: NodeJS.ProcessEnv = process.env, cpuinfo = '/proc/cpuinfo'): string | null {
  if (env.OPENBLAS_CORETYPE != null && env.OPENBLAS_CORETYPE !== '')
    return `OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} (set by the environment)`;
  if (!existsSync(cpuinfo)) return null;
  const line = readFileSync(cpuinfo, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('flags'));
  const flags = new Set((line ?? '').split(/\s+/));
  const core = ['avx512f', 'avx512vl', 'avx512bw', 'avx512dq'].every((f) => flags.has(f))
    ? 'SkylakeX'
    : ['avx2', 'fma'].every((f) => flags.has(f))
      ? 'Haswell'
      : null;
  if (core == null) return null;
  env.OPENBLAS_CORETYPE = core;
  return `OPENBLAS_CORETYPE=${core} (from the CPU flags)`;
}

function threadsFromEnv(env: NodeJS.ProcessEnv): number | null {
  for (const name of ['OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS']) {
    const n = Number(env[name]);
    if (Number.isInteger(n) && n >= 1) return n;
  }
  return null;
}

/** Opens an addon file (no caching): the GEMM, or why not. Sets the OpenBLAS core and threads. */
export function openNativeGemm(file: string, threads?: number): { gemm: NativeGemm } | { reason: string } {
  if (!existsSync(file)) {
    return { reason: 'native GEMM not built (npm install builds native/ where a C compiler and libopenblas-dev exist)' };
  }
  try {
    const coreNote = chooseOpenBlasCore();
    const raw = require(file) as BlasAddon; // its properties are read-only: a plain object to pass around
    for (const fn of ['gemm', 'setThreads', 'getThreads', 'config', 'tanh', 'exp', 'sumAxes'] as const) {
      if (typeof raw[fn] !== 'function') throw new Error(`the addon has no ${fn}() (rebuild: npm run build:native)`);
    }
    const { gemm, setThreads, getThreads, config, tanh, exp, sumAxes } = raw;
    const addon: BlasAddon = { gemm, setThreads, getThreads, config, tanh, exp, sumAxes };
    if (typeof raw.convFilterGrad === 'function' && typeof raw.maxPoolGrad === 'function') {
      addon.convFilterGrad = raw.convFilterGrad;
      addon.maxPoolGrad = raw.maxPoolGrad;
    }
    if (typeof raw.sumSquares === 'function' && typeof raw.adam === 'function') {
      addon.sumSquares = raw.sumSquares;
      addon.adam = raw.adam;
    }
    if (typeof raw.attnScores === 'function' && typeof raw.attnScoresGrad === 'function') {
      addon.attnScores = raw.attnScores;
      addon.attnScoresGrad = raw.attnScoresGrad;
    }
    const notes = coreNote == null ? [] : [coreNote];
    const fromEnv = threadsFromEnv(process.env);
    addon.setThreads(threads ?? fromEnv ?? DEFAULT_BLAS_THREADS);
    if (threads == null && fromEnv != null) notes.push(`OpenBLAS threads ${fromEnv} (from the environment)`);
    return { gemm: { addon, config: addon.config(), threads: addon.getThreads(), notes } };
  } catch (err) {
    return { reason: `native GEMM failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * The addon at ADDON_PATH, loaded once per process. `threads`: OpenBLAS threads (default: the
 * environment's OPENBLAS_NUM_THREADS/OMP_NUM_THREADS, else DEFAULT_BLAS_THREADS); a later call
 * with `threads` changes them.
 */
export function loadNativeGemm(threads?: number): { gemm: NativeGemm } | { reason: string } {
  if (loaded == null) {
    loaded = openNativeGemm(ADDON_PATH, threads);
  } else if ('gemm' in loaded && threads != null) {
    loaded.gemm.addon.setThreads(threads);
    loaded.gemm.threads = loaded.gemm.addon.getThreads();
  }
  return loaded;
}
