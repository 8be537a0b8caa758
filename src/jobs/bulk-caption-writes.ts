// The rows of a bulk captioning job (BulkCaptionJob, BulkCaptionResult): its one owner on the worker side.
// Each batch's results, the job's progress and its wake-up are one transaction, so `done` always equals the
// number of result rows and the job continues after them when it is taken up again.
import { BulkCaptionStatus, TRANSACTION_OPTIONS, type PrismaClient } from '../db/client.ts';
import { notify } from '../events/index.ts';
import type { JobQueue } from '../queue/queue.ts';
import type { JobHelpers } from './helpers.ts';

/** what a bulk job needs besides the common helpers: to queue its next slice */
export interface BulkHelpers extends JobHelpers {
  queue: Pick<JobQueue, 'enqueueTraining' | 'enqueueBulkCaption'>;
}

export interface BulkResultRow {
  index: number;
  imageId: string;
  fileName: string;
  caption: string | null;
  logProb: number | null;
  error: string | null;
}

/** the statuses in which a bulk job still has work (RUNNING: taken by a worker, or left by one that died) */
export const LIVE_BULK_STATUSES: BulkCaptionStatus[] = [BulkCaptionStatus.QUEUED, BulkCaptionStatus.RUNNING];

/** RUNNING on this worker with the set's real size; returns the index to continue from (the stored results) */
export async function startSlice(prisma: PrismaClient, jobId: string, total: number, workerId: string): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const done = await tx.bulkCaptionResult.count({ where: { jobId } });
    const job = await tx.bulkCaptionJob.update({
      where: { id: jobId },
      data: { status: BulkCaptionStatus.RUNNING, workerId, total, done },
      select: { startedAt: true },
    });
    if (job.startedAt === null) await tx.bulkCaptionJob.update({ where: { id: jobId }, data: { startedAt: new Date() } });
    await notify(tx, 'bulk_caption', jobId);
    return done;
  }, TRANSACTION_OPTIONS);
}

/** a batch's results and the progress after them */
export async function storeBatch(prisma: PrismaClient, jobId: string, rows: BulkResultRow[]): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.bulkCaptionResult.createMany({ data: rows.map((r) => ({ jobId, ...r })), skipDuplicates: true });
    const done = await tx.bulkCaptionResult.count({ where: { jobId } });
    const failed = rows.filter((r) => r.error !== null).length;
    await tx.bulkCaptionJob.update({ where: { id: jobId }, data: { done, failed: { increment: failed } } });
    await notify(tx, 'bulk_caption', jobId);
  }, TRANSACTION_OPTIONS);
}

/** a terminal status (SUCCEEDED, FAILED with `error`, CANCELLED) */
export async function endJob(prisma: PrismaClient, jobId: string, status: BulkCaptionStatus, error: string | null = null): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.bulkCaptionJob.updateMany({
      where: { id: jobId, status: { in: LIVE_BULK_STATUSES } },
      data: { status, error, finishedAt: new Date() },
    });
    await notify(tx, 'bulk_caption', jobId);
  }, TRANSACTION_OPTIONS);
}

/** QUEUED again with a new job at its priority: the next slice continues after the stored results */
export async function handBack(helpers: BulkHelpers, jobId: string): Promise<void> {
  await helpers.prisma.$transaction(async (tx) => {
    const { count } = await tx.bulkCaptionJob.updateMany({
      where: { id: jobId, status: BulkCaptionStatus.RUNNING },
      data: { status: BulkCaptionStatus.QUEUED, workerId: null },
    });
    if (count === 0) return;
    const job = await tx.bulkCaptionJob.findUniqueOrThrow({ where: { id: jobId }, select: { priority: true } });
    await helpers.queue.enqueueBulkCaption(tx, { jobId }, job.priority);
    await notify(tx, 'bulk_caption', jobId);
  }, TRANSACTION_OPTIONS);
}

/** what the loop checks before each batch: a cancel request (or the row gone) */
export async function cancelRequested(prisma: PrismaClient, jobId: string): Promise<boolean> {
  const row = await prisma.bulkCaptionJob.findUnique({ where: { id: jobId }, select: { cancelRequested: true } });
  return row === null || row.cancelRequested;
}
