// Runs taken back from workers that stopped beating (RUN_TRANSITIONS reap, reapCancelled), for the
// reaper (src/queue/reaper.ts): QUEUED again with a new job, or CANCELLED when a cancel was pending,
// lease cleared, subscribers woken, all in the caller's transaction. Several reapers may run at once
// (one per worker): the guarded UPDATE hands each stale run to exactly one of them.
import { Prisma, type TransactionClient } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import type { JobQueue } from '../queue/queue.ts';
import { RUN_TRANSITIONS, sqlStatusFor } from './transitions.ts';

export interface ReapedRun {
  id: string;
  status: typeof RUN_TRANSITIONS.reap.to | typeof RUN_TRANSITIONS.reapCancelled.to;
}

type Queue = Pick<JobQueue, 'enqueueTraining'>;

/** Takes back, in one statement, the RUNNING runs that `where` selects. */
async function takeBack(tx: TransactionClient, queue: Queue, where: Prisma.Sql): Promise<ReapedRun[]> {
  const { reap, reapCancelled } = RUN_TRANSITIONS;
  const runs = await tx.$queryRaw<ReapedRun[]>`
    UPDATE "TrainingRun"
    SET "status" = (CASE WHEN "cancelRequested" THEN ${reapCancelled.to} ELSE ${reap.to} END)::"RunStatus",
        "finishedAt" = CASE WHEN "cancelRequested" THEN now() AT TIME ZONE 'UTC' END,
        "workerId" = NULL, "heartbeatAt" = NULL, "leaseSeconds" = NULL, "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE ${sqlStatusFor('reap')} AND ${where}
    RETURNING "id", "status"::text AS "status"`;
  for (const run of runs) {
    if (run.status === reap.to) await queue.enqueueTraining(tx, { runId: run.id });
    await notify(tx, 'training_run', run.id);
  }
  return runs;
}

/**
 * The runs whose last beat is older than their lease: `staleAfterSeconds`, or the run's
 * "leaseSeconds" when its worker stated a longer one. Runs leased to `ownWorkerId` are left alone
 * (the worker asking is alive: its beats may be late because a long training step held its event loop).
 */
export function takeBackStaleRuns(
  tx: TransactionClient,
  queue: Queue,
  { staleAfterSeconds, ownWorkerId }: { staleAfterSeconds: number; ownWorkerId?: string | undefined },
): Promise<ReapedRun[]> {
  return takeBack(
    tx,
    queue,
    Prisma.sql`"heartbeatAt" < (now() AT TIME ZONE 'UTC')
      - make_interval(secs => GREATEST(${staleAfterSeconds}::double precision, COALESCE("leaseSeconds", 0)))
    AND "workerId" IS DISTINCT FROM ${ownWorkerId ?? null}`,
  );
}

/** Every run leased to `workerId`, a worker known to be dead, without waiting for its lease to run out. */
export function takeBackWorkerRuns(tx: TransactionClient, queue: Queue, workerId: string): Promise<ReapedRun[]> {
  return takeBack(tx, queue, Prisma.sql`"workerId" = ${workerId}`);
}
