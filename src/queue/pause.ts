// Operator control of the queues (pauseQueue / resumeQueue): one QueueState row per queue that was ever
// paused. Workers read the paused set every polling interval (src/jobs/queue-gate.ts) and stop fetching
// from a paused queue; its jobs stay in pg-boss, waiting, and run once it is resumed. A job already
// running when its queue is paused runs to its end.
import type { PrismaClient } from '../db/client.ts';
import { notify } from '../events/index.ts';
import type { QueueName } from './names.ts';

/** the queues paused now */
export async function pausedQueues(prisma: Pick<PrismaClient, 'queueState'>): Promise<Set<string>> {
  const rows = await prisma.queueState.findMany({ where: { paused: true }, select: { name: true } });
  return new Set(rows.map((r) => r.name));
}

/** pauses (`paused` true) or resumes the queue; `by`: the caller's key name. A `worker` wake-up tells dashboards. */
export async function setQueuePaused(prisma: PrismaClient, name: QueueName, paused: boolean, by: string | null): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.queueState.upsert({
      where: { name },
      create: { name, paused, changedBy: by },
      update: { paused, changedBy: by, changedAt: new Date() },
    });
    await notify(tx, 'worker');
  });
}
