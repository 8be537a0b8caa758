// TrainingRun.config (JSON written by the API) → the ML library's model and train settings.
// With `backbone` the encoder is that pretrained TF.js model (`backboneLayer`, `imageSize`, default
// 224 px), its features cached on disk; otherwise the CNN, whose image size and channels use the ML
// defaults unless the JSON carries `imageSize` / `channels`.
import {
  DEFAULT_BACKBONE_IMAGE_SIZE,
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
  /** pretrained encoder: TF.js model.json URL or absolute path (absent: the CNN) */
  backbone?: string;
  /** backbone layer giving the feature map (absent: the backbone's output) */
  backboneLayer?: string;
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
  const optional: [string, 'string' | 'number'][] = [['backbone', 'string'], ['backboneLayer', 'string'], ['imageSize', 'number']];
  for (const [key, type] of optional) {
    if (config[key] != null && typeof config[key] !== type) throw new JobError('RUN_CONFIG_INVALID', `training config: ${key} must be a ${type}`);
  }
  return config as unknown as RunConfig;
}


export interface MlSettings {
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
}

export interface MlPaths {
  /**
   * Feature cache of a pretrained backbone (e.g. <datasets>/<dataset id>/features): the backbone keys
   * its files by a hash of (url, layer, image size, input range, grid), so runs on one dataset with
   * the same backbone share the cache and different backbones do not mix.
   */
  featureCacheDir: string;
}

export function mlSettings(run: RunConfig, paths: MlPaths): MlSettings {
  const cnn = DEFAULT_CNN_ENCODER as Extract<EncoderConfig, { kind: 'cnn' }>;
  const model: Partial<ModelConfig> = { units: run.units, embeddingDim: run.embeddingDim };
  if (run.encoderDim != null) model.encoderDim = run.encoderDim;
  if (run.gridSize != null) model.gridSize = run.gridSize;
  if (run.backbone != null) {
    if (run.channels != null) throw new JobError('RUN_CONFIG_INVALID', 'training config: channels configure the CNN encoder, not a backbone');
    model.encoder = {
      kind: 'pretrained',
      url: run.backbone,
      ...(run.backboneLayer != null ? { layer: run.backboneLayer } : {}),
      imageSize: run.imageSize ?? DEFAULT_BACKBONE_IMAGE_SIZE,
      cacheDir: paths.featureCacheDir,
    };
  } else if (run.imageSize != null || run.channels != null) {
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
  if (run.maxLength != null) train.maxLength = run.maxLength;
  return { model, train };
}
