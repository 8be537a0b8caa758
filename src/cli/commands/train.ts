// `glimpse train`: trains a captioning model with a progress bar (loss, speed, ETA), one line
// per epoch (validation loss, BLEU-4), checkpoints under OUT/checkpoints, the final model in
// OUT/model; Ctrl-C → a final checkpoint and a clean exit; `--resume` continues from any checkpoint.

import { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CheckpointMeta } from '../../ml/checkpoint.ts';
import {
  DEFAULT_MODEL_CONFIG,
  DEFAULT_TRAIN_CONFIG,
  loadCocoCaptions,
  saveModel,
  splitByImage,
  train,
  TrainingAbortedError,
  type CaptionedImage,
  type EncoderConfig,
  type EpochEvent,
  type ModelConfig,
  type TrainConfig,
} from '../../ml/index.ts';
import { DEFAULT_BACKBONE_IMAGE_SIZE, DEFAULT_CNN_ENCODER } from '../../ml/model/config.ts';
import { startBackend } from '../backend.ts';
import { resolveDatasetPaths, type DataOptions } from '../dataset-paths.ts';
import { CliError } from '../errors.ts';
import { interruptSignal } from '../interrupt.ts';
import { fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveIntList, positiveNumber } from '../options.ts';
import { createProgressBar } from '../progress.ts';
import { CHECKPOINTS_DIR, FEATURES_DIR, MODEL_DIR, writeRunRecord } from '../run-folder.ts';

interface TrainCliOptions extends DataOptions {
  out: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  units?: number;
  embeddingDim?: number;
  encoderDim?: number;
  imageSize?: number;
  channels?: number[];
  backbone?: string;
  backboneLayer?: string;
  featureCache?: string;
  attentionLambda?: number;
  vocabSize?: number;
  maxLength?: number;
  maxCaptions?: number;
  valFraction?: number;
  checkpointEvery?: number;
  resume?: string;
  backend?: string;
}

/** the default encoder is the end-to-end CNN; its type is the wider EncoderConfig union */
const CNN = DEFAULT_CNN_ENCODER as Extract<EncoderConfig, { kind: 'cnn' }>;

/** Only the options the user gave: on resume everything else comes from the checkpoint. */
function trainOverrides(o: TrainCliOptions): Partial<TrainConfig> {
  const entries: [keyof TrainConfig, number | undefined][] = [
    ['epochs', o.epochs],
    ['batchSize', o.batchSize],
    ['learningRate', o.lr],
    ['seed', o.seed],
    ['topK', o.vocabSize],
    ['maxLength', o.maxLength],
    ['valFraction', o.valFraction],
    ['checkpointEvery', o.checkpointEvery],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}


function encoderOverride(o: TrainCliOptions, out: string): EncoderConfig | undefined {
  if (o.backbone) {
    if (o.channels) throw new CliError('INVALID_OPTION', '--channels configures the CNN encoder; it does not apply with --backbone');
    return {
      kind: 'pretrained',
      url: /^(https?|file):\/\//i.test(o.backbone) ? o.backbone : resolve(o.backbone), // saved in the model config
      ...(o.backboneLayer ? { layer: o.backboneLayer } : {}),
      imageSize: o.imageSize ?? DEFAULT_BACKBONE_IMAGE_SIZE,
      cacheDir: resolve(o.featureCache ?? join(out, FEATURES_DIR)),
    };
  }
  if (o.backboneLayer || o.featureCache) throw new CliError('INVALID_OPTION', '--backbone-layer and --feature-cache need --backbone');
  if (o.imageSize === undefined && o.channels === undefined) return undefined;
  return { ...CNN, ...(o.imageSize !== undefined ? { imageSize: o.imageSize } : {}), ...(o.channels ? { channels: o.channels } : {}) };
}

function modelOverrides(o: TrainCliOptions, out: string): Partial<ModelConfig> {
  const model: Partial<ModelConfig> = {};
  if (o.units !== undefined) model.units = o.units;
  if (o.embeddingDim !== undefined) model.embeddingDim = o.embeddingDim;
  if (o.encoderDim !== undefined) model.encoderDim = o.encoderDim;
  if (o.attentionLambda !== undefined) model.attentionLambda = o.attentionLambda;
  const encoder = encoderOverride(o, out);
  if (encoder) model.encoder = encoder;
  return model;
}

/** `latest` → the newest step-* directory under OUT/checkpoints; anything else is a path. */
async function resolveResume(resume: string, out: string): Promise<string> {
  if (resume !== 'latest') return resolve(resume);
  const dir = join(out, CHECKPOINTS_DIR);
  const steps = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^step-\d+$/.test(n)).sort();
  if (steps.length === 0) throw new CliError('MISSING_DATA', `--resume latest: no checkpoint in ${dir}`);
  return join(dir, steps[steps.length - 1]);
}

/** The settings the run will use: the checkpoint's (on resume) under the user's overrides. */
async function effectiveTrainConfig(resumeFrom: string | undefined, overrides: Partial<TrainConfig>): Promise<TrainConfig> {
  if (!resumeFrom) return { ...DEFAULT_TRAIN_CONFIG, ...overrides };
  const meta = JSON.parse(await readFile(join(resumeFrom, 'state.json'), 'utf8').catch(() => '{}')) as Partial<CheckpointMeta>;
  if (!meta.trainConfig) throw new CliError('MISSING_DATA', `--resume ${resumeFrom}: not a checkpoint directory`);
  return { ...meta.trainConfig, ...overrides };
}

/** Steps per epoch, as train() will batch them: one example per caption of the training split. */
function batchesPerEpoch(images: readonly CaptionedImage[], tc: TrainConfig): number {
  const captions = splitByImage(images, tc.valFraction, tc.seed).train.reduce((n, img) => n + img.captions.length, 0);
  return Math.ceil(captions / tc.batchSize);
}

function finalMetrics(step: number, epochs: readonly EpochEvent[]): Record<string, number | null> {
  const last = epochs[epochs.length - 1];
  return { step, trainLoss: last?.trainLoss ?? null, valLoss: last?.valLoss ?? null, bleu4: last?.bleu4 ?? null };
}

const fixed = (v: number | null, digits = 4) => (v === null ? '-' : v.toFixed(digits));

async function runTraining(opts: TrainCliOptions, cmd: Command): Promise<void> {
  const out = resolve(opts.out);
  const paths = await resolveDatasetPaths(opts);
  const images = await loadCocoCaptions({ ...paths, maxCaptions: opts.maxCaptions });
  const resumeFrom = opts.resume ? await resolveResume(opts.resume, out) : undefined;
  const overrides = trainOverrides(opts);
  const tc = await effectiveTrainConfig(resumeFrom, overrides);
  const perEpoch = batchesPerEpoch(images, tc);
  const totalSteps = tc.epochs * perEpoch;
  await startBackend(cmd.optsWithGlobals<{ backend?: string }>().backend);
  process.stderr.write(
    `${images.length} images from ${paths.annotationsPath}; ${tc.epochs} epochs × ${perEpoch} batches of ${tc.batchSize}` +
      `${resumeFrom ? `; resuming from ${resumeFrom}` : ''}\n`,
  );

  const bar = createProgressBar('epoch {epoch}/{epochs} |{bar}| step {value}/{total} loss {loss} {speed} ex/s ETA {eta_formatted}');
  const interrupt = interruptSignal('training after the current batch and writing a checkpoint');
  let started = false;
  let epochStarted = Date.now();
  try {
    const result = await train({
      images,
      checkpointDir: join(out, CHECKPOINTS_DIR),
      model: modelOverrides(opts, out),
      train: overrides,
      resumeFrom,
      signal: interrupt.signal,
      onBatchEnd: (e) => {
        const payload = { epoch: e.epoch, epochs: tc.epochs, loss: e.loss.toFixed(4), speed: e.examplesPerSec.toFixed(1) };
        if (!started) {
          started = true;
          bar.start(totalSteps, e.step, payload);
        } else bar.update(e.step, payload);
      },
      onEpochEnd: (e) => {
        const seconds = (Date.now() - epochStarted) / 1000;
        epochStarted = Date.now();
        bar.log(
          `epoch ${e.epoch}/${tc.epochs}  step ${e.step}  train loss ${fixed(e.trainLoss)}  val loss ${fixed(e.valLoss)}` +
            `  BLEU-4 ${fixed(e.bleu4)}  (${seconds.toFixed(1)} s)`,
        );
      },
    });
    bar.stop();
    const modelDir = join(out, MODEL_DIR);
    try {
      await saveModel(modelDir, { model: result.model, vocab: result.vocab, metrics: finalMetrics(result.step, result.epochs) });
    } finally {
      result.model.dispose();
    }
    await writeRunRecord(out, { dataset: { ...paths, maxCaptions: opts.maxCaptions }, trainConfig: result.trainConfig, step: result.step });
    console.log(`trained to step ${result.step}; model saved to ${modelDir}`);
  } catch (err) {
    bar.stop();
    if (!(err instanceof TrainingAbortedError)) throw err;
    console.log(`interrupted at step ${err.checkpoint.step}; checkpoint written to ${err.checkpoint.path}`);
    console.log(`resume with the same command plus: --resume ${err.checkpoint.path}`);
    process.exitCode = 130;
  } finally {
    interrupt.dispose();
  }
}

export function trainCommand(): Command {
  const d = DEFAULT_TRAIN_CONFIG;
  const m = DEFAULT_MODEL_CONFIG;
  return new Command('train')
    .description('train a captioning model on a COCO-format dataset (Ctrl-C writes a checkpoint; --resume continues)')
    .option('--data <dir>', 'dataset folder (from `dataset synth` or `dataset coco`)')
    .option('--annotations <file>', 'COCO captions JSON (with --images)')
    .option('--images <dir>', 'image folder (with --annotations)')
    .requiredOption('--out <dir>', 'run folder: OUT/checkpoints, OUT/model (the trained model), OUT/run.json')
    .option('--epochs <n>', `epochs (default ${d.epochs})`, positiveInt)
    .option('--batch-size <n>', `batch size (default ${d.batchSize})`, positiveInt)
    .option('--lr <rate>', `Adam learning rate (default ${d.learningRate})`, positiveNumber)
    .option('--seed <n>', `seed of initialisation, split and data order (default ${d.seed})`, nonNegativeInt)
    .option('--units <n>', `GRU and attention units (default ${m.units})`, positiveInt)
    .option('--embedding-dim <n>', `word embedding size (default ${m.embeddingDim})`, positiveInt)
    .option('--encoder-dim <n>', `projected feature size (default ${m.encoderDim})`, positiveInt)
    .option('--image-size <px>', `encoder input side: CNN gridSize × a power of two (default ${CNN.imageSize}); backbone default ${DEFAULT_BACKBONE_IMAGE_SIZE}`, positiveInt)
    .option('--channels <list>', `CNN conv channels, comma-separated (default ${CNN.channels.join(',')})`, positiveIntList)
    .option('--backbone <url>', 'pretrained TF.js model (http(s) URL or path to model.json) as the encoder, instead of the CNN')
    .option('--backbone-layer <name>', "backbone layer whose output is the feature map (default: the model's output)")
    .option('--feature-cache <dir>', 'backbone feature cache (default OUT/features)')
    .option('--attention-lambda <λ>', 'doubly stochastic attention regularisation (default 0)', nonNegativeNumber)
    .option('--vocab-size <k>', `top-k words kept (default ${d.topK})`, positiveInt)
    .option('--max-length <n>', 'caption length cap in tokens (default: longest caption, ≤ 50)', positiveInt)
    .option('--max-captions <n>', 'use only the first N captions (the seed used 30000)', positiveInt)
    .option('--val-fraction <f>', `share of images held out (default ${d.valFraction})`, fraction)
    .option('--checkpoint-every <n>', 'also checkpoint every N batches (default: epoch ends only)', nonNegativeInt)
    .option('--resume <checkpoint>', 'continue from a checkpoint directory, or `latest` under OUT/checkpoints')
    .action(runTraining);
}
