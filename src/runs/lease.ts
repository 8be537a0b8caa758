// A training run is leased to one worker: claimed QUEUED → RUNNING, kept by heartbeats
// (TrainingRun.heartbeatAt, database clock), and taken back by the reaper (src/runs/reap.ts) when the
// beats stop for longer than its lease: 3 heartbeat periods, or the TrainingRun.leaseSeconds its
// worker stated when that is longer (a worker whose synchronous steps outlast 3 beats states a
// longer lease). Every write a worker makes on its run goes through writeLeased: the beat inside the
// write's transaction fences a worker whose run was taken back.
// All timestamps are UTC, as Prisma stores DateTime in `timestamp(3)` columns.
import { type Prisma, type PrismaClient, type TransactionClient, TRANSACTION_OPTIONS } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import { RUN_TRANSITIONS, sqlStatusFor } from './transitions.ts';

/** a Prisma client or interactive transaction */
export type LeaseDb = Pick<Prisma.TransactionClient, '$queryRaw'>;

export interface LeaseState {
  /** false: the run was reaped, finished or cancelled, or belongs to another worker — stop working on it */
  owned: boolean;
  /** cancelTraining asked this run to stop at the next batch boundary */
  cancelRequested: boolean;
}

/** a worker's hold on a run, and how long it may go without a beat from now */
export interface RunLease {
  runId: string;
  workerId: string;
  seconds?: number;
}

export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST';
  constructor(runId: string) {
    super(`run ${runId} is no longer leased to this worker`);
    this.name = 'LeaseLostError';
  }
}

/**
 * QUEUED → RUNNING for `workerId` (RUN_TRANSITIONS.claim). False when the run is not QUEUED (a
 * duplicate or stale job): skip it. `leaseSeconds`: how long the worker may go without a beat before
 * the reaper takes the run back (at least 3 heartbeat periods whatever it states); omitted, the
 * reaper's default rule applies.
 */
export async function claimRun(db: LeaseDb, runId: string, workerId: string, leaseSeconds?: number): Promise<boolean> {
  const lease = leaseValue(leaseSeconds);
  const rows = await db.$queryRaw<{ id: string }[]>`
    UPDATE "TrainingRun"
    SET "status" = ${RUN_TRANSITIONS.claim.to}::"RunStatus", "workerId" = ${workerId}, "heartbeatAt" = now() AT TIME ZONE 'UTC',
        "leaseSeconds" = ${lease}::integer,
        "startedAt" = COALESCE("startedAt", now() AT TIME ZONE 'UTC'), "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${runId} AND ${sqlStatusFor('claim')}
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
  // a lease exists while the run is in the status its claim gave it
  const rows = await db.$queryRaw<{ cancelRequested: boolean }[]>`
    UPDATE "TrainingRun"
    SET "heartbeatAt" = now() AT TIME ZONE 'UTC', "leaseSeconds" = COALESCE(${lease}::integer, "leaseSeconds")
    WHERE "id" = ${runId} AND "status" = ${RUN_TRANSITIONS.claim.to}::"RunStatus" AND "workerId" = ${workerId}
    RETURNING "cancelRequested"`;
  return { owned: rows.length === 1, cancelRequested: rows[0]?.cancelRequested ?? false };
}

/**
 * `write` in a transaction that first renews the lease, then wakes the run's subscribers: rolled back
 * with a LeaseLostError when the run is no longer this worker's. Resolves with whether a cancel was
 * requested (stop at the next batch boundary).
 */
export async function writeLeased(
  prisma: PrismaClient,
  { runId, workerId, seconds }: RunLease,
  write: (tx: TransactionClient) => Promise<unknown>,
): Promise<{ cancelRequested: boolean }> {
  return prisma.$transaction(async (tx) => {
    const state = await heartbeat(tx, runId, workerId, seconds);
    if (!state.owned) throw new LeaseLostError(runId);
    await write(tx);
    await notify(tx, 'training_run', runId);
    return { cancelRequested: state.cancelRequested };
  }, TRANSACTION_OPTIONS);
}

function leaseValue(leaseSeconds: number | undefined): number | null {
  if (leaseSeconds === undefined) return null;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds <= 0)
    throw new RangeError(`leaseSeconds must be a positive integer, got ${leaseSeconds}`);
  return leaseSeconds;
}
