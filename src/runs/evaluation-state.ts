// Evaluation state, owned here like a run's: every status change of an Evaluation row is one of
// EVALUATION_TRANSITIONS and is written by a function of this file, in one transaction with the row's
// `evaluation` wake-up (persisted first, NOTIFY as the wake-up). The API creates and cancels (requests),
// the worker claims, beats, records progress and ends (the lease), the reaper takes back evaluations whose
// worker stopped beating. A taken-back evaluation restarts from zero: QUEUED again with a new job, its
// progress reset when a worker claims it (captioning a split is cheap next to training; nothing is resumed).
import { Prisma, type PrismaClient, RunStatus, type TransactionClient, TRANSACTION_OPTIONS, type Evaluation } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import type { JobQueue } from '../queue/queue.ts';

type Queue = Pick<JobQueue, 'enqueueEvaluation'>;
const { QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED } = RunStatus;

export const EVALUATION_TRANSITIONS = {
  create: { from: [], to: QUEUED, by: 'api', when: 'evaluateModel: a new evaluation and its job' },
  cancelQueued: { from: [QUEUED], to: CANCELLED, by: 'api', when: 'cancelEvaluation before a worker claimed it' },
  requestCancel: { from: [RUNNING], to: RUNNING, by: 'api', when: 'cancelEvaluation while a worker captions: it stops after the batch' },
  claim: { from: [QUEUED], to: RUNNING, by: 'worker', when: 'a worker takes the job: progress starts from zero' },
  succeed: { from: [RUNNING], to: SUCCEEDED, by: 'worker', when: 'every image captioned and the metrics stored' },
  fail: { from: [RUNNING], to: FAILED, by: 'worker', when: 'an error (model or dataset unreadable, incompatible vocabulary, …)' },
  stopCancelled: { from: [RUNNING], to: CANCELLED, by: 'worker', when: 'stopped after a batch because a cancel was requested' },
  handBack: { from: [RUNNING], to: QUEUED, by: 'worker', when: 'its worker drains (shutdown): a new job, restarted from zero' },
  reap: { from: [RUNNING], to: QUEUED, by: 'reaper', when: "its worker's beats stopped: a new job, restarted from zero" },
  reapCancelled: { from: [RUNNING], to: CANCELLED, by: 'reaper', when: 'the same, with a cancel pending' },
} as const satisfies Record<string, { from: readonly RunStatus[]; to: RunStatus; by: 'api' | 'worker' | 'reaper'; when: string }>;

export const TERMINAL_EVALUATION_STATUSES: readonly RunStatus[] = [SUCCEEDED, FAILED, CANCELLED];

/** a worker's hold on an evaluation */
export interface EvaluationLease {
  evaluationId: string;
  workerId: string;
}

/** A new QUEUED evaluation and its job, in the caller's transaction. */
export async function createEvaluation(
  tx: TransactionClient,
  queue: Queue,
  data: Prisma.EvaluationUncheckedCreateInput,
): Promise<Evaluation> {
  const row = await tx.evaluation.create({ data: { ...data, status: EVALUATION_TRANSITIONS.create.to } });
  await queue.enqueueEvaluation(tx, { evaluationId: row.id });
  return row;
}

/** QUEUED → CANCELLED at once; RUNNING → cancelRequested. False: it was in neither status (or is gone). */
export function cancelEvaluation(prisma: PrismaClient, id: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const queued = await tx.evaluation.updateMany({
      where: { id, status: { in: [...EVALUATION_TRANSITIONS.cancelQueued.from] } },
      data: { status: EVALUATION_TRANSITIONS.cancelQueued.to, cancelRequested: true, finishedAt: new Date() },
    });
    const applied =
      queued.count > 0 ||
      (
        await tx.evaluation.updateMany({
          where: { id, status: { in: [...EVALUATION_TRANSITIONS.requestCancel.from] } },
          data: { cancelRequested: true },
        })
      ).count > 0;
    if (applied) await notify(tx, 'evaluation', id);
    return applied;
  });
}

/** QUEUED → RUNNING for `workerId`, progress from zero; null when it is not QUEUED (a stale or duplicate job). */
export function claimEvaluation(prisma: PrismaClient, { evaluationId, workerId }: EvaluationLease): Promise<Evaluation | null> {
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.evaluation.updateMany({
      where: { id: evaluationId, status: { in: [...EVALUATION_TRANSITIONS.claim.from] } },
      data: {
        status: EVALUATION_TRANSITIONS.claim.to,
        workerId,
        heartbeatAt: new Date(),
        startedAt: new Date(),
        done: 0,
        error: null,
      },
    });
    if (count === 0) return null;
    await notify(tx, 'evaluation', evaluationId);
    return tx.evaluation.findUnique({ where: { id: evaluationId } });
  }, TRANSACTION_OPTIONS);
}

export interface EvaluationLeaseState {
  /** false: taken back, cancelled while queued, deleted with its model or dataset: stop */
  owned: boolean;
  cancelRequested: boolean;
}

/** Renews the lease and stores `progress` (done, total, the split) with a wake-up; guarded by the lease. */
export function beatEvaluation(
  prisma: PrismaClient,
  { evaluationId, workerId }: EvaluationLease,
  progress: Prisma.EvaluationUpdateManyMutationInput = {},
): Promise<EvaluationLeaseState> {
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.evaluation.updateMany({
      where: { id: evaluationId, workerId, status: RUNNING },
      data: { heartbeatAt: new Date(), ...progress },
    });
    if (count === 0) return { owned: false, cancelRequested: false };
    if (Object.keys(progress).length > 0) await notify(tx, 'evaluation', evaluationId);
    const row = await tx.evaluation.findUnique({ where: { id: evaluationId }, select: { cancelRequested: true } });
    return { owned: true, cancelRequested: row?.cancelRequested ?? false };
  }, TRANSACTION_OPTIONS);
}

/** how an evaluation a worker holds ends */
export type EvaluationEnd =
  | { kind: 'succeeded'; fields: Prisma.EvaluationUpdateManyMutationInput }
  | { kind: 'failed'; error: string }
  | { kind: 'cancelled' }
  /** the worker drains: QUEUED again with a new job */
  | { kind: 'handBack' };

const END_TRANSITION = { succeeded: 'succeed', failed: 'fail', cancelled: 'stopCancelled', handBack: 'handBack' } as const;

/** Ends the evaluation in one transaction with its wake-up; false when it was no longer this worker's. */
export function endEvaluation(prisma: PrismaClient, queue: Queue, lease: EvaluationLease, end: EvaluationEnd): Promise<boolean> {
  const transition = EVALUATION_TRANSITIONS[END_TRANSITION[end.kind]];
  const fields: Prisma.EvaluationUpdateManyMutationInput =
    end.kind === 'handBack'
      ? { workerId: null, heartbeatAt: null, done: 0 }
      : {
          heartbeatAt: null,
          finishedAt: new Date(),
          ...(end.kind === 'succeeded' ? end.fields : {}),
          ...(end.kind === 'failed' ? { error: end.error } : {}),
        };
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.evaluation.updateMany({
      where: { id: lease.evaluationId, workerId: lease.workerId, status: { in: [...transition.from] } },
      data: { status: transition.to, ...fields },
    });
    if (count === 0) return false;
    if (end.kind === 'handBack') await queue.enqueueEvaluation(tx, { evaluationId: lease.evaluationId });
    await notify(tx, 'evaluation', lease.evaluationId);
    return true;
  }, TRANSACTION_OPTIONS);
}

export interface ReapedEvaluation {
  id: string;
  status: typeof QUEUED | typeof CANCELLED;
}

/**
 * In the caller's transaction: the RUNNING evaluations whose last beat is older than `staleAfterSeconds`
 * (not those of `ownWorkerId`), or all of `workerId`'s: QUEUED again with a new job (restarting from zero),
 * or CANCELLED when a cancel was pending.
 */
export async function takeBackEvaluations(
  tx: TransactionClient,
  queue: Queue,
  which: { staleAfterSeconds: number; ownWorkerId?: string | undefined } | { workerId: string },
): Promise<ReapedEvaluation[]> {
  const where =
    'workerId' in which
      ? Prisma.sql`"workerId" = ${which.workerId}`
      : Prisma.sql`"heartbeatAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => ${which.staleAfterSeconds}::double precision)
          AND "workerId" IS DISTINCT FROM ${which.ownWorkerId ?? null}`;
  const rows = await tx.$queryRaw<ReapedEvaluation[]>`
    UPDATE "Evaluation"
    SET "status" = (CASE WHEN "cancelRequested" THEN 'CANCELLED' ELSE 'QUEUED' END)::"RunStatus",
        "finishedAt" = CASE WHEN "cancelRequested" THEN now() AT TIME ZONE 'UTC' END,
        "workerId" = NULL, "heartbeatAt" = NULL, "done" = 0, "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "status" = 'RUNNING' AND ${where}
    RETURNING "id", "status"::text AS "status"`;
  for (const row of rows) {
    if (row.status === QUEUED) await queue.enqueueEvaluation(tx, { evaluationId: row.id });
    await notify(tx, 'evaluation', row.id);
  }
  return rows;
}
