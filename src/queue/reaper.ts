// Takes training runs (and evaluations: reapStaleEvaluations) back from dead workers, on a timer: a RUNNING run whose heartbeat is older
// than its lease — `missedBeats` periods, or the run's "leaseSeconds" when its worker stated a
// longer one (its training steps hold the event loop longer than that) — is set QUEUED again and
// re-enqueued (or CANCELLED if a cancel was pending), in one transaction with a wake-up for its
// subscribers (the UPDATE is src/runs/reap.ts's). Several reapers may run at once (one per worker).
import { type PrismaClient, TRANSACTION_OPTIONS } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import { type ReapedEvaluation, type ReapedRun, takeBackEvaluations, takeBackStaleRuns, takeBackWorkerRuns } from '../runs/index.ts';
import type { JobQueue } from './queue.ts';

export type { ReapedEvaluation, ReapedRun };

type ReaperQueue = Pick<JobQueue, 'enqueueTraining' | 'enqueueEvaluation'>;

/**
 * an evaluation's worker may go this long without a beat (at least; 3 heartbeat periods when longer): a
 * batch of beam-search decoding on a slow backend can hold the event loop for tens of seconds
 */
export const EVALUATION_LEASE_SECONDS = 60;

export interface ReaperOptions {
  heartbeatSeconds: number;
  /** beats a run may miss before it is taken back, default 3 (a longer "leaseSeconds" wins) */
  missedBeats?: number;
  /**
   * runs leased to this worker are left alone: the worker calling the reaper is alive, and its
   * beats may only be late because a long synchronous training step held its event loop
   */
  ownWorkerId?: string;
}

export async function reapStaleRuns(
  prisma: PrismaClient,
  queue: Pick<JobQueue, 'enqueueTraining'>,
  { heartbeatSeconds, missedBeats = 3, ownWorkerId }: ReaperOptions,
): Promise<ReapedRun[]> {
  const staleAfterSeconds = heartbeatSeconds * missedBeats;
  return prisma.$transaction((tx) => takeBackStaleRuns(tx, queue, { staleAfterSeconds, ownWorkerId }), TRANSACTION_OPTIONS);
}

/** The same for evaluations (src/runs/evaluation-state.ts): QUEUED again, restarting from zero, or CANCELLED. */
export async function reapStaleEvaluations(
  prisma: PrismaClient,
  queue: Pick<JobQueue, 'enqueueEvaluation'>,
  { heartbeatSeconds, missedBeats = 3, ownWorkerId }: ReaperOptions,
): Promise<ReapedEvaluation[]> {
  const staleAfterSeconds = Math.max(heartbeatSeconds * missedBeats, EVALUATION_LEASE_SECONDS);
  return prisma.$transaction((tx) => takeBackEvaluations(tx, queue, { staleAfterSeconds, ownWorkerId }), TRANSACTION_OPTIONS);
}

/**
 * Takes back at once every run leased to `workerId`, a worker known to be dead (its supervisor saw
 * the process exit), instead of waiting for its lease to run out; removes its Worker row.
 */
export async function releaseDeadWorker(prisma: PrismaClient, queue: ReaperQueue, workerId: string): Promise<ReapedRun[]> {
  return prisma.$transaction(async (tx) => {
    const released = await takeBackWorkerRuns(tx, queue, workerId);
    await takeBackEvaluations(tx, queue, { workerId });
    await tx.worker.deleteMany({ where: { id: workerId } });
    await notify(tx, 'worker');
    return released;
  }, TRANSACTION_OPTIONS);
}

export interface Reaper {
  stop(): Promise<void>;
}

/** Runs reapStaleRuns every heartbeat period until stopped. */
export function startReaper(
  prisma: PrismaClient,
  queue: ReaperQueue,
  options: ReaperOptions & { onReaped?: (runs: (ReapedRun | ReapedEvaluation)[]) => void; onError?: (error: Error) => void },
): Reaper {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = Promise.all([reapStaleRuns(prisma, queue, options), reapStaleEvaluations(prisma, queue, options)]).then(
      ([runs, evaluations]) => {
        if (runs.length + evaluations.length) options.onReaped?.([...runs, ...evaluations]);
      },
      (error: Error) => options.onError?.(error),
    );
  };
  const timer = setInterval(tick, options.heartbeatSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
