// TrainingRun.config (JSON written by the API) → the ML library's model and train settings.
// Image size and CNN channels use the ML defaults unless the JSON carries `imageSize` / `channels`.
import {
  DEFAULT_CNN_ENCODER,
  type EncoderConfig,
  type ModelConfig,
  type TrainConfig,
} from '../ml/index.ts';
import { JobError } from './helpers.ts';

/** the JSON stored in TrainingRun.config (see src/resolvers/training-run.input.ts) */
export interface RunConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  embeddingDim: number;
  units: number;
  /** top-k words */
  vocabSize: number;
  /** null: from the data */
  maxLength: number | null;
  seed: number;
  valFraction: number;
  checkpointEvery: number;
  /** optional encoder overrides */
  imageSize?: number;
  channels?: number[];
  encoderDim?: number;
  gridSize?: number;
}

const REQUIRED = ['epochs', 'batchSize', 'learningRate', 'embeddingDim', 'units', 'vocabSize', 'seed', 'valFraction', 'checkpointEvery'] as const;

export function parseRunConfig(json: unknown): RunConfig {
  if (typeof json !== 'object' || json === null) throw new JobError('RUN_CONFIG_INVALID', 'training config is not an object');
  const config = json as Record<string, unknown>;
  for (const key of REQUIRED) {
    if (typeof config[key] !== 'number') throw new JobError('RUN_CONFIG_INVALID', `training config: ${key} must be a number`);
  }
  return config as unknown as RunConfig;
}

export interface MlSettings {
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
}

export function mlSettings(run: RunConfig): MlSettings {
  const cnn = DEFAULT_CNN_ENCODER as Extract<EncoderConfig, { kind: 'cnn' }>;
  const model: Partial<ModelConfig> = { units: run.units, embeddingDim: run.embeddingDim };
  if (run.encoderDim !== undefined) model.encoderDim = run.encoderDim;
  if (run.gridSize !== undefined) model.gridSize = run.gridSize;
  if (run.imageSize !== undefined || run.channels !== undefined) {
    model.encoder = { ...cnn, imageSize: run.imageSize ?? cnn.imageSize, channels: run.channels ?? cnn.channels };
  }
  const train: Partial<TrainConfig> = {
    epochs: run.epochs,
    batchSize: run.batchSize,
    learningRate: run.learningRate,
    seed: run.seed,
    topK: run.vocabSize,
    valFraction: run.valFraction,
    checkpointEvery: run.checkpointEvery,
  };
  if (run.maxLength !== null) train.maxLength = run.maxLength;
  return { model, train };
}
