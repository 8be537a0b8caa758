// The `dataset` job: generates a synthetic shapes set under paths.datasets/<id>, or checks a COCO
// set (annotations parse, every listed image exists), then READY with its counts, or FAILED.
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

export async function datasetJob({ datasetId }: JobData['dataset'], helpers: JobHelpers): Promise<void> {
  const { prisma, config, log } = helpers;
  const dataset = await prisma.dataset.findUnique({ where: { id: datasetId } });
  if (dataset === null || dataset.status !== DatasetStatus.PENDING) return;
  try {
    let indexed: Indexed;
    if (dataset.kind === DatasetKind.SYNTHETIC) {
      indexed = await generateShapes({
        outDir: join(config.paths.datasets, dataset.id),
        images: dataset.syntheticImages ?? 0,
        seed: dataset.syntheticSeed ?? 1,
      });
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
