// `glimpse eval`: captions a split of a dataset with a trained model and prints BLEU-1..4 and
// CIDEr-D (coco-caption tokenisation) as a table.
//
// `--model DIR` alone is enough: the model folder's training-data.json (src/ml/training-data.ts;
// or a run folder's run.json) names its dataset and split. The validation split is checked against
// the recorded digest of the run's validation images: a different seed, fraction or dataset would
// score on training images, so eval refuses it (use --split all to score a different set on purpose).

import { Command } from 'commander';
import {
  EVAL_BATCH_SIZE,
  evaluateCaptions,
  imagesDigest,
  readTrainingData,
  TRAINING_DATA_FILE,
  loadCaptioner,
  loadCocoCaptions,
  splitByImage,
  type CaptionedImage,
  type TrainingDataRecord,
} from '../../ml/index.ts';
import { startBackend } from '../start-backend.ts';
import { resolveDatasetPaths, type DataOptions } from '../dataset-paths.ts';
import { CliError } from '../cli-errors.ts';
import { addDecodeOptions, decodeOptions, type DecodeCliOptions } from '../decode-options.ts';
import { fraction, nonNegativeInt, oneOf, positiveInt } from '../option-parsers.ts';
import { createProgressBar } from '../progress.ts';
import { modelDirectory, readRunRecord, type RunRecord } from '../run-folder.ts';
import { formatTable } from '../table.ts';

type Split = 'val' | 'train' | 'all';

interface EvalCliOptions extends DataOptions, DecodeCliOptions {
  model: string;
  split: Split;
  batchSize: number;
  limit?: number;
  seed?: number;
  valFraction?: number;
}

/** What the model was trained on: its folder's training-data.json, else a run folder's run.json (no digest). */
async function trainingData(modelDir: string, run: RunRecord | null): Promise<TrainingDataRecord | null> {
  const record = await readTrainingData(modelDir);
  if (record || !run) return record;
  const { seed, valFraction } = run.trainConfig;
  return { dataset: run.dataset, split: { seed, valFraction, trainImages: -1, valImages: -1, valDigest: '' } };
}

/** The dataset and split settings: explicit options first, then the model's record; no silent defaults. */
async function selectImages(
  opts: EvalCliOptions,
  record: TrainingDataRecord | null,
): Promise<{ images: CaptionedImage[]; source: string }> {
  const explicit = opts.data || opts.annotations || opts.images;
  if (!explicit && !record) {
    throw new CliError(
      'MISSING_DATA',
      `${opts.model} records no dataset (no ${TRAINING_DATA_FILE} or run.json): give --data DIR, or --annotations FILE with --images DIR`,
    );
  }
  const paths = explicit || !record ? await resolveDatasetPaths(opts) : record.dataset;
  const all = await loadCocoCaptions({ ...paths, maxCaptions: explicit ? undefined : record?.dataset.maxCaptions });
  if (opts.split === 'all') return { images: opts.limit ? all.slice(0, opts.limit) : all, source: paths.annotationsPath };
  const seed = opts.seed ?? record?.split.seed;
  const valFraction = opts.valFraction ?? record?.split.valFraction;
  if (seed === undefined || valFraction === undefined) {
    throw new CliError(
      'INVALID_OPTION',
      `${opts.model} records no training split: give its run's --seed and --val-fraction, or --split all (a guessed split may score on training images)`,
    );
  }
  const { train, val } = splitByImage(all, valFraction, seed);
  if (record?.split.valDigest && imagesDigest(val, paths.imagesDir) !== record.split.valDigest) {
    throw new CliError(
      'INVALID_OPTION',
      `the ${opts.split} split (seed ${seed}, val fraction ${valFraction}, ${paths.annotationsPath}) is not the one the model was trained with ` +
        `(seed ${record.split.seed}, val fraction ${record.split.valFraction}, ${record.dataset.annotationsPath}): it would mix training and validation images. ` +
        'Drop --seed/--val-fraction/--data to use the recorded split, or use --split all to score another set on purpose',
    );
  }
  const chosen = opts.split === 'val' ? val : train;
  return { images: opts.limit ? chosen.slice(0, opts.limit) : chosen, source: paths.annotationsPath };
}

async function evaluate(opts: EvalCliOptions, cmd: Command): Promise<void> {
  const run = await readRunRecord(opts.model);
  const modelDir = await modelDirectory(opts.model);
  const record = await trainingData(modelDir, run);
  const { images, source } = await selectImages(opts, record);
  if (images.length === 0) {
    console.log(`the ${opts.split} split of ${source} is empty`);
    return;
  }
  await startBackend(cmd.optsWithGlobals<{ backend?: string }>().backend);
  const captioner = await loadCaptioner(modelDir);
  const bar = createProgressBar('captioning |{bar}| {value}/{total} images ETA {eta_formatted}');
  const captions: string[] = [];
  try {
    process.stderr.write(`captioning ${images.length} ${opts.split} images of ${source} (${opts.method})\n`);
    bar.start(images.length, 0);
    for (let start = 0; start < images.length; start += opts.batchSize) {
      const chunk = images.slice(start, start + opts.batchSize);
      const results = await captioner.captionBatch(
        chunk.map((img) => img.file),
        decodeOptions(opts),
      );
      captions.push(...results.map((r) => r.caption));
      bar.update(captions.length);
    }
  } finally {
    bar.stop();
    captioner.dispose();
  }
  const s = evaluateCaptions(
    captions,
    images.map((img) => img.captions),
  );
  const f = (v: number) => v.toFixed(4);
  console.log(
    formatTable(
      ['split', 'images', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'CIDEr-D'],
      [[opts.split, String(images.length), f(s.bleu1), f(s.bleu2), f(s.bleu3), f(s.bleu4), f(s.ciderD)]],
    ),
  );
}

export function evalCommand(): Command {
  return addDecodeOptions(
    new Command('eval')
      .description('BLEU-1..4 and CIDEr-D of a trained model on a dataset split')
      .requiredOption('--model <dir>', "model folder (the service's: `glimpse models`), run folder (train --out) or model directory")
      .option('--data <dir>', 'dataset folder (default: the one the model records)')
      .option('--annotations <file>', 'COCO captions JSON (with --images)')
      .option('--images <dir>', 'image folder (with --annotations)')
      .option('--split <split>', 'val, train or all', oneOf<Split>(['val', 'train', 'all']), 'val')
      .option('--seed <n>', 'split seed (default: the one the model records)', nonNegativeInt)
      .option('--val-fraction <f>', "held-out share (default: the run's)", fraction)
      .option('--batch-size <n>', 'images decoded together', positiveInt, EVAL_BATCH_SIZE)
      .option('--limit <n>', 'evaluate only the first N images of the split', positiveInt),
  ).action(evaluate);
}
