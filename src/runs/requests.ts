// What the API asks of a run (RUN_TRANSITIONS create, cancelQueued, requestCancel, resume) and its
// deletion. Each change applies in one transaction with its job and its wake-up, or reports that the
// run was not in a status it applies to (the resolver explains why, with the run as it is now).
import type { JobPriority, Prisma, PrismaClient, RunStatus, TrainingRun, TransactionClient } from '../db/client.ts';
import { notify } from '../events/notify.ts';
import type { JobQueue } from '../queue/queue.ts';
import { isTerminalRun, RUN_TRANSITIONS, statusFor } from './transitions.ts';

type Queue = Pick<JobQueue, 'enqueueTraining'>;

/** A new QUEUED run and its job, in the caller's transaction. `totalSteps`: an estimate until a worker reads the dataset. */
export async function createRun(
  tx: TransactionClient,
  queue: Queue,
  data: {
    datasetId: string;
    config: Prisma.InputJsonObject;
    totalSteps: number | null;
    modelName: string | null;
    createdByKey: string | null;
    /** warm start: the model whose weights the run starts from */
    parentModelId?: string | null;
    priority?: JobPriority;
  },
): Promise<TrainingRun> {
  const run = await tx.trainingRun.create({ data: { ...data, status: RUN_TRANSITIONS.create.to } });
  await queue.enqueueTraining(tx, { runId: run.id });
  return run;
}

/** `change` and, when it applied, the run's wake-up, in one transaction (Prisma's default timeouts: an API request) */
function changeRun(prisma: PrismaClient, id: string, change: (tx: TransactionClient) => Promise<boolean>): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    if (!(await change(tx))) return false;
    await notify(tx, 'training_run', id);
    return true;
  });
}

/** QUEUED → CANCELLED at once; RUNNING → cancelRequested (its worker stops at the next batch). False: neither applied. */
export function cancelRun(prisma: PrismaClient, id: string): Promise<boolean> {
  return changeRun(prisma, id, async (tx) => {
    const queued = await tx.trainingRun.updateMany({
      where: { id, status: statusFor('cancelQueued') },
      data: { status: RUN_TRANSITIONS.cancelQueued.to, cancelRequested: true, finishedAt: new Date() },
    });
    if (queued.count > 0) return true;
    const running = await tx.trainingRun.updateMany({ where: { id, status: statusFor('requestCancel') }, data: { cancelRequested: true } });
    return running.count > 0;
  });
}

/** FAILED or CANCELLED → QUEUED with a new job (it continues from its last checkpoint). False: not applied. */
export function resumeRun(prisma: PrismaClient, queue: Queue, id: string): Promise<boolean> {
  return changeRun(prisma, id, async (tx) => {
    const resumed = await tx.trainingRun.updateMany({
      where: { id, status: statusFor('resume') },
      data: { status: RUN_TRANSITIONS.resume.to, cancelRequested: false, error: null, finishedAt: null },
    });
    if (resumed.count === 0) return false;
    await queue.enqueueTraining(tx, { runId: id });
    return true;
  });
}

export type RunDeletion =
  /** deleted with its loss points, epochs and checkpoints; its model stays (model.run becomes null) */
  | { deleted: true; checkpointBlobIds: (string | null)[] }
  /** not deleted: no such run (status null), or not in a terminal status */
  | { deleted: false; status: RunStatus | null };

/**
 * In the caller's transaction: locks the run (FOR UPDATE: a concurrent resumeRun or worker write
 * waits for that transaction) and deletes it when it is terminal. The caller deletes the checkpoints'
 * blobs that no other row shares in the same transaction.
 */
export async function deleteRun(tx: TransactionClient, id: string): Promise<RunDeletion> {
  const [run] = await tx.$queryRaw<{ status: RunStatus }[]>`SELECT "status" FROM "TrainingRun" WHERE "id" = ${id} FOR UPDATE`;
  if (run === undefined || !isTerminalRun(run.status)) return { deleted: false, status: run?.status ?? null };
  await tx.model.updateMany({ where: { runId: id }, data: { runId: null } });
  const checkpoints = await tx.checkpoint.findMany({ where: { runId: id }, select: { blobId: true } });
  await tx.trainingRun.delete({ where: { id } });
  return { deleted: true, checkpointBlobIds: checkpoints.map((c) => c.blobId) };
}
