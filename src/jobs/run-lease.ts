// A training run is leased to one worker: claimed QUEUED → RUNNING, kept by heartbeats
// (TrainingRun.heartbeatAt, database clock), and taken back by the reaper when the beats stop for
// longer than its lease: 3 heartbeat periods, or the TrainingRun.leaseSeconds its worker stated
// when that is longer (a worker whose synchronous steps outlast 3 beats states a longer lease).
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

/**
 * QUEUED → RUNNING for `workerId`. False when the run is not QUEUED (a duplicate or stale job): skip it.
 * `leaseSeconds`: how long the worker may go without a beat before the reaper takes the run back
 * (at least 3 heartbeat periods whatever it states); omitted, the reaper's default rule applies.
 */
export async function claimRun(db: LeaseDb, runId: string, workerId: string, leaseSeconds?: number): Promise<boolean> {
  const lease = leaseValue(leaseSeconds);
  const rows = await db.$queryRaw<{ id: string }[]>`
    UPDATE "TrainingRun"
    SET "status" = 'RUNNING', "workerId" = ${workerId}, "heartbeatAt" = now() AT TIME ZONE 'UTC',
        "leaseSeconds" = ${lease}::integer,
        "startedAt" = COALESCE("startedAt", now() AT TIME ZONE 'UTC'), "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${runId} AND "status" = 'QUEUED'
    RETURNING "id"`;
  return rows.length === 1;
}

/**
 * Renews the lease. Call it every heartbeat period, and inside the transaction that stores a
 * batch's loss: when `owned` is false, roll that transaction back and stop (fencing).
 * `leaseSeconds` restates how long the lease lasts from this beat; omitted, the stated lease is kept.
 */
export async function heartbeat(db: LeaseDb, runId: string, workerId: string, leaseSeconds?: number): Promise<LeaseState> {
  const lease = leaseValue(leaseSeconds);
  const rows = await db.$queryRaw<{ cancelRequested: boolean }[]>`
    UPDATE "TrainingRun"
    SET "heartbeatAt" = now() AT TIME ZONE 'UTC', "leaseSeconds" = COALESCE(${lease}::integer, "leaseSeconds")
    WHERE "id" = ${runId} AND "status" = 'RUNNING' AND "workerId" = ${workerId}
    RETURNING "cancelRequested"`;
  return { owned: rows.length === 1, cancelRequested: rows[0]?.cancelRequested ?? false };
}

function leaseValue(leaseSeconds: number | undefined): number | null {
  if (leaseSeconds === undefined) return null;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds <= 0)
    throw new RangeError(`leaseSeconds must be a positive integer, got ${leaseSeconds}`);
  return leaseSeconds;
}

/**
 * The lease a training job states: 3 heartbeat periods, or 3 times its longest step so far when
 * that is longer (a step holds the event loop, so no beat goes out while it runs). Before a step
 * has completed, at least 60 s: the first step also warms up the kernels.
 */
export function trainingLeaseSeconds(heartbeatSeconds: number, longestStepSeconds: number | null): number {
  const beats = Math.ceil(3 * heartbeatSeconds);
  if (longestStepSeconds === null) return Math.max(beats, FIRST_STEP_LEASE_SECONDS);
  return Math.max(beats, Math.ceil(3 * longestStepSeconds));
}

/** the lease stated before the first training step has completed */
export const FIRST_STEP_LEASE_SECONDS = 60;
