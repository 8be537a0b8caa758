// `npm start` registers a synthetic "shapes" dataset once, so a first training run needs no files.
// It goes through the same path as `createDataset`: the row and its generation job in one transaction.
import { DatasetKind, type PrismaClient } from '../db/client.ts';
import type { JobQueue } from './queue.ts';

export const DEMO_DATASET = { name: 'shapes-demo', images: 4000, seed: 1 } as const;

/** Creates the demo dataset unless any dataset exists; returns it when created. */
export async function registerDemoDataset(
  prisma: PrismaClient,
  queue: Pick<JobQueue, 'enqueueDataset'>,
): Promise<{ id: string; name: string } | null> {
  return prisma.$transaction(async (tx) => {
    // serialise concurrent starts on one database
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('glimpse:demo-dataset'))`;
    if ((await tx.dataset.count()) > 0) return null;
    const dataset = await tx.dataset.create({
      data: {
        name: DEMO_DATASET.name,
        kind: DatasetKind.SYNTHETIC,
        syntheticImages: DEMO_DATASET.images,
        syntheticSeed: DEMO_DATASET.seed,
      },
    });
    await queue.enqueueDataset(tx, { datasetId: dataset.id, images: DEMO_DATASET.images });
    return { id: dataset.id, name: dataset.name };
  });
}
