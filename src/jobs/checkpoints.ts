import type { Checkpoint, PrismaClient, TransactionClient } from '../db/client.ts';
import type { CheckpointEvent } from '../ml/index.ts';
import { type RunLease, writeLeased } from '../runs/index.ts';
import { commitBlob, deleteUnreferenced, discardBlob, putDir, type CachedDir, type PendingBlob } from '../storage/index.ts';
import { adoptIntoCache, artifactCache, inPlace, NotOnThisWorkerError, readable } from './artifacts.ts';
import type { JobHelpers } from './helpers.ts';

/** checkpoints kept per run: the latest KEEP_CHECKPOINTS (the previous one is the fallback when the latest is unreadable) */
export const KEEP_CHECKPOINTS = 2;
// (plus the best epoch's, by validation loss: see recordCheckpoint)

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
 * A checkpoint that is not an epoch end (one written every checkpointEvery steps, or on abort): its blob
 * and row in a lease-checked transaction of its own (src/runs/lease.ts writeLeased), then its folder into
 * the cache. A worker that lost the run (reaped and claimed by another, or ended) records nothing: the
 * transaction is rolled back with a LeaseLostError and the upload dropped, as it is on any failure.
 * Resolves with whether a cancel was requested (stop at the next batch boundary).
 */
export async function storeCheckpoint(
  helpers: JobHelpers,
  lease: RunLease,
  uploaded: UploadedCheckpoint,
): Promise<{ cancelRequested: boolean }> {
  let state: { cancelRequested: boolean };
  try {
    state = await writeLeased(helpers.prisma, lease, (tx) => recordCheckpoint(tx, lease.runId, uploaded));
  } catch (error) {
    await discardBlob(helpers.prisma, uploaded.pending);
    throw error;
  }
  await checkpointStored(helpers, uploaded);
  return state;
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
