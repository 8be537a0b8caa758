// Which split an evaluation scores: the seed and validation fraction the model's run trained with, read from
// the model folder's training-data.json as `glimpse eval --model DIR` reads them (src/ml/training-data.ts),
// else from its run's config, else the training defaults. Applied to the evaluated dataset with the same
// split function, so the API and the CLI score the same images.
import { type Evaluation, EvaluationSplit, type PrismaClient } from '../db/client.ts';
import { defaultsOf, readTrainingData, TRAINING_SETTINGS, type EvalSplit } from '../ml/index.ts';

export const SPLITS: Record<EvaluationSplit, EvalSplit> = {
  [EvaluationSplit.VALIDATION]: 'val',
  [EvaluationSplit.TRAIN]: 'train',
  [EvaluationSplit.ALL]: 'all',
};

export interface SplitSettings {
  seed: number;
  valFraction: number;
}

export async function splitSettings(prisma: PrismaClient, evaluation: Evaluation, modelDir: string): Promise<SplitSettings> {
  const record = await readTrainingData(modelDir);
  if (record) return { seed: record.split.seed, valFraction: record.split.valFraction };
  const defaults = defaultsOf(TRAINING_SETTINGS);
  const model = await prisma.model.findUnique({ where: { id: evaluation.modelId }, select: { run: { select: { config: true } } } });
  const config = (model?.run?.config ?? {}) as { seed?: unknown; valFraction?: unknown };
  return {
    seed: typeof config.seed === 'number' ? config.seed : defaults.seed,
    valFraction: typeof config.valFraction === 'number' ? config.valFraction : defaults.valFraction,
  };
}
