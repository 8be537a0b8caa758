// Backend choice at start-up: tfjs-node-gpu → tfjs-node → wasm (SIMD) → cpu.
// The caller reads its configuration (GLIMPSE_BACKEND, GLIMPSE_NATIVE_KERNELS, the OpenBLAS
// variables) and passes it: `preferred` starts the chain there, the options say the rest.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { useNativeKernels } from './kernels/native-install.ts';
import { registerFastKernels } from './kernels/register.ts';
import { withWasmThreads } from './kernels/wasm-threads.ts';
import type { BackendInfo } from './types.ts';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export type BackendErrorCode = 'BACKEND_UNKNOWN' | 'BACKEND_UNAVAILABLE' | 'BACKEND_NOT_INITIALIZED';

export class BackendError extends Error {
  readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

export function parseBackendName(name: string): BackendName {
  const found = BACKEND_NAMES.find((n) => n === name);
  if (found == null) {
    throw new BackendError('BACKEND_UNKNOWN', `unknown backend "${name}" (expected one of ${BACKEND_NAMES.join(', ')})`);
  }
  return found;
}

const require = createRequire(import.meta.url);

export interface BackendOptions {
  /**
   * XNNPACK threads for the wasm backend (default 1). ≥ 2 loads tfjs' threaded SIMD build, which
   * tfjs disables in Node; on failure wasm runs single-threaded with a note.
   */
  wasmThreads?: number;
  /**
   * wasm: compute matrix products, Tanh, Exp, Sum, convolutions and their gradients, Adam and the attention scores
   * with the native kernels addon (native/, over OpenBLAS) where it is built; the backend is then
   * named `wasm+openblas`. Default true; false keeps wasm's own kernels (GLIMPSE_NATIVE_KERNELS=off).
   */
  nativeKernels?: boolean;
  /**
   * OpenBLAS threads for the native kernels (default DEFAULT_BLAS_THREADS). OpenBLAS's core
   * (OPENBLAS_CORETYPE, see chooseOpenBlasCore) is the caller's to set, before the first initBackend.
   */
  blasThreads?: number;
  /** the caller's notes on how it chose these options (OpenBLAS core, threads), reported with the wasm backend's unless the addon failed to load */
  nativeNotes?: readonly string[];
}

/** Loads one backend and makes it current; returns its thread count and notes, or throws why not. */
type Loader = (options: BackendOptions) => Promise<{ threads: number; notes: string[]; suffix?: string }>;

const WASM_THREADS_INIT_TIMEOUT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function loadNodeBinding(pkg: string): Promise<{ threads: number; notes: string[] }> {
  // a variable specifier: the package is optional and has no types here
  const specifier: string = pkg;
  await import(specifier);
  if (tf.findBackend('tensorflow') == null) {
    throw new Error(`${pkg} loaded but registered no "tensorflow" backend in this copy of @tensorflow/tfjs`);
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg}: backend failed to initialise`);
  // TensorFlow's intra-op pool defaults to one thread per core
  return { threads: os.availableParallelism(), notes: [] };
}

let wasmPathsSet = false;

async function setWasmBackend(threads: number, notes: string[]): Promise<boolean> {
  if (threads < 2) return tf.setBackend('wasm');
  try {
    const init = withWasmThreads(threads, () => tf.setBackend('wasm'));
    return await withTimeout(init, WASM_THREADS_INIT_TIMEOUT_MS, 'threaded wasm initialisation');
  } catch (err) {
    notes.push(`wasm threads unavailable: ${reason(err)}`);
    return tf.setBackend('wasm');
  }
}

async function loadWasm(options: BackendOptions): Promise<{ threads: number; notes: string[]; suffix?: string }> {
  const notes: string[] = [];
  if (!wasmPathsSet) {
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    setWasmPaths(dist + path.sep); // local files, no network
    wasmPathsSet = true;
  }
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) notes.push('wasm: SIMD unsupported by this runtime, using the scalar build');
  registerFastKernels('wasm');
  const native = { wanted: options.nativeKernels ?? true, blasThreads: options.blasThreads, notes: options.nativeNotes };
  const suffix = useNativeKernels(native, notes) ?? undefined;
  const requested = options.wasmThreads ?? 1;
  if (!(await setWasmBackend(requested, notes))) throw new Error('wasm backend failed to initialise');
  const threads = getThreadsCount();
  if (requested <= 1) notes.push('wasm: single-threaded (pass wasmThreads ≥ 2 for the threaded build)');
  else if (threads < requested && !notes.some((n) => n.startsWith('wasm threads')))
    notes.push(`wasm: ${threads} thread(s), not ${requested} (backend initialised earlier in this process)`);
  return { threads, notes, suffix };
}

async function loadCpu(): Promise<{ threads: number; notes: string[] }> {
  registerFastKernels('cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  return { threads: 1, notes: [] };
}

const LOADERS: Record<BackendName, Loader> = {
  'tensorflow-gpu': () => loadNodeBinding('@tensorflow/tfjs-node-gpu'),
  tensorflow: () => loadNodeBinding('@tensorflow/tfjs-node'),
  wasm: loadWasm,
  cpu: loadCpu,
};

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': 'tfjs-node-gpu',
  tensorflow: 'tfjs-node',
  wasm: 'tfjs-backend-wasm',
  cpu: 'tfjs cpu',
};

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return (e?.message ?? String(err)).split('\n')[0];
}

async function select(start: BackendName | undefined, options: BackendOptions): Promise<BackendInfo> {
  const notes: string[] = [];
  const chain = BACKEND_NAMES.slice(start == null ? 0 : BACKEND_NAMES.indexOf(start));
  for (const name of chain) {
    try {
      const loaded = await LOADERS[name](options);
      return { name: name + (loaded.suffix ?? ''), threads: loaded.threads, notes: [...notes, ...loaded.notes] };
    } catch (err) {
      notes.push(`${PACKAGES[name]} unavailable: ${reason(err)}`);
    }
  }
  throw new BackendError('BACKEND_UNAVAILABLE', `no backend could be initialised: ${notes.join('; ')}`);
}

let current: { start: BackendName | undefined; info: Promise<BackendInfo> } | null = null;
let resolved: BackendInfo | null = null;

/**
 * Picks and initialises the fastest available backend, starting the chain at `preferred`
 * (`tensorflow-gpu|tensorflow|wasm|cpu`). Idempotent: a second call without a different
 * `preferred` returns the first result. Unknown names reject with BackendError BACKEND_UNKNOWN.
 * The wasm backend's threading is fixed by the first initialisation in a process.
 */
export async function initBackend(preferred?: string, options: BackendOptions = {}): Promise<BackendInfo> {
  const start = preferred == null || preferred === '' ? undefined : parseBackendName(preferred);
  if (current != null && (start == null || start === current.start)) return current.info;
  const info = select(start, options);
  current = { start, info };
  try {
    resolved = await info;
    return resolved;
  } catch (err) {
    current = null;
    throw err;
  }
}

/** The backend chosen by the last successful initBackend(). */
export function backendInfo(): BackendInfo {
  if (resolved == null) throw new BackendError('BACKEND_NOT_INITIALIZED', 'initBackend() has not completed');
  return { ...resolved, notes: [...resolved.notes] };
}
