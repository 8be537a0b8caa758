// A small worker_threads pool that reads and decodes uploaded images with sharp, off the API's event loop
// (issue 20, finding 2: the checks of one upload's images took 99.8 s in the API process). `threads`
// caps how many images are read or decoded at once across every upload of the process (libvips decodes
// one image on one core here: sharp's default concurrency on glibc without jemalloc is 1), so the rest
// of the machine stays with the API's other clients; tasks wait in one FIFO queue.
//
// A task can be abandoned (its AbortSignal): a queued one is dropped, a running one is answered at once
// with the abort reason while its thread finishes the image in the background (native work cannot be
// interrupted; its size is bounded by the caller's per-image budget) before taking the next task.
// Threads start on first use and are unref'd: they never keep the process alive; close() ends them.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
// loaded by the main thread before any worker: sharp's native library then stays loaded when a worker exits
import 'sharp';

export interface ImageHeader {
  /** sharp's format name: jpeg, png, … */
  format: string;
  width: number;
  height: number;
  /** channels of the decoded image (a palette PNG counts its RGB(A) channels) */
  channels: number;
  /** bits of one channel of one pixel: 8, 16, … */
  bitsPerSample: number;
}

export interface ImageCheckPool {
  /** the image's header (nothing decoded), or null when sharp cannot read one */
  header(path: string, signal: AbortSignal): Promise<ImageHeader | null>;
  /** a full decode, refusing more than `maxPixels`; false when the image does not decode */
  decodes(path: string, maxPixels: number, signal: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

// The thread's code, evaluated as CommonJS (a string, not a module file: it runs the same under tsx, vitest
// and a bundled build). sharp's `depth` names the sample type when `bitsPerSample` is absent.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sharp = require(workerData.sharp);
// each image is read once: libvips' operation cache would only hold memory
sharp.cache(false);
const DEPTH_BITS = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, complex: 64, double: 64, dpcomplex: 128 };
parentPort.on('message', async (task) => {
  try {
    if (task.kind === 'header') {
      const m = await sharp(task.path, { limitInputPixels: false }).metadata().catch(() => null);
      const value = m === null ? null : {
        format: String(m.format), width: m.width || 0, height: m.height || 0, channels: m.channels || 0,
        bitsPerSample: m.bitsPerSample || DEPTH_BITS[m.depth] || 8,
      };
      parentPort.postMessage({ id: task.id, value });
    } else {
      const ok = await sharp(task.path, { limitInputPixels: task.maxPixels, failOn: 'error', sequentialRead: true })
        .stats().then(() => true, () => false);
      parentPort.postMessage({ id: task.id, value: ok });
    }
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String(error && error.message || error) });
  }
});
`;

type TaskBody = { kind: 'header'; path: string } | { kind: 'decode'; path: string; maxPixels: number };
type Task = TaskBody & { id: number };

interface Pending {
  task: Task;
  signal: AbortSignal;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** drops the task from the queue (if still there) and rejects with the signal's reason */
  onAbort(): void;
}

interface Thread {
  worker: Worker;
  /** the task it is working on (answered or not), undefined when idle */
  running?: Pending;
}

export function createImageCheckPool(threads: number): ImageCheckPool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const sharpPath = createRequire(import.meta.url).resolve('sharp');
  const queue: Pending[] = [];
  const pool: Thread[] = [];
  let nextId = 0;
  let closed = false;

  const settle = (pending: Pending, outcome: { value?: unknown; error?: unknown }) => {
    pending.signal.removeEventListener('abort', pending.onAbort);
    if ('error' in outcome) pending.reject(outcome.error);
    else pending.resolve(outcome.value);
  };

  function startThread(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { sharp: sharpPath } });
    worker.unref();
    const thread: Thread = { worker };
    worker.on('message', (message: { id: number; value?: unknown; error?: string }) => {
      const pending = thread.running;
      thread.running = undefined;
      if (pending && pending.task.id === message.id && !pending.signal.aborted) {
        settle(pending, message.error === undefined ? { value: message.value } : { error: new Error(message.error) });
      }
      dispatch();
    });
    // a thread that dies (out of memory, a crash) fails its task and is replaced on the next dispatch
    const lost = (error: unknown) => {
      pool.splice(pool.indexOf(thread), 1);
      const pending = thread.running;
      thread.running = undefined;
      if (pending && !pending.signal.aborted) settle(pending, { error });
      dispatch();
    };
    worker.once('error', lost);
    worker.once('exit', (code) => {
      if (pool.includes(thread)) lost(new Error(`image check thread exited with code ${code}`));
    });
    pool.push(thread);
    return thread;
  }

  function dispatch(): void {
    while (!closed && queue.length > 0) {
      const thread = pool.find((t) => t.running === undefined) ?? (pool.length < threads ? startThread() : undefined);
      if (!thread) return;
      const pending = queue.shift()!;
      thread.running = pending;
      thread.worker.postMessage(pending.task);
    }
  }

  function submit(task: TaskBody, signal: AbortSignal): Promise<unknown> {
    if (closed) return Promise.reject(new Error('the image check pool is closed'));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        task: { ...task, id: nextId++ },
        signal,
        resolve,
        reject,
        onAbort() {
          const queued = queue.indexOf(pending);
          if (queued !== -1) queue.splice(queued, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', pending.onAbort, { once: true });
      queue.push(pending);
      dispatch();
    });
  }

  return {
    header: (path, signal) => submit({ kind: 'header', path }, signal) as Promise<ImageHeader | null>,
    decodes: (path, maxPixels, signal) => submit({ kind: 'decode', path, maxPixels }, signal) as Promise<boolean>,
    async close() {
      closed = true;
      const error = new Error('the image check pool is closed');
      for (const pending of queue.splice(0)) settle(pending, { error });
      const threadsNow = pool.splice(0);
      for (const thread of threadsNow) if (thread.running) settle(thread.running, { error });
      await Promise.all(threadsNow.map((t) => t.worker.terminate()));
    },
  };
}
