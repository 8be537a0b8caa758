// Training loop: teacher forcing, masked cross-entropy, Adam with global-norm clipping, seeded
// per-epoch data order, checkpoints (every N batches, every M minutes, at each epoch end and on abort),
// resume and warm start (src/ml/setup.ts), early stopping on validation loss (`patience`).
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildExamples, batchExamples, captionMatrix, epochOrder, InputCache } from './batches.ts';
import { readCheckpointConfig, writeCheckpoint, type CheckpointMeta } from './checkpoint.ts';
import { splitByImage } from './data/coco.ts';
import { BestWeights, type BestEpoch } from './best.ts';
import { COLORS, SHAPES } from './data/shapes/scene.ts';
import { captionBleu, captionImages, validationLoss } from './evaluate.ts';
import { objectScores } from './metrics/objects.ts';
import { createInputSource } from './encoder-inputs.ts';
import type { BackboneAccess } from './model/backbone.ts';
import { CaptionModel, type EncoderInput } from './model/captionModel.ts';
import { DEFAULT_MODEL_CONFIG } from './model/config.ts';
import { ModelError } from './model/model-error.ts';
import type { Adam } from './optimizer.ts';
import { learningRateAt } from './schedule.ts';
import { dataKey, setUp } from './setup.ts';
import type { BatchEvent, CaptionedImage, CheckpointEvent, EpochEvent, ModelConfig, TrainConfig } from './types.ts';
import type { Vocabulary } from './vocab.ts';

export interface TrainOptions {
  /** every image with its captions; split by image into train/val (valFraction, seed) */
  images: readonly CaptionedImage[];
  /** checkpoints are written to <checkpointDir>/step-<step> */
  checkpointDir: string;
  /** model settings; vocabSize and maxLength come from the vocabulary */
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  /** a checkpoint directory to continue from (its model config, vocabulary and data order) */
  resumeFrom?: string;
  /** a saved model's folder whose weights the run starts from (warm start; not used when resuming) */
  initFrom?: string;
  /**
   * checked between batches; on abort a checkpoint is written and TrainingAbortedError thrown. Also
   * stops a backbone download: TrainingAbortedError without a checkpoint
   */
  signal?: AbortSignal;
  /** how a pretrained backbone's files are read (default: fetch and fs) */
  backboneAccess?: BackboneAccess;
  onBatchEnd?: (event: BatchEvent) => void | Promise<void>;
  onEpochEnd?: (event: EpochEvent) => void | Promise<void>;
  onCheckpoint?: (event: CheckpointEvent) => void | Promise<void>;
  /** at most this many validation images are captioned for BLEU at each epoch end (default 200; 0 = none) */
  evalImages?: number;
  /** decoded inputs kept in memory (default 1 GiB) */
  cacheBytes?: number;
  /** end with the best epoch's weights by validation loss (default true); false: the last epoch's */
  keepBest?: boolean;
  /** on resume: where the predecessor's best epoch checkpoint is on this machine (default: the path the checkpoint recorded) */
  bestCheckpointDir?: string;
}

export interface TrainResult {
  /** the trained model (the caller disposes it) */
  model: CaptionModel;
  vocab: Vocabulary;
  config: ModelConfig;
  trainConfig: TrainConfig;
  step: number;
  /** epoch summaries of this call */
  epochs: EpochEvent[];
  lastCheckpoint: CheckpointEvent | null;
  /** the epoch whose weights `model` has (the lowest validation loss; null: none measured, the last weights) */
  bestEpoch: BestEpoch | null;
  /** why training ended: every epoch done, or early stopping (`patience`) */
  stopReason: string;
}

/** Early stopping: the reason to stop before the next epoch, when the best is `patience` epochs behind. */
function earlyStop(patience: number | undefined, best: BestEpoch | null, epochsDone: number): string | null {
  if (!patience || !best || epochsDone - best.epoch < patience) return null;
  return `early stopping after epoch ${epochsDone}: the validation loss had not improved for ${patience} epoch${patience === 1 ? '' : 's'} (best: epoch ${best.epoch}, ${best.valLoss.toFixed(4)})`;
}

export class TrainingAbortedError extends Error {
  readonly code = 'TRAINING_ABORTED';

  /** checkpoint null: stopped before training began (while its backbone was loading) */
  constructor(readonly checkpoint: CheckpointEvent | null) {
    super(
      checkpoint ? `training aborted at step ${checkpoint.step}; checkpoint ${checkpoint.path}` : 'training aborted before its first step',
    );
    this.name = 'TrainingAbortedError';
  }
}

/** One optimisation step; returns the batch loss. */
function trainStep(model: CaptionModel, adam: Adam, input: EncoderInput, captions: tf.Tensor2D, clipNorm: number, seed: number): number {
  const vars = model.weights.list();
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(input, captions, { seed }), vars);
    adam.apply(
      vars.map((v) => grads[v.name]),
      clipNorm,
    );
    return value;
  });
  const value = loss.dataSync()[0];
  loss.dispose();
  if (!Number.isFinite(value)) throw new ModelError('INVALID_CONFIG', `loss became ${value}; lower the learning rate`);
  return value;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const split = (tc: TrainConfig) => splitByImage(opts.images, tc.valFraction, tc.seed);
  // the input source needs the model config; a resume reads it from the checkpoint first
  const configForSource = opts.resumeFrom
    ? await readCheckpointConfig(opts.resumeFrom)
    : ({ ...DEFAULT_MODEL_CONFIG, ...opts.model } as ModelConfig);
  const source = await createInputSource(configForSource, {
    ...(opts.backboneAccess ? { backboneAccess: opts.backboneAccess } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  }).catch((err: unknown) => {
    throw opts.signal?.aborted ? new TrainingAbortedError(null) : err;
  });
  const { config, trainConfig, vocab, model, adam, position, best } = await setUp(opts, split, source.channels).catch((err: unknown) => {
    source.dispose();
    throw err;
  });
  const bestWeights = new BestWeights(best ? { ...best, ...(opts.bestCheckpointDir ? { checkpoint: opts.bestCheckpointDir } : {}) } : null);
  const caches: InputCache[] = [];
  try {
    const { train: trainImages, val: valImages } = split(trainConfig);
    if (trainImages.length === 0) throw new ModelError('EMPTY_DATASET', 'no training images');
    const examples = buildExamples(trainImages, vocab);
    const valExamples = buildExamples(valImages, vocab);
    const budget = opts.cacheBytes ?? 2 ** 30;
    const trainInputs = new InputCache(trainImages, source, budget);
    const valInputs = new InputCache(valImages, source, budget / 4);
    caches.push(trainInputs, valInputs);
    const evalImages = valImages.slice(0, opts.evalImages ?? 200);
    const batchesPerEpoch = Math.ceil(examples.length / trainConfig.batchSize);
    const meta = (): Omit<CheckpointMeta, 'format'> => ({
      position: { ...position },
      trainConfig,
      channels: model.channels,
      dataKey: dataKey(trainImages),
      ...(bestWeights.best ? { best: bestWeights.best } : {}),
    });
    let lastCheckpoint: CheckpointEvent | null = null;
    // a time-based checkpoint is due this long after the last checkpoint (or the start of this call)
    const everyMs = (trainConfig.checkpointMinutes ?? 0) * 60_000;
    let lastCheckpointAt = performance.now();
    const checkpoint = async (): Promise<CheckpointEvent> => {
      const dir = path.join(opts.checkpointDir, `step-${String(position.step).padStart(7, '0')}`);
      await adam.withState((state) =>
        writeCheckpoint(dir, {
          meta: meta(),
          config,
          vocab: vocab.toJSON(),
          weights: model.weights.entries(),
          optimizer: { ...adam.config, state },
        }),
      );
      lastCheckpoint = { step: position.step, epoch: position.epoch + 1, path: dir };
      lastCheckpointAt = performance.now();
      await opts.onCheckpoint?.(lastCheckpoint);
      return lastCheckpoint;
    };

    if (position.batch >= batchesPerEpoch) Object.assign(position, { epoch: position.epoch + 1, batch: 0, epochLossSum: 0 });
    const epochs: EpochEvent[] = [];
    let stopReason = `all ${trainConfig.epochs} epoch${trainConfig.epochs === 1 ? '' : 's'}`;
    for (; position.epoch < trainConfig.epochs; Object.assign(position, { epoch: position.epoch + 1, batch: 0, epochLossSum: 0 })) {
      // checked before an epoch, so a run resumed from the checkpoint of the epoch it stopped at stops there again
      const early = earlyStop(trainConfig.patience, bestWeights.best, position.epoch);
      if (early) {
        stopReason = early;
        break;
      }
      const order = epochOrder(examples.length, trainConfig.seed, position.epoch);
      for (; position.batch < batchesPerEpoch; ) {
        await new Promise((resolveFn) => setImmediate(resolveFn));
        if (opts.signal?.aborted) throw new TrainingAbortedError(await checkpoint());
        const batch = batchExamples(examples, order, position.batch, trainConfig.batchSize);
        const started = performance.now();
        const input = await trainInputs.batch(batch.map((e) => e.image));
        const captions = captionMatrix(batch);
        adam.setLearningRate(
          learningRateAt(position.step, batchesPerEpoch * trainConfig.epochs, trainConfig.learningRate, trainConfig.learningRateEnd ?? 1),
        );
        const loss = trainStep(
          model,
          adam,
          input as EncoderInput,
          captions,
          trainConfig.clipNorm,
          trainConfig.seed * 100_003 + position.step,
        );
        tf.dispose([input, captions]);
        position.step++;
        position.batch++;
        position.epochLossSum += loss;
        const seconds = (performance.now() - started) / 1000;
        await opts.onBatchEnd?.({
          epoch: position.epoch + 1,
          batch: position.batch,
          step: position.step,
          loss,
          examplesPerSec: batch.length / Math.max(seconds, 1e-9),
        });
        const due =
          (trainConfig.checkpointEvery > 0 && position.step % trainConfig.checkpointEvery === 0) ||
          (everyMs > 0 && performance.now() - lastCheckpointAt >= everyMs);
        if (due && position.batch < batchesPerEpoch) await checkpoint();
      }
      const captioned =
        evalImages.length > 0 ? await captionImages(model, vocab, evalImages.length, valInputs, trainConfig.batchSize) : null;
      const event: EpochEvent = {
        epoch: position.epoch + 1,
        step: position.step,
        trainLoss: position.epochLossSum / batchesPerEpoch,
        valLoss: valExamples.length > 0 ? await validationLoss(model, valExamples, valInputs, trainConfig.batchSize) : null,
        bleu4: captioned ? captionBleu(captioned, evalImages)[3] : null,
        objects: captioned
          ? objectScores(
              captioned.map((r) => r.caption),
              evalImages,
              COLORS,
              SHAPES,
            )
          : null,
      };
      const written = await checkpoint();
      bestWeights.observe(event.epoch, event.valLoss, written.path, model);
      epochs.push(event);
      await opts.onEpochEnd?.(event);
    }
    adam.dispose();
    const bestEpoch = opts.keepBest === false ? null : await bestWeights.restore(model, position.epoch);
    return { model, vocab, config, trainConfig, step: position.step, epochs, lastCheckpoint, bestEpoch, stopReason };
  } catch (err) {
    adam.dispose();
    model.dispose();
    throw err;
  } finally {
    // the decoded images (up to cacheBytes × 1.25) go with the run, whatever holds on to this call's objects
    for (const cache of caches) cache.clear();
    bestWeights.dispose();
    source.dispose();
  }
}
