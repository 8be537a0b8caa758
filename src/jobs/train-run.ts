// The training job's pieces around the loop (src/jobs/train.job.ts): the clock that sizes the run's
// lease, why a run stopped, and how a run that did not complete is ended — CANCELLED, handed back
// (QUEUED and enqueued again, also after losing the database, or when its data disk is full: then with a
// message, its partial checkpoint removed and a delay that doubles; src/jobs/disk-space.ts), handed to a worker
// that can read its files, or FAILED with a message safe for anyone to read.
import { join } from 'node:path';
import { isDatabaseUnavailable, retryWhileDatabaseDown } from '../db/unavailable.ts';
import { captionStats, formatBytes, OverBudgetError, planRun, TrainingAbortedError, type RunSettings } from '../ml/index.ts';
import { type AbortedEnd, endRun, handBackUnreadable, LeaseLostError } from '../runs/index.ts';
import { NotOnThisWorkerError } from './artifacts.ts';
import { DISK_FULL_MESSAGE, isDiskFull, removePartialCheckpoints } from './disk-space.ts';
import { errorMessage, JobError, type JobHelpers } from './helpers.ts';

/** what a vocabulary on these images can be at most (the memory check's sizes) */
export function captionStatsOf(images: readonly { captions: string[] }[]): { words: number; maxTokens: number } {
  return captionStats(images.flatMap((img) => img.captions));
}

/**
 * The API admitted the run on its dataset's statistics (planRun, which stored every setting decided);
 * the worker asks the same function again with the exact sizes and its own budget.
 */
export function checkMemoryBudget(run: RunSettings, images: readonly { captions: string[] }[], budgetBytes: number): void {
  try {
    planRun(run, { captions: null, imageSide: null, ...captionStatsOf(images) }, budgetBytes);
  } catch (error) {
    if (!(error instanceof OverBudgetError)) throw error;
    throw new JobError(
      'OVER_MEMORY_BUDGET',
      `this run needs about ${formatBytes(error.estimate.totalBytes)} of memory, over this worker's budget of ${formatBytes(budgetBytes)} (GLIMPSE_WORKER_MAX_MEMORY)`,
    );
  }
}

/** why the training was aborted */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost' | 'diverged';

/**
 * Times the stretches in which the job does not get control: from the end of one of train()'s
 * callbacks to the start of the next — a training step (with the image batch before it, and
 * validation at an epoch's end), which holds the event loop, so no beat goes out meanwhile.
 */
export class StepClock {
  private since = performance.now();
  /** null until train() called back the first time (the first step has completed) */
  longestSeconds: number | null = null;

  /** train() is starting: its first stretch includes the setup and the first step's warm-up */
  start(): void {
    this.since = performance.now();
  }

  /** wraps a callback of train(): the stretch before it counts as a step, the callback does not */
  timed<E>(callback: (event: E) => Promise<unknown>): (event: E) => Promise<void> {
    return async (event) => {
      const seconds = (performance.now() - this.since) / 1000;
      this.longestSeconds = Math.max(this.longestSeconds ?? 0, seconds);
      try {
        await callback(event);
      } finally {
        this.since = performance.now();
      }
    };
  }
}

/** disk-full hand-backs of each run by this worker: the next try waits 5 s, doubling to 5 minutes */
const diskHandBacks = new Map<string, number>();
const diskRetrySeconds = (runId: string) => {
  const n = (diskHandBacks.get(runId) ?? 0) + 1;
  diskHandBacks.set(runId, n);
  return Math.min(5 * 2 ** (n - 1), 300);
};

/** Ends a run that did not complete: CANCELLED, handed back (QUEUED + a new job), or FAILED (src/runs/finish.ts). */
export async function finishAborted(runId: string, error: unknown, reason: StopReason | null, helpers: JobHelpers): Promise<void> {
  const { prisma, queue, workerId, log } = helpers;
  const lease = { runId, workerId };
  if (error instanceof LeaseLostError || reason === 'lease-lost') {
    log.info(`training ${runId}: lease lost, left to its new owner`);
    return;
  }
  if (error instanceof NotOnThisWorkerError) {
    // files this worker cannot read (a COCO set off its volumes): another worker may (src/runs/finish.ts)
    const status = await handBackUnreadable(prisma, queue, lease, error.message);
    log.info(`training ${runId}: ${status === 'QUEUED' ? 'handed back' : status === 'FAILED' ? 'FAILED' : 'left'}: ${error.message}`);
    return;
  }
  const aborted = error instanceof TrainingAbortedError;
  // the database went away mid-run: hand the run back (once it is reachable again) to resume from its last checkpoint
  const dbLost = !aborted && isDatabaseUnavailable(error);
  // the disk filled up (a checkpoint, the cache, the model): a transient fault too, retried with back-off
  const diskFull = !aborted && !dbLost && isDiskFull(error);
  if (diskFull) {
    const removed = await removePartialCheckpoints(join(helpers.config.paths.checkpoints, runId));
    if (removed.length) log.info(`training ${runId}: removed partial checkpoint(s) ${removed.join(', ')}`);
  }
  const end: AbortedEnd = diskFull
    ? { kind: 'handBack', reason: DISK_FULL_MESSAGE, delaySeconds: diskRetrySeconds(runId) }
    : (aborted && reason === 'shutdown') || dbLost
      ? { kind: 'handBack' }
      : aborted && reason === 'cancel'
        ? { kind: 'cancelled' }
        : { kind: 'failed', error: errorMessage(error) };
  await retryWhileDatabaseDown(() => endRun(prisma, queue, lease, end), {
    onRetry: (e, attempt) =>
      attempt === 1 && log.error(`training ${runId}: database unavailable; the run is handed back once it returns`, e),
  });
  if (diskFull) {
    log.error(`training ${runId}: the data disk is full: handed back, to resume from its last checkpoint once there is space`, error);
    helpers.onDiskFull?.();
  } else if (dbLost) log.info(`training ${runId}: handed back after losing the database, to resume from its last checkpoint`);
  else if (aborted) log.info(`training ${runId}: stopped (${reason}) at step ${error.checkpoint?.step ?? 0}`);
  else log.error(`training ${runId}: FAILED`, error);
  if (!aborted && !dbLost && !diskFull) helpers.runtime?.failed(error);
}
