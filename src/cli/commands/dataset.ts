// `glimpse dataset synth|coco`: write the synthetic shapes set, or download MS-COCO.

import { Command } from 'commander';
import { resolve } from 'node:path';
import { generateShapes } from '../../ml/data/shapes.ts';
import { integer, positiveInt } from '../options.ts';

interface SynthOptions {
  out: string;
  images: number;
  seed: number;
  size: number;
}

async function synth(opts: SynthOptions): Promise<void> {
  const outDir = resolve(opts.out);
  process.stderr.write(`writing ${opts.images} synthetic images (${opts.size}×${opts.size}, seed ${opts.seed}) to ${outDir}\n`);
  const started = Date.now();
  const result = await generateShapes({ outDir, images: opts.images, seed: opts.seed, imageSize: opts.size });
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `wrote ${result.imageCount} images and ${result.captionCount} captions in ${seconds.toFixed(1)} s\n` +
      `  annotations: ${result.annotationsPath}\n  images:      ${result.imagesDir}`,
  );
}

export function datasetCommand(): Command {
  const dataset = new Command('dataset').description('create or download a dataset in COCO captions format');
  dataset
    .command('synth')
    .description('generate the synthetic shapes dataset (PNG images + captions JSON)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--images <n>', 'number of images', positiveInt, 1000)
    .option('--seed <s>', 'random seed (same seed → same files)', integer, 1)
    .option('--size <px>', 'image side in pixels', positiveInt, 64)
    .action(synth);
  return dataset;
}
