// A long run for the loss-curve tests and bench/loss-curve.ts (issue 19: 300,000 points, 533 epochs),
// its points inserted in one SQL statement: loss 2 + cos(2π·step/steps) with two spikes and a dip at
// fixed fractions of the run, so runs of different lengths have the same shape.
import type { PrismaClient, RunStatus } from '../../src/db/client.ts';

/** batches per epoch: 300,000 steps are 533 epochs */
export const EPOCH_BATCHES = 563;

export const SPIKES = [
  { at: 0.25, loss: 40 },
  { at: 0.7, loss: 25 },
  { at: 0.5, loss: 0.01 },
] as const;

/** the step of a spike at fraction `at` of a run of `steps` */
export const spikeStep = (at: number, steps: number): number => Math.round(at * steps) + 1;

/** the loss stored at `step` (the SQL below, in JS) */
export function lossAt(step: number, steps: number): number {
  const spike = SPIKES.find((s) => spikeStep(s.at, steps) === step);
  return spike ? spike.loss : 2 + Math.cos((2 * Math.PI * step) / steps);
}

/** A dataset and a run at step `steps` with that many loss points; returns the run id. */
export async function insertLongRun(prisma: PrismaClient, steps: number, status: RunStatus = 'SUCCEEDED'): Promise<string> {
  const dataset = await prisma.dataset.create({ data: { name: `long-${steps}-${Date.now()}`, kind: 'SYNTHETIC', status: 'READY' } });
  const epoch = Math.ceil(steps / EPOCH_BATCHES);
  const run = await prisma.trainingRun.create({
    data: { datasetId: dataset.id, status, config: {}, step: steps, epoch, totalSteps: steps },
  });
  const [a, b, c] = SPIKES.map((s) => spikeStep(s.at, steps));
  await prisma.$executeRaw`
    INSERT INTO "LossPoint" ("runId", step, epoch, batch, loss, "examplesPerSec")
    SELECT ${run.id}, i, 1 + (i - 1) / ${EPOCH_BATCHES}::int, 1 + (i - 1) % ${EPOCH_BATCHES}::int,
           CASE i WHEN ${a}::int THEN ${SPIKES[0].loss}::float8 WHEN ${b}::int THEN ${SPIKES[1].loss}::float8
                  WHEN ${c}::int THEN ${SPIKES[2].loss}::float8 ELSE 2 + cos(2 * pi() * i / ${steps}::float8) END,
           50
    FROM generate_series(1, ${steps}::int) AS i`;
  return run.id;
}
