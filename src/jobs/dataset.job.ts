// The `dataset` job: generates a synthetic shapes set under paths.datasets/<id>, or checks a COCO
// set (annotations parse, every listed image exists), then READY with its counts, or FAILED.
// While a synthetic set is generated, its imageCount tells how many images are written so far
// (updated at most once per progressIntervalMs), so clients can show progress on a PENDING set.
import { join } from 'node:path';
import { DatasetKind, DatasetStatus } from '../db/client.ts';
import { generateShapes, loadCocoCaptions } from '../ml/index.ts';
import { errorMessage, type JobHelpers } from './helpers.ts';
import type { JobData } from './queue.ts';

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

export async function datasetJob({ datasetId }: JobData['dataset'], helpers: JobHelpers, options: DatasetJobOptions = {}): Promise<void> {
  const { prisma, config, log } = helpers;
  const interval = options.progressIntervalMs ?? 1000;
  const dataset = await prisma.dataset.findUnique({ where: { id: datasetId } });
  if (dataset === null || dataset.status !== DatasetStatus.PENDING) return;
  try {
    let indexed: Indexed;
    if (dataset.kind === DatasetKind.SYNTHETIC) {
      // progress writes run one after another, and all are done before the final update
      let writes = Promise.resolve();
      let lastWrite = -Infinity;
      const onProgress = (done: number, total: number) => {
        if (done === total || performance.now() - lastWrite < interval) return;
        lastWrite = performance.now();
        writes = writes
          .then(() => prisma.dataset.updateMany({ where: { id: datasetId, status: DatasetStatus.PENDING }, data: { imageCount: done } }))
          .then(
            () => undefined,
            (error: unknown) => log.error(`dataset ${datasetId}: progress`, error),
          );
      };
      try {
        indexed = await generateShapes({
          outDir: join(config.paths.datasets, dataset.id),
          images: dataset.syntheticImages ?? 0,
          seed: dataset.syntheticSeed ?? 1,
          onProgress,
        });
      } finally {
        await writes;
      }
    } else {
      const images = await loadCocoCaptions({
        annotationsPath: dataset.annotationsPath ?? '',
        imagesDir: dataset.imagesDir ?? '',
        ...(dataset.maxCaptions ? { maxCaptions: dataset.maxCaptions } : {}),
      });
      indexed = {
        annotationsPath: dataset.annotationsPath!,
        imagesDir: dataset.imagesDir!,
        imageCount: images.length,
        captionCount: images.reduce((n, img) => n + img.captions.length, 0),
      };
    }
    await prisma.dataset.update({ where: { id: datasetId }, data: { status: DatasetStatus.READY, error: null, ...indexed } });
    log.info(`dataset ${datasetId}: READY, ${indexed.imageCount} images, ${indexed.captionCount} captions`);
  } catch (error) {
    await prisma.dataset.update({ where: { id: datasetId }, data: { status: DatasetStatus.FAILED, error: errorMessage(error) } });
    log.error(`dataset ${datasetId}: FAILED`, error);
  }
}
