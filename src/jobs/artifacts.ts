// What the jobs keep in the artifact store (src/storage) and how they get it back on any worker:
// checkpoints (uploaded as train() writes them, the Checkpoint row and its blob committed in one
// transaction, older ones pruned), trained models, generated synthetic datasets. Each worker keeps
// unpacked copies in its cache (GLIMPSE_DATA_DIR/cache/<sha256>/, LRU, GLIMPSE_CACHE_MAX_BYTES);
// folders this worker just wrote are moved into that cache instead of being unpacked again.
// Rows from before the store (a `path`, no blobId) still work on the host that has those files.
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, Dataset, Model, PrismaClient, TransactionClient } from '../db/client.ts';
import type { CheckpointEvent } from '../ml/index.ts';
import { SHAPES_ANNOTATIONS_FILE, SHAPES_IMAGES_DIR } from '../ml/data/shapes.ts';
import { ArtifactCache, commitBlob, deleteUnreferenced, discardBlob, putDir, type CachedDir, type PendingBlob } from '../storage/index.ts';
import { JobError, type JobHelpers } from './helpers.ts';

/** checkpoints kept per run: the latest KEEP_CHECKPOINTS (the previous one is the fallback when the latest is unreadable) */
export const KEEP_CHECKPOINTS = 2;
// (plus the best epoch's, by validation loss: see recordCheckpoint)

/** A run's files that this worker cannot read (a COCO set on a volume it lacks, a path-only checkpoint of another host). */
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

/** a folder that stays where it is (a row from before the store) */
const inPlace = (dir: string): CachedDir => ({ dir, release: () => undefined });

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

// ---- checkpoints ----

export interface UploadedCheckpoint {
  event: CheckpointEvent;
  pending: PendingBlob;
}

export async function uploadCheckpoint(prisma: PrismaClient, event: CheckpointEvent): Promise<UploadedCheckpoint> {
  return { event, pending: await putDir(prisma, event.path) };
}

/**
 * In the caller's transaction: the checkpoint's blob and row (visible together), then the run's
 * checkpoints beyond the latest KEEP_CHECKPOINTS deleted with their now unreferenced blobs.
 */
export async function recordCheckpoint(tx: TransactionClient, runId: string, { event, pending }: UploadedCheckpoint): Promise<void> {
  const blobId = await commitBlob(tx, pending);
  const before = await tx.checkpoint.findUnique({ where: { runId_step: { runId, step: event.step } }, select: { blobId: true } });
  await tx.checkpoint.upsert({
    where: { runId_step: { runId, step: event.step } },
    create: { runId, step: event.step, epoch: event.epoch, blobId },
    update: { epoch: event.epoch, blobId, path: null },
  });
  // the best epoch's checkpoint (lowest validation loss) stays too: the run's model may come from it after a resume
  const best = await bestEpochStep(tx, runId);
  const old = (
    await tx.checkpoint.findMany({
      where: { runId },
      orderBy: { step: 'desc' },
      skip: KEEP_CHECKPOINTS,
      select: { id: true, blobId: true, step: true },
    })
  ).filter((c) => c.step !== best);
  if (old.length > 0) await tx.checkpoint.deleteMany({ where: { id: { in: old.map((c) => c.id) } } });
  await deleteUnreferenced(
    tx,
    [before?.blobId, ...old.map((c) => c.blobId)].filter((id) => id !== blobId),
  );
}

/** The step of the run's epoch with the lowest validation loss (its epoch-end checkpoint), or null. */
export async function bestEpochStep(tx: TransactionClient | PrismaClient, runId: string): Promise<number | null> {
  const best = await tx.epochSummary.findFirst({
    where: { runId, valLoss: { not: null } },
    orderBy: [{ valLoss: 'asc' }, { epoch: 'asc' }],
  });
  return best?.step ?? null;
}

/**
 * A checkpoint that is not an epoch end: its blob and row in a transaction of its own (`transaction`,
 * e.g. prisma.$transaction with options), then its folder into the cache. The upload is dropped when
 * the transaction fails.
 */
export async function storeCheckpoint(
  helpers: JobHelpers,
  runId: string,
  uploaded: UploadedCheckpoint,
  transaction: (fn: (tx: TransactionClient) => Promise<void>) => Promise<unknown>,
): Promise<void> {
  try {
    await transaction((tx) => recordCheckpoint(tx, runId, uploaded));
  } catch (error) {
    await discardBlob(helpers.prisma, uploaded.pending);
    throw error;
  }
  await checkpointStored(helpers, uploaded);
}

/** after the row committed: the local folder becomes a cache entry */
export function checkpointStored(helpers: JobHelpers, { event, pending }: UploadedCheckpoint): Promise<void> {
  return adoptIntoCache(artifactCache(helpers), pending.id, event.path).catch((e: unknown) =>
    helpers.log.error('checkpoint folder into the cache', e),
  );
}

/** The folder of a Checkpoint row on this worker (materialised from its blob; pinned until release()). */
export async function openCheckpoint(helpers: JobHelpers, checkpoint: Checkpoint): Promise<CachedDir> {
  if (checkpoint.blobId) return artifactCache(helpers).open(checkpoint.blobId);
  if (checkpoint.path && (await readable(checkpoint.path))) return inPlace(checkpoint.path);
  throw new NotOnThisWorkerError(`checkpoint at step ${checkpoint.step} is a folder on another host (written before the artifact store)`);
}

/**
 * The latest checkpoint of the run this worker can open, newest first: an unreadable one (corrupt
 * blob) is logged and the one before it tried. null: nothing to resume from.
 */
export async function openLatestCheckpoint(
  helpers: JobHelpers,
  runId: string,
): Promise<{ checkpoint: Checkpoint; folder: CachedDir } | null> {
  const all = await helpers.prisma.checkpoint.findMany({ where: { runId }, orderBy: { step: 'desc' } });
  let firstError: unknown;
  for (const checkpoint of all) {
    try {
      return { checkpoint, folder: await openCheckpoint(helpers, checkpoint) };
    } catch (error) {
      if (error instanceof NotOnThisWorkerError) throw error;
      helpers.log.error(`run ${runId}: checkpoint at step ${checkpoint.step} cannot be used`, error);
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return null;
}

// ---- datasets ----

async function readable(path: string): Promise<boolean> {
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

/** In the caller's transaction: the model's blob, then the run's Model row on it (a replaced blob collected). Returns the blob id. */
export async function recordModel(
  tx: TransactionClient,
  runId: string,
  pending: PendingBlob,
  fields: { name: string; vocabSize: number; config: object; metrics: object },
): Promise<string> {
  const blobId = await commitBlob(tx, pending);
  const before = await tx.model.findUnique({ where: { runId }, select: { blobId: true } });
  const { name, ...rest } = fields;
  await tx.model.upsert({ where: { runId }, create: { name, runId, blobId, ...rest }, update: { blobId, path: null, ...rest } });
  if (before?.blobId && before.blobId !== blobId) await deleteUnreferenced(tx, [before.blobId]);
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

// ---- runs this worker cannot read ----

/** hand-backs before a run whose files no worker could read is FAILED */
export const HAND_BACK_LIMIT = 5;
/** a handed-back run waits this long before a worker takes it again (another worker, or a volume mounted meanwhile) */
export const HAND_BACK_DELAY_SECONDS = 30;

/**
 * The run's files are not readable on this worker (NotOnThisWorkerError): QUEUED again for another
 * worker after HAND_BACK_DELAY_SECONDS, its error saying why; FAILED with that reason once
 * HAND_BACK_LIMIT workers (or tries) could not. Returns the run's new status, null when no longer ours.
 */
export async function handBack(
  tx: TransactionClient,
  helpers: Pick<JobHelpers, 'workerId' | 'queue'>,
  runId: string,
  error: NotOnThisWorkerError,
): Promise<'QUEUED' | 'FAILED' | null> {
  const run = await tx.trainingRun.findFirst({
    where: { id: runId, status: 'RUNNING', workerId: helpers.workerId },
    select: { handBacks: true },
  });
  if (!run) return null;
  const tries = run.handBacks + 1;
  if (tries >= HAND_BACK_LIMIT) {
    await tx.trainingRun.update({
      where: { id: runId },
      data: {
        status: 'FAILED',
        handBacks: tries,
        heartbeatAt: null,
        finishedAt: new Date(),
        error: `no worker could read the run's files after ${tries} tries: ${error.message}`,
      },
    });
    return 'FAILED';
  }
  await tx.trainingRun.update({
    where: { id: runId },
    data: {
      status: 'QUEUED',
      workerId: null,
      heartbeatAt: null,
      leaseSeconds: null,
      handBacks: tries,
      error: `handed back (${tries} of ${HAND_BACK_LIMIT}), waiting for a worker that can read its files: ${error.message}`,
    },
  });
  await helpers.queue.enqueueTraining(tx, { runId }, { startAfterSeconds: HAND_BACK_DELAY_SECONDS });
  return 'QUEUED';
}
