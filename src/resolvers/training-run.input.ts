import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { BadUserInputError } from './errors.ts';
import type { TrainingConfig } from './training-run.type.ts';
import { checkModelLocation, checkName, checkRange } from './validate.ts';

/** Input side of a pretrained backbone when imageSize is not given (MobileNet's; as the CLI's). */
/** the API's documented default; src/ml's DEFAULT_BACKBONE_IMAGE_SIZE (resolvers do not import src/ml) */
export const BACKBONE_IMAGE_SIZE = 224;
/** Input sizes of the default CNN: its 8×8 grid × a power of two, at most its 4 pooling stages. */
export const CNN_IMAGE_SIZES = [32, 64, 128] as const;

@InputType({ description: 'The image encoder: a pretrained TF.js backbone, or (without backbone) the default CNN trained end to end' })
export class EncoderInput {
  @Field(() => String, {
    nullable: true,
    description:
      'TF.js model.json (LayersModel or GraphModel) as an http(s):// URL or an absolute path on the server; ' +
      'the worker downloads it when the run starts and again when the model captions. Omitted: the default CNN',
  })
  backbone?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "backbone layer (GraphModel: node) whose output is the feature map, ≤ 200 characters; default: the model's output. Needs backbone",
  })
  backboneLayer?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: `square input side in pixels. With backbone: 32..1024, default ${BACKBONE_IMAGE_SIZE}; without: the CNN's ${CNN_IMAGE_SIZES.join(', ')} (default 128)`,
  })
  imageSize?: number | null;
}

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

  @Field(() => EncoderInput, { nullable: true, description: 'default: the CNN encoder at 128 px' })
  encoder?: EncoderInput | null;
}

type EncoderSettings = Pick<TrainingConfig, 'backbone' | 'backboneLayer' | 'imageSize'>;

/** The encoder keys stored in TrainingRun.config; only those that apply (none: the default CNN). */
function resolveEncoder(input: EncoderInput | null | undefined): EncoderSettings {
  if (!input) return {};
  const field = (name: keyof EncoderInput) => `input.encoder.${name}`;
  if (input.backbone == null) {
    if (input.backboneLayer != null) throw new BadUserInputError(field('backboneLayer'), 'needs input.encoder.backbone');
    if (input.imageSize == null) return {};
    if (!(CNN_IMAGE_SIZES as readonly number[]).includes(input.imageSize)) {
      throw new BadUserInputError(
        field('imageSize'),
        `without a backbone the CNN encoder takes ${CNN_IMAGE_SIZES.join(', ')}, got ${input.imageSize}`,
      );
    }
    return { imageSize: input.imageSize };
  }
  const backbone = checkModelLocation(field('backbone'), input.backbone);
  const imageSize = checkRange(field('imageSize'), input.imageSize ?? BACKBONE_IMAGE_SIZE, 32, 1024);
  if (input.backboneLayer == null) return { backbone, imageSize };
  return { backbone, backboneLayer: checkName(field('backboneLayer'), input.backboneLayer, 200), imageSize };
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
    ...resolveEncoder(input.encoder),
  };
}
