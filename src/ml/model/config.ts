// Model and training configuration: the defaults come from the settings schema (src/ml/settings, the
// one source of truth for names, bounds and defaults), a "baby" configuration that trains in seconds
// for tests, and validation.
import {
  DEFAULT_BACKBONE_IMAGE_SIZE,
  cnnChannelsFor,
  DEFAULT_BATCH_SIZE,
  EPOCHS_WHEN_UNKNOWN,
  MODEL_SIZES,
  DEFAULT_CNN_IMAGE_SIZE,
  defaultsOf,
  ENCODER_SETTINGS,
  MAX_CAPTION_TOKENS,
  SPECIAL_TOKENS,
  TRAINING_SETTINGS,
  cnnGeometryProblem,
  cnnStages,
  type RunSettings,
  type SettingValues,
} from '../settings/index.ts';
import type { EncoderConfig, ModelConfig, TrainConfig } from '../types.ts';
import { ModelError } from './model-error.ts';

export { DEFAULT_BACKBONE_IMAGE_SIZE };

const training = defaultsOf(TRAINING_SETTINGS);
const encoder = defaultsOf(ENCODER_SETTINGS);

/** Small CNN trained end to end: DEFAULT_CNN_IMAGE_SIZE px → conv+pool stages → gridSize² cells. */
export const DEFAULT_CNN_ENCODER: EncoderConfig = {
  kind: 'cnn',
  imageSize: DEFAULT_CNN_IMAGE_SIZE,
  channels: cnnChannelsFor(cnnStages(DEFAULT_CNN_IMAGE_SIZE, encoder.gridSize) ?? 1, MODEL_SIZES.seed.cnnWidth),
};

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  encoder: DEFAULT_CNN_ENCODER,
  gridSize: encoder.gridSize,
  encoderDim: MODEL_SIZES.seed.encoderDim,
  embeddingDim: MODEL_SIZES.seed.embeddingDim,
  units: MODEL_SIZES.seed.units,
  vocabSize: training.vocabSize + SPECIAL_TOKENS,
  maxLength: training.maxLength ?? MAX_CAPTION_TOKENS,
  attentionLambda: training.attentionLambda,
  deepOutput: training.deepOutput,
  contextDropout: training.contextDropout,
};

/** Tiny model for tests: 32 px images, two conv stages, small recurrent state. */
export const BABY_MODEL_CONFIG: ModelConfig = {
  encoder: { kind: 'cnn', imageSize: 32, channels: [8, 16] },
  gridSize: 8,
  encoderDim: 32,
  embeddingDim: 32,
  units: 64,
  vocabSize: 64,
  maxLength: 16,
  attentionLambda: 0,
};

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: training.epochs ?? EPOCHS_WHEN_UNKNOWN,
  patience: training.patience,
  batchSize: DEFAULT_BATCH_SIZE,
  learningRate: MODEL_SIZES.seed.learningRate,
  learningRateEnd: training.learningRateEnd,
  clipNorm: training.clipNorm,
  seed: training.seed,
  vocabSize: training.vocabSize,
  valFraction: training.valFraction,
  checkpointEvery: training.checkpointEvery,
  checkpointMinutes: training.checkpointMinutes,
};

/** Number of 2× pooling stages the CNN needs to bring imageSize down to gridSize. */
export function poolingStages(config: ModelConfig): number {
  return cnnStages(config.encoder.imageSize, config.gridSize) ?? Math.round(Math.log2(config.encoder.imageSize / config.gridSize));
}

/** Throws INVALID_CONFIG when the configuration cannot build a model. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  const positive: (keyof ModelConfig)[] = ['gridSize', 'encoderDim', 'embeddingDim', 'units', 'vocabSize', 'maxLength'];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ModelError('INVALID_CONFIG', `model config: ${key} must be a positive integer (got ${String(value)})`);
    }
  }
  if (!(config.attentionLambda >= 0)) {
    throw new ModelError('INVALID_CONFIG', `model config: attentionLambda must be ≥ 0 (got ${config.attentionLambda})`);
  }
  const { encoder } = config;
  if (encoder.kind === 'cnn') {
    const problem = cnnGeometryProblem(encoder.imageSize, config.gridSize, encoder.channels);
    if (problem) throw new ModelError('INVALID_CONFIG', `cnn encoder: ${problem[0]}: ${problem[1]}`);
  } else if (!encoder.url) {
    throw new ModelError('INVALID_CONFIG', 'pretrained encoder: url is required');
  }
  return config;
}

export interface MlConfigs {
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
}

/**
 * Run settings (all of them, or only those a user gave) → the ML library's model and train configs; what
 * is absent takes train()'s defaults, which are the schema's. `featureCacheDir`: where a backbone's
 * features are cached (keyed by backbone, layer, size and grid, so runs on one dataset share it).
 */
export function mlConfigs(run: Partial<RunSettings> | Partial<SettingValues>, featureCacheDir?: string): MlConfigs {
  const model: Partial<ModelConfig> = {};
  const train: Partial<TrainConfig> = {};
  const copy = <S, D>(from: S, to: D, keys: (keyof S & keyof D)[]) => {
    for (const key of keys) if (from[key] !== undefined && from[key] !== null) (to as Record<string, unknown>)[key as string] = from[key];
  };
  copy(run, model, ['units', 'embeddingDim', 'encoderDim', 'gridSize', 'attentionLambda', 'deepOutput', 'contextDropout']);
  copy(run, train, [
    'epochs',
    'batchSize',
    'learningRate',
    'learningRateEnd',
    'clipNorm',
    'seed',
    'vocabSize',
    'maxLength',
    'valFraction',
    'checkpointEvery',
    'checkpointMinutes',
    'patience',
  ]);
  const cnn = DEFAULT_CNN_ENCODER as Extract<EncoderConfig, { kind: 'cnn' }>;
  if (run.backbone) {
    // channels configure the CNN only (the API refuses them with a backbone; stored runs carry the default)
    model.encoder = {
      kind: 'pretrained',
      url: run.backbone,
      ...(run.backboneLayer ? { layer: run.backboneLayer } : {}),
      imageSize: run.imageSize ?? DEFAULT_BACKBONE_IMAGE_SIZE,
      ...(featureCacheDir ? { cacheDir: featureCacheDir } : {}),
    };
  } else if (run.imageSize != null || run.channels != null) {
    model.encoder = { ...cnn, imageSize: run.imageSize ?? cnn.imageSize, channels: run.channels ?? cnn.channels };
  }
  return { model, train };
}
