// A tiny model through the real CLI: train (interrupted by Ctrl-C, then resumed), caption with
// an attention figure, eval. Checks the command-line contract, not caption quality.
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCocoCaptions, splitByImage, Vocabulary } from '../../src/ml/index.ts';
import { figureLayout } from '../../src/ml/viz/index.ts';
import { interruptCli, runCli } from './run-cli.ts';

const TINY = ['--units', '24', '--embedding-dim', '12', '--encoder-dim', '12', '--image-size', '32', '--channels', '6,12'];
const IMAGES = 24;
const BATCH = 16;

let work: string;
let data: string;
let out: string;
/** the split `train --seed 3` makes (valFraction 0.1), by image */
let split: ReturnType<typeof splitByImage>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'glimpse-cli-train-'));
  data = join(work, 'data');
  out = join(work, 'run');
  const synth = await runCli(['dataset', 'synth', '--out', data, '--images', String(IMAGES), '--seed', '5', '--size', '32']);
  expect(synth.code).toBe(0);
  const images = await loadCocoCaptions({ annotationsPath: join(data, 'captions.json'), imagesDir: join(data, 'images') });
  split = splitByImage(images, 0.1, 3);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('glimpse train → caption → eval', () => {
  it('stops on Ctrl-C with a checkpoint, resumes from it, and saves the model', async () => {
    const base = ['train', '--data', data, '--out', out, '--batch-size', String(BATCH), '--learning-rate', '0.005', '--seed', '3', ...TINY];
    const stopped = await interruptCli([...base, '--epochs', '50'], /^epoch 1\/50 /m);
    expect(stopped.stderr).toMatch(/SIGINT: stopping training/);
    expect(stopped.code).toBe(130);
    const at = /interrupted at step (\d+); checkpoint written to (\S+)/.exec(stopped.stdout);
    expect(at).not.toBeNull();
    const step = Number(at![1]);
    await access(join(at![2], 'state.json'));

    // one example per caption of the training images
    const trainCaptions = split.train.reduce((n, img) => n + img.captions.length, 0);
    const perEpoch = Math.ceil(trainCaptions / BATCH);
    const epochs = Math.floor(step / perEpoch) + 1; // finish the epoch the interruption fell in

    const resumed = await runCli([...base, '--epochs', String(epochs), '--resume', 'latest']);
    expect(resumed.stderr).toMatch(/^backend: [\w+-]+ \(\d+ threads?\)$/m);
    expect(resumed.stderr).toContain(`resuming from ${at![2]}`);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(
        `^epoch ${epochs}/${epochs}  step ${epochs * perEpoch}  train loss \\d+\\.\\d+  val loss \\d+\\.\\d+  BLEU-4 \\d\\.\\d+`,
        'm',
      ),
    );
    expect(resumed.stdout).toContain(`trained to step ${epochs * perEpoch}; model saved to ${join(out, 'model')}`);
    expect((await readdir(join(out, 'model'))).sort()).toEqual([
      'metrics.json',
      'model.json',
      'training-data.json',
      'vocab.json',
      'weights.bin',
    ]);
  });

  it('captions an image with words of the vocabulary and writes the attention figure', async () => {
    const figure = join(work, 'attention.png');
    const image = join(data, 'images', 'shapes_000001.png');
    const run = await runCli(['--backend', 'cpu', 'caption', image, '--model', out, '--max-length', '5', '--attention-out', figure]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^backend: cpu \(1 thread\)$/m);
    const words = run.stdout.trim().split(' ');
    const vocab = Vocabulary.fromJSON(JSON.parse(await readFile(join(out, 'model', 'vocab.json'), 'utf8')));
    expect(words.length).toBeGreaterThan(0);
    expect(words.length).toBeLessThanOrEqual(5);
    for (const word of words) expect(vocab.words.slice(vocab.unkId)).toContain(word); // no <pad>/<start>/<end>
    const meta = await sharp(figure).metadata();
    const layout = figureLayout(words.length);
    expect([meta.format, meta.width, meta.height]).toEqual(['png', layout.width, layout.height]);

    const beam = await runCli(['caption', image, '--model', out, '--method', 'beam', '--beam-width', '2', '--max-length', '5']);
    expect(beam.code).toBe(0);
    expect(beam.stderr).toMatch(/log-probability -\d+\.\d+ \(beam\)/);
  });

  it('evaluates the validation split of the run and prints the metrics table', async () => {
    const run = await runCli(['eval', '--model', out, '--max-length', '6']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['split', 'images', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'CIDEr-D']);
    const [splitName, count, ...scores] = lines[2].split(/\s+/);
    expect(splitName).toBe('val');
    expect(Number(count)).toBe(split.val.length); // eval rebuilt the run's split from run.json
    for (const bleu of scores.slice(0, 4).map(Number)) {
      expect(bleu).toBeGreaterThanOrEqual(0);
      expect(bleu).toBeLessThanOrEqual(1);
    }
    expect(Number(scores[4])).toBeGreaterThanOrEqual(0);

    const missing = await runCli(['eval', '--model', join(out, 'model'), '--data', join(work, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \[MISSING_DATA\]/);
  });

  it("evaluates from the model folder alone (its training-data.json), and refuses a split that is not the run's", async () => {
    const record = JSON.parse(await readFile(join(out, 'model', 'training-data.json'), 'utf8'));
    expect(record).toMatchObject({
      dataset: { annotationsPath: join(data, 'captions.json'), imagesDir: join(data, 'images') },
      split: {
        seed: 3,
        valFraction: 0.1,
        trainImages: split.train.length,
        valImages: split.val.length,
        valDigest: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    });
    const alone = await runCli(['eval', '--model', join(out, 'model'), '--max-length', '6']);
    expect(alone.code).toBe(0);
    expect(alone.stdout.trim().split('\n')[2]!.split(/\s+/).slice(0, 2)).toEqual(['val', String(split.val.length)]);

    // another seed (or the same data under a different fraction) would mix training images into "val"
    for (const args of [
      ['--seed', '42'],
      ['--data', data, '--val-fraction', '0.3'],
    ]) {
      const wrong = await runCli(['eval', '--model', join(out, 'model'), '--max-length', '6', ...args]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(
        /error \[INVALID_OPTION\]: the val split .* is not the one the model was trained with \(seed 3, val fraction 0\.1/,
      );
    }
    // the same split given explicitly is accepted; --split all scores every image on purpose
    const same = await runCli(['eval', '--model', join(out, 'model'), '--max-length', '6', '--data', data, '--seed', '3', '--limit', '2']);
    expect(same.code).toBe(0);
    const all = await runCli([
      'eval',
      '--model',
      join(out, 'model'),
      '--max-length',
      '6',
      '--split',
      'all',
      '--seed',
      '42',
      '--limit',
      '3',
    ]);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')[2]!.split(/\s+/).slice(0, 2)).toEqual(['all', '3']);
  });
});
