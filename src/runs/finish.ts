// How the worker holding a run ends its lease (RUN_TRANSITIONS succeed, fail, stopCancelled,
// handBack): each write applies only while the run is RUNNING and leased to that worker, so a run
// the reaper took back meanwhile is left to its new owner. A finished run keeps the id of the
// worker that ended it; a handed-back one is free (no worker, no beat, no stated lease) and gets a
// new job in the same transaction.
import { type Prisma, type PrismaClient, RunStatus, type TransactionClient, TRANSACTION_OPTIONS } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import type { JobQueue } from '../queue/queue.ts';
import { LeaseLostError, type RunLease } from './lease.ts';
import { RUN_TRANSITIONS, type RunTransitionName, statusFor } from './transitions.ts';

type Queue = Pick<JobQueue, 'enqueueTraining'>;

/** hand-backs before a run whose files no worker could read is FAILED */
export const HAND_BACK_LIMIT = 5;
/** a handed-back run waits this long before a worker takes it again (another worker, or a volume mounted meanwhile) */
export const HAND_BACK_DELAY_SECONDS = 30;

/** the lease fields of a run no worker holds */
const RELEASED = { workerId: null, heartbeatAt: null, leaseSeconds: null } as const;

/** the run, while `transition` applies to it and it is leased to this worker */
function owned({ runId, workerId }: RunLease, transition: RunTransitionName): Prisma.TrainingRunWhereInput {
  return { id: runId, workerId, status: statusFor(transition) };
}

const ended = () => ({ heartbeatAt: null, finishedAt: new Date() });

/** RUNNING → SUCCEEDED, inside writeLeased's transaction (after the Model row) */
export async function succeedRun(tx: TransactionClient, lease: RunLease, stopReason: string | null = null): Promise<void> {
  const { count } = await tx.trainingRun.updateMany({
    where: owned(lease, 'succeed'),
    data: { status: RUN_TRANSITIONS.succeed.to, error: null, stopReason, ...ended() },
  });
  // writeLeased's beat holds the row: only a run that is not this worker's gets here
  if (count !== 1) throw new LeaseLostError(lease.runId);
}

/** how a run that did not complete ends */
export type AbortedEnd =
  /**
   * QUEUED again with a new job: the worker drains, lost the database, or its disk is full (resumed from its last
   * checkpoint); `reason` is shown in the run's error while it waits, `delaySeconds` holds its next job back
   */
  | { kind: 'handBack'; reason?: string; delaySeconds?: number }
  /** CANCELLED: a cancel was requested */
  | { kind: 'cancelled' }
  /** FAILED with a message anyone may read */
  | { kind: 'failed'; error: string };

/** the transition each end makes */
const END_TRANSITION = { handBack: 'handBack', cancelled: 'stopCancelled', failed: 'fail' } as const satisfies Record<
  AbortedEnd['kind'],
  RunTransitionName
>;

/** Ends the run in one transaction with its wake-up; nothing changes when it is no longer this worker's. */
export function endRun(prisma: PrismaClient, queue: Queue, lease: RunLease, end: AbortedEnd): Promise<void> {
  const transition = END_TRANSITION[end.kind];
  const fields =
    end.kind === 'handBack'
      ? { ...RELEASED, ...(end.reason ? { error: end.reason } : {}) }
      : { ...ended(), ...(end.kind === 'failed' ? { error: end.error } : {}) };
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.trainingRun.updateMany({
      where: owned(lease, transition),
      data: { status: RUN_TRANSITIONS[transition].to, ...fields },
    });
    if (count === 1 && end.kind === 'handBack')
      await queue.enqueueTraining(tx, { runId: lease.runId }, end.delaySeconds ? { startAfterSeconds: end.delaySeconds } : undefined);
    await notify(tx, 'training_run', lease.runId);
  }, TRANSACTION_OPTIONS);
}

/**
 * The run's files are not readable on this worker: QUEUED again for another worker after
 * HAND_BACK_DELAY_SECONDS, its error saying why; FAILED with that reason once HAND_BACK_LIMIT
 * workers (or tries) could not. In one transaction with the wake-up. Returns the run's new status,
 * null when it was no longer this worker's.
 */
export function handBackUnreadable(
  prisma: PrismaClient,
  queue: Queue,
  lease: RunLease,
  reason: string,
): Promise<typeof RunStatus.QUEUED | typeof RunStatus.FAILED | null> {
  return prisma.$transaction(async (tx) => {
    const run = await tx.trainingRun.findFirst({ where: owned(lease, 'handBack'), select: { handBacks: true } });
    if (!run) return null;
    const handBacks = run.handBacks + 1;
    const failed = handBacks >= HAND_BACK_LIMIT;
    const { count } = await tx.trainingRun.updateMany({
      // guarded again: the reaper may have taken the run back since it was read
      where: owned(lease, failed ? 'fail' : 'handBack'),
      data: failed
        ? {
            status: RUN_TRANSITIONS.fail.to,
            handBacks,
            ...ended(),
            error: `no worker could read the run's files after ${handBacks} tries: ${reason}`,
          }
        : {
            status: RUN_TRANSITIONS.handBack.to,
            handBacks,
            ...RELEASED,
            error: `handed back (${handBacks} of ${HAND_BACK_LIMIT}), waiting for a worker that can read its files: ${reason}`,
          },
    });
    if (count === 0) return null;
    if (!failed) await queue.enqueueTraining(tx, { runId: lease.runId }, { startAfterSeconds: HAND_BACK_DELAY_SECONDS });
    await notify(tx, 'training_run', lease.runId);
    return failed ? RunStatus.FAILED : RunStatus.QUEUED;
  }, TRANSACTION_OPTIONS);
}
