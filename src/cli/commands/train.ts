// `glimpse train`: trains a captioning model with a progress bar (loss, speed, ETA), one line
// per epoch (validation loss, BLEU-4), checkpoints under OUT/checkpoints, the final model in
// OUT/model; Ctrl-C → a final checkpoint and a clean exit; `--resume` continues from any checkpoint.

import { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CheckpointMeta } from '../../ml/checkpoint.ts';
import {
  DEFAULT_TRAIN_CONFIG,
  describeSetting,
  ENCODER_SETTINGS,
  kebab,
  loadCocoCaptions,
  mlConfigs,
  saveModel,
  trainingDataRecord,
  writeTrainingData,
  stepsPerEpoch,
  train,
  TRAINING_SETTINGS,
  TrainingAbortedError,
  type EpochEvent,
  type RunSettings,
  type SettingValues,
  type CaptionedImage,
  captionStats,
  imageInfo,
  OverBudgetError,
  planRun,
  resolveSettings,
  type Setting,
  type TrainConfig,
} from '../../ml/index.ts';
import { readVariable } from '../../config/index.ts';
import { startBackend } from '../start-backend.ts';
import { resolveDatasetPaths, type DataOptions } from '../dataset-paths.ts';
import { CliError } from '../cli-errors.ts';
import { interruptSignal } from '../interrupt.ts';
import { positiveInt, settingOption } from '../option-parsers.ts';
import { createProgressBar } from '../progress.ts';
import { CHECKPOINTS_DIR, FEATURES_DIR, MODEL_DIR, writeRunRecord } from '../run-folder.ts';

/** Every training and encoder setting of the schema is an option; commander names them in camelCase. */
type TrainCliOptions = DataOptions &
  Partial<RunSettings> & {
    out: string;
    featureCache?: string;
    maxCaptions?: number;
    resume?: string;
    backend?: string;
  };

const SETTINGS: [string, Setting][] = [...Object.entries(TRAINING_SETTINGS), ...Object.entries(ENCODER_SETTINGS)];

/** Every setting of a new run: the given ones, the schema's defaults, and the automatic ones for these images. */
async function decideForData(given: Partial<SettingValues>, images: readonly CaptionedImage[]): Promise<RunSettings> {
  const pick = (keys: string[]) => Object.fromEntries(Object.entries(given).filter(([k]) => keys.includes(k)));
  const values: SettingValues = {
    ...resolveSettings(TRAINING_SETTINGS, pick(Object.keys(TRAINING_SETTINGS))),
    ...resolveSettings(ENCODER_SETTINGS, pick(Object.keys(ENCODER_SETTINGS))),
    ...(given.backbone ? { backbone: given.backbone } : {}),
    ...(given.backboneLayer ? { backboneLayer: given.backboneLayer } : {}),
  };
  const first = images[0] ? await imageInfo(images[0].file).catch(() => null) : null;
  const captions = images.reduce((n, img) => n + img.captions.length, 0);
  // the same plan as the service's, under this process's budget: wasm addresses 4 GiB here too
  const facts = {
    captions,
    imageSide: first ? Math.min(first.width, first.height) : null,
    ...captionStats(images.flatMap((img) => img.captions)),
  };
  let run: RunSettings;
  try {
    const plan = planRun(values, facts, readVariable('GLIMPSE_WORKER_MAX_MEMORY'));
    run = plan.run;
    for (const note of plan.notes) process.stderr.write(`note: ${note}\n`);
  } catch (error) {
    if (error instanceof OverBudgetError) throw new CliError('INVALID_OPTION', `${error.message}: lower --batch-size, --units, …`);
    throw error;
  }
  process.stderr.write(
    `settings: ${run.epochs} epochs, batch ${run.batchSize}, units ${run.units}, embedding ${run.embeddingDim}, features ${run.encoderDim}, ` +
      `${run.backbone ? `backbone ${run.backbone}` : `CNN [${run.channels!.join(', ')}]`} at ${run.imageSize} px, grid ${run.gridSize}\n`,
  );
  return run;
}

/** Only the settings the user gave: on resume everything else comes from the checkpoint. */
function givenSettings(o: TrainCliOptions): Partial<SettingValues> {
  const given: Record<string, unknown> = {};
  const options = o as unknown as Record<string, unknown>;
  for (const [name] of SETTINGS) if (options[name] !== undefined) given[name] = options[name];
  if (o.backbone) {
    if (o.channels) throw new CliError('INVALID_OPTION', '--channels configures the CNN encoder; it does not apply with --backbone');
    given.backbone = /^(https?|file):\/\//i.test(o.backbone) ? o.backbone : resolve(o.backbone); // saved in the model config
    if (o.backboneLayer) given.backboneLayer = o.backboneLayer;
  } else if (o.backboneLayer || o.featureCache) {
    throw new CliError('INVALID_OPTION', '--backbone-layer and --feature-cache need --backbone');
  }
  return given as Partial<SettingValues>;
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
  const given = givenSettings(opts);
  // a new run decides every automatic setting for this data, as startTraining does; a resume keeps the checkpoint's
  const settings = resumeFrom ? given : await decideForData(given, images);
  const ml = mlConfigs(settings, resolve(opts.featureCache ?? join(out, FEATURES_DIR)));
  const tc = await effectiveTrainConfig(resumeFrom, ml.train);
  const perEpoch = stepsPerEpoch(images, tc);
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
      model: ml.model,
      train: ml.train,
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
      // what it was trained on, so `eval --model` rebuilds the split from the model folder alone
      await writeTrainingData(
        modelDir,
        trainingDataRecord({ ...paths, ...(opts.maxCaptions ? { maxCaptions: opts.maxCaptions } : {}) }, images, result.trainConfig),
      );
    } finally {
      result.model.dispose();
    }
    await writeRunRecord(out, { dataset: { ...paths, maxCaptions: opts.maxCaptions }, trainConfig: result.trainConfig, step: result.step });
    console.log(`trained to step ${result.step}; model saved to ${modelDir}`);
  } catch (err) {
    bar.stop();
    if (!(err instanceof TrainingAbortedError)) throw err;
    if (err.checkpoint === null) console.log('interrupted before the first step (nothing to resume)');
    else {
      console.log(`interrupted at step ${err.checkpoint.step}; checkpoint written to ${err.checkpoint.path}`);
      console.log(`resume with the same command plus: --resume ${err.checkpoint.path}`);
    }
    process.exitCode = 130;
  } finally {
    interrupt.dispose();
  }
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a captioning model on a COCO-format dataset (Ctrl-C writes a checkpoint; --resume continues)')
    .option('--data <dir>', 'dataset folder (from `dataset synth` or `dataset coco`)')
    .option('--annotations <file>', 'COCO captions JSON (with --images)')
    .option('--images <dir>', 'image folder (with --annotations)')
    .requiredOption('--out <dir>', 'run folder: OUT/checkpoints, OUT/model (the trained model), OUT/run.json');
  // the training and encoder settings, with their bounds and defaults, from the settings schema
  for (const [name, setting] of SETTINGS) {
    const arg = setting.kind === 'intList' ? '<list>' : setting.kind === 'float' ? '<x>' : '<n>';
    cmd.option(`--${kebab(name)} ${arg}`, describeSetting(setting), settingOption(name, setting));
  }
  return cmd
    .option('--backbone <url>', 'pretrained TF.js model (http(s) URL or path to model.json) as the encoder, instead of the CNN')
    .option('--backbone-layer <name>', "backbone layer whose output is the feature map (default: the model's output)")
    .option('--feature-cache <dir>', 'backbone feature cache (default OUT/features)')
    .option('--max-captions <n>', 'use only the first N captions (the seed used 30000)', positiveInt)
    .option('--resume <checkpoint>', 'continue from a checkpoint directory, or `latest` under OUT/checkpoints')
    .action(runTraining);
}
