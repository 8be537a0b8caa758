// Memory given back when a training run ends. Its decoded images (train()'s input caches, up to 1.25 GiB
// of array buffers) and its captions are unreachable once the job returns, but V8 frees them only at its
// next full collection, which an idle worker may not reach for hours (a probe held 1.87 GB after a COCO
// run). The job ends by scheduling full collections (~0.1 s each) for just after it has returned: run in
// the same turn, the job's own frames and pending promise reactions still hold them. `gc` is exposed the
// way jest's leak detector does it, so it works however the worker was started (tsx, node dist/, a
// supervisor's child).
// The wasm heap is not in this: WebAssembly memory grows and never shrinks (see docs/operations.md).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** how long after the first full collection the second runs (ms) */
const SECOND_COLLECTION_MS = 250;

/**
 * Full garbage collections in later turns of the event loop: one at once, and one SECOND_COLLECTION_MS later for
 * what the first still found held (promise reactions and timers of the job's last turns settle in between: one
 * collection alone left the cache in place now and then). Resolves once both have run.
 */
export function collectGarbageSoon(): Promise<void> {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  const collect = gc;
  return new Promise((resolve) =>
    setTimeout(() => {
      collect();
      setTimeout(() => resolve(collect()), SECOND_COLLECTION_MS);
    }, 0),
  );
}
