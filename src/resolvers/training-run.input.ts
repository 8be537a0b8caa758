import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { BadUserInputError } from './errors.ts';
import type { TrainingConfig } from './training-run.type.ts';
import { checkRange } from './validate.ts';

@InputType({ description: 'Omitted hyper-parameters take the defaults shown in each field' })
export class StartTrainingInput {
  @Field(() => ID)
  datasetId!: string;

  @Field(() => Int, { nullable: true, description: 'default 10, 1..1000' })
  epochs?: number | null;

  @Field(() => Int, { nullable: true, description: 'default 32, 1..1024' })
  batchSize?: number | null;

  @Field(() => Float, { nullable: true, description: 'default 0.001, > 0 and ≤ 1' })
  learningRate?: number | null;

  @Field(() => Int, { nullable: true, description: 'default 256, 8..4096' })
  embeddingDim?: number | null;

  @Field(() => Int, { nullable: true, description: 'GRU/attention units, default 512, 8..4096' })
  units?: number | null;

  @Field(() => Int, { nullable: true, description: 'top-k vocabulary words, default 5000, 10..100000' })
  vocabSize?: number | null;

  @Field(() => Int, { nullable: true, description: 'caption cap in tokens incl. <start>/<end>, 3..200; default: from the data' })
  maxLength?: number | null;

  @Field(() => Int, { nullable: true, description: 'default 42, 0..2147483647' })
  seed?: number | null;

  @Field(() => Float, { nullable: true, description: 'validation fraction (split by image), default 0.1, 0..0.5' })
  valFraction?: number | null;

  @Field(() => Int, { nullable: true, description: 'checkpoint every N batches, default 0 (only at epoch end)' })
  checkpointEvery?: number | null;
}

export const TRAINING_DEFAULTS: TrainingConfig = {
  epochs: 10,
  batchSize: 32,
  learningRate: 0.001,
  embeddingDim: 256,
  units: 512,
  vocabSize: 5000,
  maxLength: null,
  seed: 42,
  valFraction: 0.1,
  checkpointEvery: 0,
};

/** Validates the hyper-parameters and fills in the defaults; errors name the field ("input.batchSize"). */
export function resolveTrainingConfig(input: StartTrainingInput): TrainingConfig {
  const d = TRAINING_DEFAULTS;
  const learningRate = input.learningRate ?? d.learningRate;
  if (!(learningRate > 0 && learningRate <= 1)) {
    throw new BadUserInputError('input.learningRate', `must be > 0 and ≤ 1, got ${learningRate}`);
  }
  return {
    epochs: checkRange('input.epochs', input.epochs ?? d.epochs, 1, 1000),
    batchSize: checkRange('input.batchSize', input.batchSize ?? d.batchSize, 1, 1024),
    learningRate,
    embeddingDim: checkRange('input.embeddingDim', input.embeddingDim ?? d.embeddingDim, 8, 4096),
    units: checkRange('input.units', input.units ?? d.units, 8, 4096),
    vocabSize: checkRange('input.vocabSize', input.vocabSize ?? d.vocabSize, 10, 100_000),
    maxLength: input.maxLength == null ? null : checkRange('input.maxLength', input.maxLength, 3, 200),
    seed: checkRange('input.seed', input.seed ?? d.seed, 0, 2_147_483_647),
    valFraction: checkRange('input.valFraction', input.valFraction ?? d.valFraction, 0, 0.5),
    checkpointEvery: checkRange('input.checkpointEvery', input.checkpointEvery ?? d.checkpointEvery, 0, 1_000_000),
  };
}
