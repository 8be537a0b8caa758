// The `dataset` job: generates a synthetic shapes set under paths.datasets/<id>, or checks a COCO
// set (its paths still under the dataset roots, annotations parse, every listed image exists), or
// indexes an uploaded set (checked by the API and stored as a blob: materialised from the store into
// this worker's cache, src/jobs/artifacts.ts), then READY with its counts and statistics, or FAILED. While a synthetic set is generated, its imageCount tells how many
// images are written so far (updated at most once per progressIntervalMs), so clients can show
// progress on a PENDING set; a progress write that finds the row gone (deleteDataset on a PENDING
// set) stops the generation and removes what was written.
// Dataset.error is readable by anyone: it holds a generic reason (no path, no file contents:
// src/jobs/public-error.ts); the worker log gets the whole error.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetKind, DatasetStatus } from '../db/client.ts';
import { captionStats, generateShapes, imageInfo, loadCocoCaptions, type CaptionedImage } from '../ml/index.ts';
import { pathUnderRoots } from '../sources/roots.ts';
import { openDataset, publishSyntheticSet, type DatasetFiles } from './artifacts.ts';
import { errorMessage, type JobHelpers } from './helpers.ts';
import type { JobData } from '../queue/queue.ts';

interface Indexed {
  annotationsPath: string;
  imagesDir: string;
  imageCount: number;
  captionCount: number;
}

export interface DatasetJobOptions {
  /** least time between two progress writes, default 1000 ms */
  progressIntervalMs?: number;
}

/** The smallest side of up to 32 images spread over the set (headers only): what the CNN's input size may reach without upsampling. */
async function smallestSide(images: readonly CaptionedImage[]): Promise<number | null> {
  const files = [...new Set(images.map((img) => img.file))];
  const step = Math.max(1, Math.floor(files.length / 32));
  let side: number | null = null;
  for (let i = 0; i < files.length; i += step) {
    const info = await imageInfo(files[i]!).catch(() => null);
    if (info) side = Math.min(side ?? Infinity, info.width, info.height);
  }
  return side;
}

export async function datasetJob({ datasetId }: JobData['dataset'], helpers: JobHelpers, options: DatasetJobOptions = {}): Promise<void> {
  const { prisma, config, log } = helpers;
  const interval = options.progressIntervalMs ?? 1000;
  const dataset = await prisma.dataset.findUnique({ where: { id: datasetId } });
  if (dataset === null || dataset.status !== DatasetStatus.PENDING) return;
  const folder = join(config.paths.datasets, dataset.id);
  const synthetic = dataset.kind === DatasetKind.SYNTHETIC;
  /** aborted when a progress write finds the row no longer PENDING (deleted) */
  const gone = new AbortController();
  const discard = async (when: string) => {
    if (synthetic) await rm(folder, { recursive: true, force: true });
    log.info(`dataset ${datasetId}: deleted ${when}; ${synthetic ? 'generation stopped, its files removed' : 'indexing dropped'}`);
  };
  /** an uploaded set's folder in this worker's cache, pinned while it is read */
  let stored: DatasetFiles | undefined;
  try {
    let indexed: Indexed;
    let images: CaptionedImage[] | undefined;
    if (dataset.blobId) {
      stored = await openDataset(helpers, dataset);
      images = await loadCocoCaptions({ annotationsPath: stored.annotationsPath, imagesDir: stored.imagesDir });
      indexed = {
        annotationsPath: stored.annotationsPath,
        imagesDir: stored.imagesDir,
        imageCount: images.length,
        captionCount: images.reduce((n, img) => n + img.captions.length, 0),
      };
    } else if (synthetic) {
      // progress writes run one after another, and all are done before the final update
      let writes = Promise.resolve();
      let lastWrite = -Infinity;
      const onProgress = (done: number, total: number) => {
        if (done === total || performance.now() - lastWrite < interval || gone.signal.aborted) return;
        lastWrite = performance.now();
        writes = writes
          .then(() => prisma.dataset.updateMany({ where: { id: datasetId, status: DatasetStatus.PENDING }, data: { imageCount: done } }))
          .then(
            ({ count }) => {
              if (count === 0) gone.abort();
            },
            (error: unknown) => log.error(`dataset ${datasetId}: progress`, error),
          );
      };
      try {
        indexed = await generateShapes({
          outDir: folder,
          images: dataset.syntheticImages ?? 0,
          seed: dataset.syntheticSeed ?? 1,
          onProgress,
          signal: gone.signal,
        });
      } finally {
        await writes;
      }
    } else {
      // checked again here: the files (or a symlink on the way) may have changed since createDataset
      const annotationsPath = await pathUnderRoots(dataset.annotationsPath ?? '', config.datasetRoots);
      const imagesDir = await pathUnderRoots(dataset.imagesDir ?? '', config.datasetRoots);
      images = await loadCocoCaptions({
        annotationsPath,
        imagesDir,
        ...(dataset.maxCaptions ? { maxCaptions: dataset.maxCaptions } : {}),
      });
      indexed = {
        annotationsPath: dataset.annotationsPath!,
        imagesDir: dataset.imagesDir!,
        imageCount: images.length,
        captionCount: images.reduce((n, img) => n + img.captions.length, 0),
      };
    }
    // what runs on the set can need (training admission): distinct words and the longest caption; a COCO set's
    // captions were read above, a generated set's are read once here
    images ??= await loadCocoCaptions({ annotationsPath: indexed.annotationsPath, imagesDir: indexed.imagesDir });
    const stats = captionStats(images.flatMap((img) => img.captions));
    const imageSide = await smallestSide(images);
    const ready = {
      status: DatasetStatus.READY,
      error: null,
      ...indexed,
      // a stored set has no paths: every worker reads it from its own cache
      ...(stored ? { annotationsPath: null, imagesDir: null } : {}),
      maxCaptionTokens: stats.maxTokens,
      vocabularyWords: stats.words,
      imageSide,
    };
    // a generated set goes to the artifact store with the READY update (any worker can train on it,
    // src/jobs/artifacts.ts); a COCO set stays at its paths, which every worker must reach
    const count = synthetic
      ? Number(await publishSyntheticSet(helpers, datasetId, folder, ready))
      : (await prisma.dataset.updateMany({ where: { id: datasetId, status: DatasetStatus.PENDING }, data: ready })).count;
    if (count === 0) return await discard('before it was READY');
    log.info(`dataset ${datasetId}: READY, ${indexed.imageCount} images, ${indexed.captionCount} captions`);
  } catch (error) {
    if (gone.signal.aborted) return await discard('while PENDING');
    log.error(`dataset ${datasetId}: FAILED`, error);
    const { count } = await prisma.dataset.updateMany({
      where: { id: datasetId, status: DatasetStatus.PENDING },
      data: { status: DatasetStatus.FAILED, error: errorMessage(error) },
    });
    if (count === 0) await discard('while PENDING');
  } finally {
    stored?.release();
  }
}
