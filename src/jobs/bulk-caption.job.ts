// The `bulk-caption` job: every image of a READY dataset captioned with one model, in the dataset's image
// order, `GLIMPSE_CAPTION_BATCH_SIZE` images per batched decode (the decoder that serves caption requests).
// Each batch's results are stored with the progress in one transaction (./bulk-caption-writes.ts), so a
// job taken up again (after its time slice, a graceful shutdown, a pause, or by pg-boss's retry once a dead
// worker's job expired) continues after the last stored image. A job works at most BULK_SLICE_SECONDS and
// then queues its next slice: jobs of a higher priority, and a pause, take effect between slices.
// Attention weights are not stored for bulk results (a caption request keeps them, per token).
import { relative } from 'node:path';
import { BulkCaptionStatus, type BulkCaptionJob, type Dataset, type Model } from '../db/client.ts';
import { ImageError, loadCocoCaptions, type CaptionedImage, type Captioner, type DecodeOptions } from '../ml/index.ts';
import { pausedQueues } from '../queue/pause.ts';
import type { JobData } from '../queue/queue.ts';
import { openDataset, openModel } from './artifacts.ts';
import {
  cancelRequested,
  endJob,
  handBack,
  LIVE_BULK_STATUSES,
  startSlice,
  storeBatch,
  type BulkHelpers,
  type BulkResultRow,
} from './bulk-caption-writes.ts';
import { METHODS, type CaptionHelpers } from './caption.job.ts';
import { errorMessage } from './helpers.ts';

/** the longest a job works before it queues its next slice (s); the queue's expiry is 3× this (src/queue/queue.ts) */
export const BULK_SLICE_SECONDS = 300;

/** a caption job's helpers (the loaded captioners) and a queue for the next slice */
export type BulkCaptionHelpers = CaptionHelpers & BulkHelpers;

type Loaded = BulkCaptionJob & { model: Model; dataset: Dataset };

function decodeOptions(job: BulkCaptionJob): DecodeOptions {
  return { method: METHODS[job.method], beamWidth: job.beamWidth, ...(job.maxLength !== null ? { maxLength: job.maxLength } : {}) };
}

export async function bulkCaptionJob(data: JobData['bulk-caption'], helpers: BulkCaptionHelpers): Promise<void> {
  const { prisma, log } = helpers;
  const job = await prisma.bulkCaptionJob.findUnique({ where: { id: data.jobId }, include: { model: true, dataset: true } });
  // a stale job (cancelled, ended, deleted, or a second job of a slice already taken): nothing to do
  if (job === null || !LIVE_BULK_STATUSES.includes(job.status)) return;
  if (job.cancelRequested) return endJob(prisma, job.id, BulkCaptionStatus.CANCELLED);
  let captioner: Captioner;
  let files: Awaited<ReturnType<typeof openDataset>>;
  try {
    captioner = await helpers.captioners.get(job.model.id, () => openModel(helpers, job.model));
    files = await openDataset(helpers, job.dataset);
  } catch (error) {
    log.error(`bulk caption ${job.id}: model or dataset could not be opened`, error);
    return endJob(prisma, job.id, BulkCaptionStatus.FAILED, errorMessage(error));
  }
  try {
    const images = await loadCocoCaptions({
      annotationsPath: files.annotationsPath,
      imagesDir: files.imagesDir,
      ...(job.dataset.maxCaptions ? { maxCaptions: job.dataset.maxCaptions } : {}),
      checkFiles: false,
    });
    await captionImages(job, images, files.imagesDir, captioner, helpers);
  } catch (error) {
    helpers.runtime?.failed(error);
    log.error(`bulk caption ${job.id}: FAILED`, error);
    await endJob(prisma, job.id, BulkCaptionStatus.FAILED, errorMessage(error));
  } finally {
    files.release();
  }
}

async function captionImages(job: Loaded, images: CaptionedImage[], imagesDir: string, captioner: Captioner, helpers: BulkCaptionHelpers) {
  const { prisma, config, log } = helpers;
  const batchSize = config.captionBatchSize;
  const sliceEnds = Date.now() + BULK_SLICE_SECONDS * 1000;
  let next = await startSlice(prisma, job.id, images.length, helpers.workerId);
  const started = { at: performance.now(), from: next };
  while (next < images.length) {
    if (await cancelRequested(prisma, job.id)) return endJob(prisma, job.id, BulkCaptionStatus.CANCELLED);
    // shutdown, the slice's end, a pause: the stored results stay, the next job continues after them
    if (helpers.shutdown.aborted || Date.now() > sliceEnds || (await pausedQueues(prisma)).has('bulk-caption')) {
      log.info(`bulk caption ${job.id}: ${next} of ${images.length} done, queued for its next slice`);
      return handBack(helpers, job.id);
    }
    helpers.runtime?.beforeWork();
    const batch = images.slice(next, next + batchSize);
    const rows = await decodeBatch(batch, next, imagesDir, captioner, decodeOptions(job));
    await storeBatch(prisma, job.id, rows);
    helpers.metrics?.batch(batch.length);
    next += batch.length;
  }
  await endJob(prisma, job.id, BulkCaptionStatus.SUCCEEDED);
  const seconds = (performance.now() - started.at) / 1000;
  log.info(`bulk caption ${job.id}: SUCCEEDED, ${next - started.from} images in ${seconds.toFixed(1)} s`);
}

/** one batched decode; when an image is unreadable, each image alone (the unreadable ones get an error row) */
async function decodeBatch(
  batch: CaptionedImage[],
  first: number,
  imagesDir: string,
  captioner: Captioner,
  options: DecodeOptions,
): Promise<BulkResultRow[]> {
  const row = (image: CaptionedImage, i: number) => ({
    index: first + i,
    imageId: image.id,
    fileName: relative(imagesDir, image.file),
  });
  try {
    const results = await captioner.captionBatch(
      batch.map((image) => image.file),
      options,
    );
    return batch.map((image, i) => ({ ...row(image, i), caption: results[i]!.caption, logProb: results[i]!.logProb, error: null }));
  } catch (error) {
    if (!(error instanceof ImageError)) throw error;
  }
  const rows: BulkResultRow[] = [];
  for (const [i, image] of batch.entries()) {
    try {
      const [result] = await captioner.captionBatch([image.file], options);
      rows.push({ ...row(image, i), caption: result!.caption, logProb: result!.logProb, error: null });
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      rows.push({ ...row(image, i), caption: null, logProb: null, error: errorMessage(error) });
    }
  }
  return rows;
}
