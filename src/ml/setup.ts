// What a training call starts from: a checkpoint to resume (its config, vocabulary, weights, optimiser
// state and position; the settings that fix the data order must not change), a trained model to warm
// start from (its weights, its vocabulary extended by the new data's words: src/ml/warm-start.ts), or a
// new model of random weights.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { BestEpoch } from './best.ts';
import { readCheckpoint, type TrainPosition } from './checkpoint.ts';
import { CaptionModel } from './model/captionModel.ts';
import { DEFAULT_MODEL_CONFIG, DEFAULT_TRAIN_CONFIG } from './model/config.ts';
import { ModelError } from './model/model-error.ts';
import { Adam } from './optimizer.ts';
import type { CaptionedImage, ModelConfig, TrainConfig } from './types.ts';
import { Vocabulary } from './vocab.ts';
import { warmStartFrom } from './warm-start.ts';

/** Settings that fix the data order and split: a resume must keep them. */
const ORDER_KEYS = ['batchSize', 'seed', 'valFraction', 'vocabSize', 'maxLength'] as const;

export function dataKey(train: readonly CaptionedImage[]): string {
  const hash = createHash('sha256');
  for (const img of train) hash.update(`${img.id}\n${img.captions.length}\n`);
  return hash.digest('hex').slice(0, 16);
}

export interface SetupOptions {
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  resumeFrom?: string;
  /** a saved model's folder to start from (ignored when resuming: the checkpoint has the weights) */
  initFrom?: string;
}

export interface Setup {
  config: ModelConfig;
  trainConfig: TrainConfig;
  vocab: Vocabulary;
  model: CaptionModel;
  adam: Adam;
  position: TrainPosition;
  /** the best epoch before a resume */
  best?: BestEpoch;
}

export async function setUp(
  opts: SetupOptions,
  split: (tc: TrainConfig) => { train: CaptionedImage[] },
  channels?: number,
): Promise<Setup> {
  if (opts.resumeFrom) {
    const ck = await readCheckpoint(opts.resumeFrom);
    try {
      const trainConfig = { ...ck.meta.trainConfig, ...opts.train };
      for (const key of ORDER_KEYS) {
        if (trainConfig[key] !== ck.meta.trainConfig[key]) {
          throw new ModelError('INCOMPATIBLE_CHECKPOINT', `resume: ${key} differs from the checkpoint's (${ck.meta.trainConfig[key]})`);
        }
      }
      if (dataKey(split(trainConfig).train) !== ck.meta.dataKey) {
        throw new ModelError('INCOMPATIBLE_CHECKPOINT', 'resume: the training images differ from the checkpoint run');
      }
      const model = CaptionModel.fromTensors(ck.config, ck.meta.channels, ck.weights);
      const adam = new Adam(model.weights.names, model.weights.list(), trainConfig.learningRate);
      await adam.load(ck.optimizer);
      return {
        config: ck.config,
        trainConfig,
        vocab: Vocabulary.fromJSON(ck.vocab),
        model,
        adam,
        position: ck.meta.position,
        ...(ck.meta.best ? { best: ck.meta.best } : {}),
      };
    } finally {
      tf.dispose([...ck.weights.values(), ...ck.optimizer.values()]);
    }
  }
  const trainConfig: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...opts.train };
  const built = Vocabulary.build(
    split(trainConfig).train.flatMap((img) => img.captions),
    { topK: trainConfig.vocabSize, maxLength: trainConfig.maxLength },
  );
  const position = { step: 0, epoch: 0, batch: 0, epochLossSum: 0 };
  const wanted: ModelConfig = { ...DEFAULT_MODEL_CONFIG, ...opts.model, vocabSize: built.size, maxLength: built.maxLength };
  if (opts.initFrom) {
    const { model, vocab, config } = await warmStartFrom(opts.initFrom, wanted, built, trainConfig.seed, channels);
    const adam = new Adam(model.weights.names, model.weights.list(), trainConfig.learningRate);
    return { config, trainConfig, vocab, model, adam, position };
  }
  const model = CaptionModel.create(wanted, trainConfig.seed, channels);
  const adam = new Adam(model.weights.names, model.weights.list(), trainConfig.learningRate);
  return { config: wanted, trainConfig, vocab: built, model, adam, position };
}
