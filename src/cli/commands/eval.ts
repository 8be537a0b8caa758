// `glimpse eval`: captions a split of a dataset with a trained model and prints BLEU-1..4 and
// CIDEr-D (coco-caption tokenisation) as a table.

import { Command } from 'commander';
import {
  DEFAULT_TRAIN_CONFIG,
  evaluateCaptions,
  loadCaptioner,
  loadCocoCaptions,
  splitByImage,
  type CaptionedImage,
} from '../../ml/index.ts';
import { startBackend } from '../backend.ts';
import { resolveDatasetPaths, type DataOptions } from '../dataset-paths.ts';
import { addDecodeOptions, decodeOptions, type DecodeCliOptions } from '../decode-options.ts';
import { fraction, nonNegativeInt, oneOf, positiveInt } from '../options.ts';
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

/** The dataset and split settings: explicit options first, then the run folder's record, then defaults. */
async function selectImages(opts: EvalCliOptions, run: RunRecord | null): Promise<{ images: CaptionedImage[]; source: string }> {
  const explicit = opts.data || opts.annotations || opts.images;
  const paths = explicit || !run ? await resolveDatasetPaths(opts) : run.dataset;
  const all = await loadCocoCaptions({ ...paths, maxCaptions: explicit ? undefined : run?.dataset.maxCaptions });
  const seed = opts.seed ?? run?.trainConfig.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const valFraction = opts.valFraction ?? run?.trainConfig.valFraction ?? DEFAULT_TRAIN_CONFIG.valFraction;
  const chosen = opts.split === 'all' ? all : splitByImage(all, valFraction, seed)[opts.split];
  return { images: opts.limit ? chosen.slice(0, opts.limit) : chosen, source: paths.annotationsPath };
}

async function evaluate(opts: EvalCliOptions, cmd: Command): Promise<void> {
  const run = await readRunRecord(opts.model);
  const { images, source } = await selectImages(opts, run);
  if (images.length === 0) {
    console.log(`the ${opts.split} split of ${source} is empty`);
    return;
  }
  await startBackend(cmd.optsWithGlobals<{ backend?: string }>().backend);
  const captioner = await loadCaptioner(await modelDirectory(opts.model));
  const bar = createProgressBar('captioning |{bar}| {value}/{total} images ETA {eta_formatted}');
  const captions: string[] = [];
  try {
    process.stderr.write(`captioning ${images.length} ${opts.split} images of ${source} (${opts.method})\n`);
    bar.start(images.length, 0);
    for (let start = 0; start < images.length; start += opts.batchSize) {
      const chunk = images.slice(start, start + opts.batchSize);
      const results = await captioner.captionBatch(chunk.map((img) => img.file), decodeOptions(opts));
      captions.push(...results.map((r) => r.caption));
      bar.update(captions.length);
    }
  } finally {
    bar.stop();
    captioner.dispose();
  }
  const s = evaluateCaptions(captions, images.map((img) => img.captions));
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
      .requiredOption('--model <dir>', 'run folder (train --out) or model directory')
      .option('--data <dir>', "dataset folder (default: the run folder's training data)")
      .option('--annotations <file>', 'COCO captions JSON (with --images)')
      .option('--images <dir>', 'image folder (with --annotations)')
      .option('--split <split>', 'val, train or all', oneOf<Split>(['val', 'train', 'all']), 'val')
      .option('--seed <n>', "split seed (default: the run's)", nonNegativeInt)
      .option('--val-fraction <f>', "held-out share (default: the run's)", fraction)
      .option('--batch-size <n>', 'images decoded together', positiveInt, 32)
      .option('--limit <n>', 'evaluate only the first N images of the split', positiveInt),
  ).action(evaluate);
}
