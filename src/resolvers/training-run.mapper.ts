// Prisma TrainingRun row → GraphQL TrainingRun (the config JSON is written by startTraining).
import type { TrainingRun as TrainingRunRow } from '../db/client.ts';
import type { TrainingConfig, TrainingRun } from './training-run.type.ts';

export function toTrainingRun(row: TrainingRunRow): TrainingRun {
  return { ...row, config: row.config as unknown as TrainingConfig };
}
