// Multi-threaded XNNPACK for tfjs-backend-wasm in Node. tfjs hard-codes the flag off in Node
// (tfjs issue 3830): its pthread workers are created from Blob URLs, which Node's Worker cannot
// load, and the pool is capped at half the logical cores. While the backend initialises we
//  - answer `new Worker(blob:…)` with a Node worker that evaluates the blob's code (read
//    asynchronously; messages are queued meanwhile), and let the worker's `importScripts` of
//    the main-script Blob evaluate it from memory;
//  - report 2·threads cores to emscripten (whose pool takes half the cores) so it gets `threads`.
// The worker code refers to module-level names of the 4.22.0 node bundle, so only that version
// is accepted. Workers are unref'd so they never keep the process alive.
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { resolveObjectURL } from 'node:buffer';
import os from 'node:os';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';

export const SUPPORTED_WASM_VERSION = '4.22.0';
/** emscripten pre-allocates 8 pthread workers; more threads would need workers after init. */
export const MAX_WASM_THREADS = 8;

// Runs inside each pthread worker (CommonJS eval). Names required by the bundle's factory
// source (require$$0 …, commonjsGlobal, _scriptDir) are the node bundle's own module variables.
const WORKER_BOOTSTRAP = `
const { parentPort, workerData } = require('worker_threads');
const scripts = new Map();
let queue = Promise.resolve();
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) => event !== 'message' ? on(event, listener) : on('message', (data) => {
  queue = queue.then(async () => {
    if (data && data.cmd === 'load' && data.urlOrBlob && typeof data.urlOrBlob !== 'string') {
      const key = 'glimpse-inline-script:' + scripts.size;
      scripts.set(key, await data.urlOrBlob.text());
      data.urlOrBlob = key;
    }
    listener(data);
  });
});
Object.assign(globalThis, {
  require$$0: require('fs'), require$$1: require('path'), require$$3: require('perf_hooks'), require$$4: require('os'),
  commonjsGlobal: globalThis, _scriptDir: __filename,
});
workerData.code.text().then((code) => {
  (0, eval)(code);
  const importFile = globalThis.importScripts;
  globalThis.importScripts = (name) => (scripts.has(name) ? (0, eval)(scripts.get(name)) : importFile(name));
});
`;

class BlobCapableWorker extends NodeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    const href = String(url);
    const blob = href.startsWith('blob:') ? resolveObjectURL(href) : undefined;
    if (blob != null) super(WORKER_BOOTSTRAP, { eval: true, workerData: { code: blob } });
    else super(url, options);
    this.unref();
  }

  /** emscripten refs a worker while it runs a pthread; the pool's threads live forever. */
  override ref(): void {}
}

export class WasmThreadsError extends Error {
  readonly code = 'WASM_THREADS_UNAVAILABLE';
}

/** Why threads cannot be used here, or null. */
export function wasmThreadsUnsupported(): string | null {
  if (version_wasm !== SUPPORTED_WASM_VERSION)
    return `tfjs-backend-wasm ${version_wasm} (threads verified with ${SUPPORTED_WASM_VERSION} only)`;
  if (typeof SharedArrayBuffer === 'undefined') return 'no SharedArrayBuffer';
  if (typeof resolveObjectURL !== 'function') return 'Node lacks buffer.resolveObjectURL';
  return null;
}

/**
 * Runs `init` (which must initialise the wasm backend) with the threaded SIMD build and a pool
 * of `threads` threads. Restores the global Worker and os.cpus afterwards.
 */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const why = wasmThreadsUnsupported();
  if (why != null) throw new WasmThreadsError(why);
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new WasmThreadsError(`threads must be an integer in 2..${MAX_WASM_THREADS} (got ${threads})`);
  }
  const previousWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const cpus = os.cpus;
  // emscripten assigns global.Worker = worker_threads.Worker; keep answering with ours
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => BlobCapableWorker, set: () => {} });
  const real = cpus();
  (os as { cpus: typeof os.cpus }).cpus = () => Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  try {
    return await init();
  } finally {
    (os as { cpus: typeof os.cpus }).cpus = cpus;
    if (previousWorker) Object.defineProperty(globalThis, 'Worker', previousWorker);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
}
