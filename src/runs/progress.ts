// What the training job writes about its run while it trains, each inside writeLeased's transaction
// (src/runs/lease.ts): the planned number of steps, one LossPoint per batch with the run's progress,
// one EpochSummary per epoch. A resumed run recomputes steps already stored: those rows are kept
// (ON CONFLICT DO NOTHING) and its progress never moves back.
import type { TransactionClient } from '../db/client.ts';

export interface StepRecord {
  step: number;
  epoch: number;
  batch: number;
  loss: number;
  examplesPerSec: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  valLoss: number | null;
  bleu4: number | null;
  objectF1: number | null;
  exactRate: number | null;
}

/** the exact number of steps, once the worker has read the dataset (the API stored an estimate) */
export async function setTotalSteps(tx: TransactionClient, runId: string, totalSteps: number): Promise<void> {
  await tx.trainingRun.update({ where: { id: runId }, data: { totalSteps } });
}

export async function recordStep(tx: TransactionClient, runId: string, e: StepRecord): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "LossPoint" ("runId", "step", "epoch", "batch", "loss", "examplesPerSec")
    VALUES (${runId}, ${e.step}, ${e.epoch}, ${e.batch}, ${e.loss}, ${e.examplesPerSec})
    ON CONFLICT DO NOTHING`;
  await tx.$executeRaw`
    UPDATE "TrainingRun" SET "step" = GREATEST("step", ${e.step}), "epoch" = GREATEST("epoch", ${e.epoch}),
      "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${runId}`;
}

export async function recordEpochSummary(tx: TransactionClient, runId: string, e: EpochRecord): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "EpochSummary" ("runId", "epoch", "step", "trainLoss", "valLoss", "bleu4", "objectF1", "exactRate")
    VALUES (${runId}, ${e.epoch}, ${e.step}, ${e.trainLoss}, ${e.valLoss}, ${e.bleu4}, ${e.objectF1}, ${e.exactRate})
    ON CONFLICT DO NOTHING`;
}
