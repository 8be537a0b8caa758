// The caption worker's handler: it decodes the batch it was given, and the moment the decoder is free it fetches
// whatever queued meanwhile (up to the batch size) and decodes that, while the previous batch's results are still
// being written. A worker that waited for its handler to return (results written, jobs completed) before its next
// fetch left the decoder idle for those statements between every two batches (issue 19: under 500 concurrent
// requests that idle time, not the decoding, was what kept captions/s under the batched decode rate).
// Every batch's jobs are completed once its results are written, or failed (pg-boss retries them) when even
// recording the failure failed; the handler keeps going for at most CAPTION_LOOP_MS, far below the caption jobs'
// 120 s expiry, and stops fetching as soon as its queue's work is stopped (pause, shutdown).
import type { Job, WorkContext } from '../queue/queue.ts';
import { type CaptionHelpers, decodeCaptions } from './caption.job.ts';

/** how long one handler call keeps fetching further batches before it returns to pg-boss's loop */
export const CAPTION_LOOP_MS = 30_000;

export async function captionLoop(
  jobs: Job<'caption'>[],
  context: WorkContext<Job<'caption'>>,
  helpers: CaptionHelpers,
  batchSize: number,
): Promise<void> {
  const settling: Promise<void>[] = [];
  const until = performance.now() + CAPTION_LOOP_MS;
  let batch = jobs;
  while (batch.length > 0) {
    const ids = batch.map((j) => j.id);
    try {
      const { stored } = await decodeCaptions(
        batch.map((j) => j.data),
        helpers,
      );
      settling.push(
        stored.then(
          () => context.complete(ids),
          (error: unknown) => context.fail(ids, error),
        ),
      );
    } catch (error) {
      // the batch could not even be read or marked (the database): its jobs are retried, this handler stops
      helpers.log.error(`caption batch of ${ids.length} not decoded, its jobs will be retried`, error);
      settling.push(context.fail(ids, error));
      break;
    }
    if (performance.now() > until) break;
    batch = await context.more(batchSize).catch(() => []);
  }
  // every batch settled before returning: pg-boss's own completion of the first batch is then a no-op
  const outcomes = await Promise.allSettled(settling);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason; // a job left active is retried after its expiry
}
