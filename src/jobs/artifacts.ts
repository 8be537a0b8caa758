// What the jobs keep in the artifact store (src/storage) and how they get it back on any worker:
// checkpoints (src/jobs/checkpoints.ts: uploaded as train() writes them, the row and its blob committed in one
// transaction, older ones pruned), trained models, generated synthetic datasets. Each worker keeps
// unpacked copies in its cache (GLIMPSE_DATA_DIR/cache/<sha256>/, LRU, GLIMPSE_CACHE_MAX_BYTES);
// folders this worker just wrote are moved into that cache instead of being unpacked again.
// Rows from before the store (a `path`, no blobId) still work on the host that has those files.
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetKind, type Dataset, type Model, type PrismaClient, type TransactionClient } from '../db/client.ts';
import { SHAPES_ANNOTATIONS_FILE, SHAPES_IMAGES_DIR } from '../ml/data/shapes.ts';
import { ArtifactCache, commitBlob, deleteUnreferenced, discardBlob, putDir, type CachedDir, type PendingBlob } from '../storage/index.ts';
import { pathUnderRoots } from '../sources/roots.ts';
import { JobError, type JobHelpers } from './helpers.ts';

/**
 * A run's files that this worker cannot read (a COCO set on a volume it lacks, a path-only checkpoint
 * of another host): the run is handed to another worker (src/runs/finish.ts handBackUnreadable).
 */
export class NotOnThisWorkerError extends Error {
  readonly code = 'NOT_ON_THIS_WORKER';
  constructor(message: string) {
    super(message);
    this.name = 'NotOnThisWorkerError';
  }
}

const caches = new Map<string, ArtifactCache>();

/** this process's cache of unpacked blobs (one per cache folder, so pins are shared by all jobs) */
export function artifactCache({ config, prisma, log }: Pick<JobHelpers, 'config' | 'prisma' | 'log'>): ArtifactCache {
  let cache = caches.get(config.paths.cache);
  if (!cache) {
    cache = new ArtifactCache(prisma, config.paths.cache, config.cacheMaxBytes, log);
    caches.set(config.paths.cache, cache);
    void cache.clean();
  }
  cache.db = prisma;
  return cache;
}

/** hits and misses of this process's caches so far (src/jobs/metrics.ts) */
export function artifactCacheCounts(): { hits: number; misses: number } {
  let hits = 0;
  let misses = 0;
  for (const cache of caches.values()) {
    hits += cache.counts.hits;
    misses += cache.counts.misses;
  }
  return { hits, misses };
}

/** a folder that stays where it is (a row from before the store) */
export const inPlace = (dir: string): CachedDir => ({ dir, release: () => undefined });

/** Moves a folder this worker wrote, and just stored as blob `id`, into the cache (its content is that blob's). */
export async function adoptIntoCache(cache: ArtifactCache, id: string, dir: string): Promise<void> {
  await mkdir(cache.root, { recursive: true });
  const target = join(cache.root, id);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    await rm(dir, { recursive: true, force: true });
  else await rename(dir, target).catch(() => rm(dir, { recursive: true, force: true }));
  await cache.evict();
}

// ---- datasets ----

export async function readable(path: string): Promise<boolean> {
  return access(path, constants.R_OK).then(
    () => true,
    () => false,
  );
}

export interface DatasetFiles extends CachedDir {
  annotationsPath: string;
  imagesDir: string;
}

/** A READY dataset's files on this worker: a stored set from the cache, a COCO set at its (shared) paths. */
export async function openDataset(helpers: JobHelpers, dataset: Dataset): Promise<DatasetFiles> {
  if (dataset.blobId) {
    const folder = await artifactCache(helpers).open(dataset.blobId);
    return { ...folder, annotationsPath: join(folder.dir, SHAPES_ANNOTATIONS_FILE), imagesDir: join(folder.dir, SHAPES_IMAGES_DIR) };
  }
  if (!dataset.annotationsPath || !dataset.imagesDir) throw new JobError('DATASET_NOT_READY', `dataset ${dataset.id} has no files`);
  if (!(await readable(dataset.annotationsPath)) || !(await readable(dataset.imagesDir))) {
    throw new NotOnThisWorkerError(
      `this worker cannot read the files of dataset ${dataset.id} (a path every worker must reach: a shared volume)`,
    );
  }
  if (dataset.kind === DatasetKind.COCO) {
    // checked again before reading: the files (or a symlink on the way) may have changed since createDataset
    const roots = helpers.config.datasetRoots;
    const [annotationsPath, imagesDir] = [
      await pathUnderRoots(dataset.annotationsPath, roots),
      await pathUnderRoots(dataset.imagesDir, roots),
    ];
    return { ...inPlace(imagesDir), annotationsPath, imagesDir };
  }
  return { ...inPlace(dataset.imagesDir), annotationsPath: dataset.annotationsPath, imagesDir: dataset.imagesDir };
}

/**
 * Stores a generated synthetic set (its folder) and marks the row READY with `data` in one
 * transaction, only while it is still PENDING. Returns false when the row was gone (deleted).
 */
export async function publishSyntheticSet(
  helpers: JobHelpers,
  datasetId: string,
  folder: string,
  data: Record<string, unknown>,
): Promise<boolean> {
  const { prisma } = helpers;
  const pending = await putDir(prisma, folder);
  let updated = 0;
  try {
    await prisma.$transaction(async (tx) => {
      const blobId = await commitBlob(tx, pending);
      ({ count: updated } = await tx.dataset.updateMany({
        where: { id: datasetId, status: 'PENDING' },
        data: { ...data, blobId, annotationsPath: null, imagesDir: null },
      }));
      if (updated === 0) await deleteUnreferenced(tx, [blobId]);
    });
  } catch (error) {
    await discardBlob(prisma, pending);
    throw error;
  }
  if (updated === 1)
    await adoptIntoCache(artifactCache(helpers), pending.id, folder).catch((e: unknown) =>
      helpers.log.error('dataset folder into the cache', e),
    );
  return updated === 1;
}

// ---- models ----

export function uploadModel(prisma: PrismaClient, dir: string): Promise<PendingBlob> {
  return putDir(prisma, dir);
}

/** The name a run's model is registered under when startTraining named none. */
export function defaultModelName(datasetName: string, runId: string): string {
  return `${datasetName}, run ${runId.slice(0, 8)}`.slice(0, 100);
}

/**
 * In the caller's transaction: the model's blob (and its backbone's, for a pretrained encoder), then the run's
 * Model row on them (replaced blobs collected). Returns the model blob's id.
 */
export async function recordModel(
  tx: TransactionClient,
  runId: string,
  pending: PendingBlob,
  fields: { name: string; vocabSize: number; config: object; metrics: object },
  backbone: PendingBlob | null = null,
): Promise<string> {
  const blobId = await commitBlob(tx, pending);
  const backboneBlobId = backbone ? await commitBlob(tx, backbone) : null;
  const before = await tx.model.findUnique({ where: { runId }, select: { blobId: true, backboneBlobId: true } });
  // the model belongs to the key that started its run
  const run = await tx.trainingRun.findUnique({ where: { id: runId }, select: { createdByKey: true } });
  const { name, ...rest } = fields;
  await tx.model.upsert({
    where: { runId },
    create: { name, runId, blobId, backboneBlobId, createdByKey: run?.createdByKey ?? null, ...rest },
    update: { blobId, backboneBlobId, path: null, ...rest },
  });
  await deleteUnreferenced(
    tx,
    [before?.blobId, before?.backboneBlobId].filter((id) => id && id !== blobId && id !== backboneBlobId),
  );
  return blobId;
}

/** The folder of a Model on this worker (from its blob, or its path for a model from before the store). */
export async function openModel(helpers: JobHelpers, model: Model): Promise<CachedDir> {
  if (model.blobId) return artifactCache(helpers).open(model.blobId);
  if (model.path && (await readable(model.path))) return inPlace(model.path);
  throw new JobError('MODEL_MISSING', `model ${model.id} is a folder on another host (saved before the artifact store)`);
}

/** after the Model row committed: the model folder becomes a cache entry, the run's local checkpoint folder goes */
export async function modelStored(helpers: JobHelpers, pending: PendingBlob, modelDir: string, checkpointDir: string): Promise<void> {
  await adoptIntoCache(artifactCache(helpers), pending.id, modelDir).catch((e: unknown) =>
    helpers.log.error('model folder into the cache', e),
  );
  await rm(checkpointDir, { recursive: true, force: true }).catch(() => undefined);
}
