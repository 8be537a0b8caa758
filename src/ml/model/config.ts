// Model and training configuration: defaults (the seed's hyper-parameters) at the top, a "baby"
// configuration that trains in seconds for tests, and validation.
import type { EncoderConfig, ModelConfig, TrainConfig } from '../types.ts';
import { ModelError } from './errors.ts';

/** Small CNN trained end to end: 128 px → four conv+pool stages → 8×8 grid of 256 channels. */
/** Input side of a pretrained backbone when none is given (MobileNet's and most TF Hub image models'). */
export const DEFAULT_BACKBONE_IMAGE_SIZE = 224;

export const DEFAULT_CNN_ENCODER: EncoderConfig = { kind: 'cnn', imageSize: 128, channels: [32, 64, 128, 256] };

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  encoder: DEFAULT_CNN_ENCODER,
  gridSize: 8,
  encoderDim: 256,
  embeddingDim: 256,
  units: 512,
  vocabSize: 5004,
  maxLength: 50,
  attentionLambda: 0,
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
  epochs: 20,
  batchSize: 64,
  learningRate: 1e-3,
  clipNorm: 5,
  seed: 42,
  topK: 5000,
  valFraction: 0.1,
  checkpointEvery: 0,
};

/** Number of 2× pooling stages the CNN needs to bring imageSize down to gridSize. */
export function poolingStages(config: ModelConfig): number {
  const ratio = config.encoder.imageSize / config.gridSize;
  return Math.round(Math.log2(ratio));
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
    const stages = poolingStages(config);
    if (stages < 0 || encoder.imageSize !== config.gridSize * 2 ** stages) {
      throw new ModelError(
        'INVALID_CONFIG',
        `cnn encoder: imageSize ${encoder.imageSize} must be gridSize ${config.gridSize} × a power of two`,
      );
    }
    if (encoder.channels.length < stages || encoder.channels.length === 0) {
      throw new ModelError(
        'INVALID_CONFIG',
        `cnn encoder: ${stages} pooling stages need at least ${Math.max(stages, 1)} conv channel entries`,
      );
    }
  } else if (!encoder.url) {
    throw new ModelError('INVALID_CONFIG', 'pretrained encoder: url is required');
  }
  return config;
}
