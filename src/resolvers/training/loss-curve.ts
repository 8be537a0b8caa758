// A run's loss curve after `sinceStep`: every point, or for long runs `maxPoints` buckets of
// consecutive steps (mean loss and throughput, labelled with the bucket's last step/epoch/batch).
import type { PrismaClient } from '../../db/client.ts';
import type { LossPoint } from './training-history.type.ts';

export async function lossCurve(prisma: PrismaClient, runId: string, sinceStep: number, maxPoints: number): Promise<LossPoint[]> {
  const where = { runId, step: { gt: sinceStep } };
  const count = await prisma.lossPoint.count({ where });
  if (count <= maxPoints) {
    return prisma.lossPoint.findMany({
      where,
      orderBy: { step: 'asc' },
      select: { step: true, epoch: true, batch: true, loss: true, examplesPerSec: true },
    });
  }
  return prisma.$queryRaw<LossPoint[]>`
    SELECT max(step)::int AS step,
           (array_agg(epoch ORDER BY step DESC))[1]::int AS epoch,
           (array_agg(batch ORDER BY step DESC))[1]::int AS batch,
           avg(loss)::float8 AS loss,
           avg("examplesPerSec")::float8 AS "examplesPerSec"
    FROM (
      SELECT step, epoch, batch, loss, "examplesPerSec", ntile(${maxPoints}::int) OVER (ORDER BY step) AS bucket
      FROM "LossPoint" WHERE "runId" = ${runId} AND step > ${sinceStep}::int
    ) AS buckets
    GROUP BY bucket
    ORDER BY bucket`;
}
