// A training run is leased to one worker: claimed QUEUED → RUNNING, kept by heartbeats
// (TrainingRun.heartbeatAt, database clock), and taken back by the reaper when the beats stop.
// All timestamps are UTC, as Prisma stores DateTime in `timestamp(3)` columns.
import type { Prisma } from '../db/client.ts';

/** a Prisma client or interactive transaction */
export type LeaseDb = Pick<Prisma.TransactionClient, '$queryRaw'>;

export interface LeaseState {
  /** false: the run was reaped, finished or cancelled, or belongs to another worker — stop working on it */
  owned: boolean;
  /** cancelTraining asked this run to stop at the next batch boundary */
  cancelRequested: boolean;
}

/** QUEUED → RUNNING for `workerId`. False when the run is not QUEUED (a duplicate or stale job): skip it. */
export async function claimRun(db: LeaseDb, runId: string, workerId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    UPDATE "TrainingRun"
    SET "status" = 'RUNNING', "workerId" = ${workerId}, "heartbeatAt" = now() AT TIME ZONE 'UTC',
        "startedAt" = COALESCE("startedAt", now() AT TIME ZONE 'UTC'), "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${runId} AND "status" = 'QUEUED'
    RETURNING "id"`;
  return rows.length === 1;
}

/**
 * Renews the lease. Call it every heartbeat period, and inside the transaction that stores a
 * batch's loss: when `owned` is false, roll that transaction back and stop (fencing).
 */
export async function heartbeat(db: LeaseDb, runId: string, workerId: string): Promise<LeaseState> {
  const rows = await db.$queryRaw<{ cancelRequested: boolean }[]>`
    UPDATE "TrainingRun" SET "heartbeatAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${runId} AND "status" = 'RUNNING' AND "workerId" = ${workerId}
    RETURNING "cancelRequested"`;
  return { owned: rows.length === 1, cancelRequested: rows[0]?.cancelRequested ?? false };
}
