// `glimpse dataset synth|coco`: write the synthetic shapes set, or download MS-COCO 2014.

import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/index.ts';
import { cocoPaths, downloadCoco, type DownloadProgress, type RemoteArchive } from '../../ml/data/download.ts';
import { DownloadError, generateShapes } from '../../ml/index.ts';
import { CliError } from '../cli-errors.ts';
import { interruptSignal } from '../interrupt.ts';
import { integer, positiveInt } from '../option-parsers.ts';
import { createProgressBar, formatBytes } from '../progress.ts';

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
  const bar = createProgressBar('writing |{bar}| {value}/{total} images ETA {eta_formatted}');
  bar.start(opts.images, 0);
  let result: Awaited<ReturnType<typeof generateShapes>>;
  try {
    result = await generateShapes({
      outDir,
      images: opts.images,
      seed: opts.seed,
      imageSize: opts.size,
      onProgress: (done) => bar.update(done),
    });
  } finally {
    bar.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `wrote ${result.imageCount} images and ${result.captionCount} captions in ${seconds.toFixed(1)} s\n` +
      `  annotations: ${result.annotationsPath}\n  images:      ${result.imagesDir}`,
  );
}

interface CocoOptions {
  download: string;
  baseUrl?: string;
  manifest?: string;
  keepArchives?: boolean;
}

/** A JSON list of archives `{name, path, size, md5?, sha256?}` replacing the COCO 2014 defaults. */
async function readManifest(file: string): Promise<RemoteArchive[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError('INVALID_OPTION', `--manifest ${file}: ${(err as Error).message}`);
  }
  const valid = (a: unknown): a is RemoteArchive => {
    const r = a as Partial<RemoteArchive> | null;
    return (
      typeof r === 'object' &&
      r !== null &&
      typeof r.name === 'string' &&
      /^[\w.-]+$/.test(r.name) &&
      typeof r.path === 'string' &&
      Number.isInteger(r.size) &&
      (r.size as number) > 0
    );
  };
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(valid)) {
    throw new CliError('INVALID_OPTION', `--manifest ${file}: expected a non-empty JSON array of {name, path, size, md5?, sha256?}`);
  }
  return parsed;
}

async function coco(opts: CocoOptions): Promise<void> {
  const dir = resolve(opts.download);
  const files = opts.manifest ? await readManifest(opts.manifest) : undefined;
  const bar = createProgressBar('{file} {phase} |{bar}| {percentage}% {done}/{size} {speed}/s ETA {eta_formatted}');
  const interrupt = interruptSignal('the download; rerun the same command to resume');
  let current = '';
  const onProgress = (p: DownloadProgress) => {
    const payload = {
      file: p.file,
      phase: p.phase.padEnd(8),
      done: formatBytes(p.received),
      size: formatBytes(p.total),
      speed: formatBytes(p.bytesPerSec),
    };
    if (`${p.file}:${p.phase}` !== current) {
      current = `${p.file}:${p.phase}`;
      bar.log(`${p.file}: ${p.phase} (${formatBytes(p.total)})`);
      bar.start(p.total, p.received, payload);
    } else {
      bar.update(p.received, payload);
    }
  };
  try {
    const results = await downloadCoco({
      dir,
      baseUrl: opts.baseUrl ?? loadConfig().cocoBaseUrl,
      files,
      onProgress,
      signal: interrupt.signal,
      keepArchives: opts.keepArchives,
    });
    bar.stop();
    for (const r of results) {
      const how = r.skipped ? 'already complete' : r.resumedFrom > 0 ? `resumed at ${formatBytes(r.resumedFrom)}` : 'downloaded';
      console.log(`${r.name}: ${how}, ${r.files} files extracted (${r.url})`);
    }
    if (!files) {
      const paths = cocoPaths(dir);
      console.log(`train with: npm run glimpse -- train --annotations ${paths.annotationsPath} --images ${paths.imagesDir} --out DIR`);
    }
  } catch (err) {
    if (!(err instanceof DownloadError && err.code === 'ABORTED' && interrupt.signal.aborted)) throw err;
    bar.stop();
    console.log('download interrupted; run the same command again to resume where it stopped');
    process.exitCode = 130;
  } finally {
    bar.stop();
    interrupt.dispose();
  }
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
  dataset
    .command('coco')
    .description('download and extract the COCO 2014 captions and train images (resumable, size and md5 checked)')
    .requiredOption('--download <dir>', 'folder for the archives and their contents')
    .option('--base-url <url>', 'mirror to download from (default: GLIMPSE_COCO_BASE_URL, else images.cocodataset.org)')
    .option('--manifest <file>', 'JSON list of archives {name, path, size, md5?, sha256?} to fetch instead of COCO 2014')
    .option('--keep-archives', 'keep the .zip files after extraction')
    .action(coco);
  return dataset;
}
