// Takes training runs back from dead workers, on a timer: a RUNNING run whose heartbeat is older
// than its lease — `missedBeats` periods, or the run's "leaseSeconds" when its worker stated a
// longer one (its training steps hold the event loop longer than that) — is set QUEUED again and
// re-enqueued (or CANCELLED if a cancel was pending), in one transaction with a wake-up for its
// subscribers (the UPDATE is src/runs/reap.ts's). Several reapers may run at once (one per worker).
import { type PrismaClient, TRANSACTION_OPTIONS } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import { type ReapedRun, takeBackStaleRuns, takeBackWorkerRuns } from '../runs/index.ts';
import type { JobQueue } from './queue.ts';

export type { ReapedRun };

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

/**
 * Takes back at once every run leased to `workerId`, a worker known to be dead (its supervisor saw
 * the process exit), instead of waiting for its lease to run out; removes its Worker row.
 */
export async function releaseDeadWorker(
  prisma: PrismaClient,
  queue: Pick<JobQueue, 'enqueueTraining'>,
  workerId: string,
): Promise<ReapedRun[]> {
  return prisma.$transaction(async (tx) => {
    const released = await takeBackWorkerRuns(tx, queue, workerId);
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
  queue: Pick<JobQueue, 'enqueueTraining'>,
  options: ReaperOptions & { onReaped?: (runs: ReapedRun[]) => void; onError?: (error: Error) => void },
): Reaper {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = reapStaleRuns(prisma, queue, options).then(
      (runs) => {
        if (runs.length) options.onReaped?.(runs);
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
