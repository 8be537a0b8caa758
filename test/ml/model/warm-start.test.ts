// Warm start: a run that starts from a trained model's weights on a new synthetic set (another seed)
// reaches in one epoch a validation loss that the same run from random weights needs several epochs
// for; new words are appended to the parent's vocabulary with fresh rows, the parent's rows unchanged;
// a different architecture is refused.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { BABY_MODEL_CONFIG, DEFAULT_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { loadModel, saveModel } from '../../../src/ml/saved-model.ts';
import { train, TrainingAbortedError, type TrainOptions } from '../../../src/ml/train.ts';
import type { CaptionedImage, CheckpointEvent } from '../../../src/ml/types.ts';
import { Vocabulary } from '../../../src/ml/vocab.ts';
import { warmStartFrom } from '../../../src/ml/warm-start.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { shapesImages, tempDir } from './fixtures.ts';

let dir: string;
let remove: () => Promise<void>;
let first: CaptionedImage[];
let second: CaptionedImage[];
const parentDir = () => `${dir}/parent-model`;

const options = (name: string, images: CaptionedImage[], epochs: number, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  images,
  checkpointDir: `${dir}/${name}`,
  model: BABY_MODEL_CONFIG,
  train: { epochs, batchSize: 8, learningRate: 1e-2, seed: 3, valFraction: 0.25 },
  evalImages: 0,
  ...extra,
});

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('warm-start'));
  first = await shapesImages(`${dir}/a`, 40, 8, 32);
  second = await shapesImages(`${dir}/b`, 40, 21, 32);
  const parent = await train(options('parent', first, 6));
  await saveModel(parentDir(), { model: parent.model, vocab: parent.vocab });
  parent.model.dispose();
}, 300_000);
afterAll(() => remove());

describe('warm start', () => {
  it('reaches in one epoch the validation loss that a run from scratch needs several for', async () => {
    const scratch = await train(options('scratch', second, 3));
    const warm = await train(options('warm', second, 1, { initFrom: parentDir() }));
    const scratchLoss = scratch.epochs.map((e) => e.valLoss!);
    expect(warm.epochs[0]!.valLoss!).toBeLessThan(scratchLoss[2]!); // better after 1 epoch than scratch after 3
    expect(warm.epochs[0]!.valLoss!).toBeLessThan(scratchLoss[0]! * 0.8);
    scratch.model.dispose();
    warm.model.dispose();
  });

  it('resumes a warm-started run exactly', async () => {
    const whole = new Map<number, number>();
    const full = await train(options('whole', second, 2, { initFrom: parentDir(), onBatchEnd: (e) => void whole.set(e.step, e.loss) }));
    full.model.dispose();
    const stop = new AbortController();
    let at: CheckpointEvent | null = null;
    await expect(
      train(
        options('cut', second, 2, {
          initFrom: parentDir(),
          signal: stop.signal,
          onBatchEnd: (e) => void (e.step === 7 && stop.abort()),
          onCheckpoint: (c) => void (at = c),
        }),
      ),
    ).rejects.toBeInstanceOf(TrainingAbortedError);
    const resumed = new Map<number, number>();
    const again = await train(options('cut', second, 2, { resumeFrom: at!.path, onBatchEnd: (e) => void resumed.set(e.step, e.loss) }));
    again.model.dispose();
    expect(resumed.size).toBeGreaterThan(0);
    for (const [step, loss] of resumed) expect(loss).toBe(whole.get(step));
  });

  it("appends new words after the parent's, keeping the parent's rows and columns", async () => {
    const parent = await loadModel(parentDir());
    const before = tf.memory().numTensors;
    const built = Vocabulary.build(
      second.flatMap((img) => img.captions.map((c) => c.replace(/\bred\b/g, 'crimson'))),
      { maxLength: 16 },
    );
    const config = { ...DEFAULT_MODEL_CONFIG, ...BABY_MODEL_CONFIG, vocabSize: built.size, maxLength: built.maxLength };
    const warm = await warmStartFrom(parentDir(), config, built, 5);
    const V = parent.vocab.size;
    expect(warm.vocab.words.slice(0, V)).toEqual(parent.vocab.words);
    const added = built.words.filter((w) => !parent.vocab.words.includes(w)); // in the new data's order
    expect(added).toContain('crimson');
    expect(warm.vocab.words.slice(V)).toEqual(added);
    expect(warm.config.vocabSize).toBe(V + added.length);
    tf.tidy(() => {
      const mine = new Map(warm.model.weights.entries());
      for (const [name, value] of parent.model.weights.entries()) {
        const ours = mine.get(name)!;
        if (name === 'decoder/embedding') expect(Array.from(ours.slice([0, 0], [V, -1]).dataSync())).toEqual(Array.from(value.dataSync()));
        else if (name === 'decoder/fc2/kernel')
          expect(Array.from(ours.slice([0, 0], [-1, V]).dataSync())).toEqual(Array.from(value.dataSync()));
        else if (name === 'decoder/fc2/bias') expect(Array.from(ours.slice([0], [V]).dataSync())).toEqual(Array.from(value.dataSync()));
        else expect(Array.from(ours.dataSync())).toEqual(Array.from(value.dataSync()));
      }
      // the new word's embedding row is freshly initialised (uniform ±0.05), not zeros
      const row = Array.from(
        mine
          .get('decoder/embedding')!
          .slice([warm.vocab.idOf('crimson'), 0], [1, -1])
          .dataSync(),
      );
      expect(row.some((x) => x !== 0) && row.every((x) => Math.abs(x) <= 0.05)).toBe(true);
    });
    warm.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    parent.model.dispose();
  });

  it('refuses a model of another architecture', async () => {
    await expect(
      train(options('other', second, 1, { initFrom: parentDir(), model: { ...BABY_MODEL_CONFIG, units: 32 } })),
    ).rejects.toMatchObject({
      code: 'INCOMPATIBLE_MODEL',
      message: expect.stringContaining('units'),
    });
  });
});
