// Training: a tiny model overfits a few images; a resumed run (from a periodic checkpoint, a
// time-based one or an abort) reproduces the uninterrupted run step for step; training leaks no tensors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { train, TrainingAbortedError, type TrainOptions } from '../../../src/ml/train.ts';
import type { CaptionedImage, CheckpointEvent } from '../../../src/ml/types.ts';
import { shapesImages, tempDir } from './fixtures.ts';

let dir: string;
let remove: () => Promise<void>;
let images: CaptionedImage[];

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('train'));
  images = await shapesImages(dir, 12, 3, 32);
});
afterAll(() => remove());

const base = (name: string): TrainOptions => ({
  images,
  checkpointDir: `${dir}/${name}`,
  model: BABY_MODEL_CONFIG,
  train: { epochs: 2, batchSize: 8, learningRate: 3e-3, seed: 11, valFraction: 0.25, checkpointEvery: 3 },
});

describe('train', () => {
  it('overfits a handful of images to near-zero loss', async () => {
    // one caption per image (repeated, so an epoch is several batches and checkpoints are fewer)
    const few = images.slice(0, 4).map((img) => ({ ...img, captions: Array<string>(5).fill(img.captions[0]) }));
    const losses: number[] = [];
    const result = await train({
      images: few,
      checkpointDir: `${dir}/overfit`,
      model: BABY_MODEL_CONFIG,
      train: { epochs: 30, batchSize: 4, learningRate: 1e-2, seed: 1, valFraction: 0 },
      onBatchEnd: (e) => void losses.push(e.loss),
    });
    result.model.dispose();
    expect(losses).toHaveLength(150);
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)).toBeLessThan(0.05);
  });

  it('resumes from a mid-run checkpoint with the same losses at the same steps', async () => {
    const before = tf.memory().numTensors;
    const full = new Map<number, number>();
    const checkpoints: CheckpointEvent[] = [];
    const tensorsAtBatchEnd: number[] = [];
    const result = await train({
      ...base('full'),
      onBatchEnd: (e) => {
        full.set(e.step, e.loss);
        tensorsAtBatchEnd.push(tf.memory().numTensors);
      },
      onCheckpoint: (e) => void checkpoints.push(e),
    });
    expect(result.epochs).toHaveLength(2);
    expect(result.epochs[1].valLoss).toBeGreaterThan(0);
    expect(result.epochs[1].bleu4).toBeGreaterThanOrEqual(0);
    const weightCount = result.model.weights.list().length;
    result.model.dispose();
    // no tensor leaks: steady across steps (after the first epoch, plus one copy of the weights: the
    // best epoch's, src/ml/best.ts), and nothing left once the model is disposed
    const levels = [...new Set(tensorsAtBatchEnd.slice(1))].sort((x, y) => x - y);
    expect(levels.length).toBeLessThanOrEqual(2);
    if (levels.length === 2) expect(levels[1]! - levels[0]!).toBe(weightCount);
    expect(tf.memory().numTensors).toBe(before);

    const mid = checkpoints.find((c) => c.step === 3)!;
    expect(mid).toBeDefined();
    const resumed = new Map<number, number>();
    const again = await train({ ...base('resumed'), resumeFrom: mid.path, onBatchEnd: (e) => void resumed.set(e.step, e.loss) });
    again.model.dispose();
    expect([...resumed.keys()]).toEqual([...full.keys()].filter((s) => s > 3));
    for (const [step, loss] of resumed) expect(loss, `step ${step}`).toBe(full.get(step)); // bit for bit
    expect(again.epochs.at(-1)!.valLoss).toBe(result.epochs.at(-1)!.valLoss);
  });

  it('checkpoints by time (checkpointMinutes) and resumes from such a checkpoint step for step', async () => {
    const everyMs = 150;
    const timed = (name: string): TrainOptions => ({
      ...base(name),
      train: { ...base(name).train, epochs: 3, checkpointEvery: 0, checkpointMinutes: everyMs / 60_000 },
    });
    const full = new Map<number, number>();
    const written: { event: CheckpointEvent; at: number }[] = [];
    const result = await train({
      ...timed('timed'),
      onBatchEnd: async (e) => {
        full.set(e.step, e.loss);
        await new Promise((resolve) => setTimeout(resolve, 60)); // a step of at least 60 ms
      },
      onCheckpoint: (event) => void written.push({ event, at: performance.now() }),
    });
    result.model.dispose();
    const perEpoch = full.size / 3;
    const midEpoch = written.filter((w) => w.event.step % perEpoch !== 0);
    expect(midEpoch.length).toBeGreaterThan(0);
    // never sooner than the interval after the checkpoint before it (epoch ends included)
    for (let i = 1; i < written.length; i++) {
      if (written[i]!.event.step % perEpoch === 0) continue;
      expect(written[i]!.at - written[i - 1]!.at).toBeGreaterThanOrEqual(everyMs - 5);
    }
    const mid = midEpoch.at(-1)!.event;
    const resumed = new Map<number, number>();
    const again = await train({ ...timed('timed-resumed'), resumeFrom: mid.path, onBatchEnd: (e) => void resumed.set(e.step, e.loss) });
    again.model.dispose();
    expect([...resumed.keys()]).toEqual([...full.keys()].filter((s) => s > mid.step));
    for (const [step, loss] of resumed) expect(loss, `step ${step}`).toBe(full.get(step)); // bit for bit
  });

  it('checkpoints on abort and continues from there', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await train({
      ...base('aborted'),
      signal: controller.signal,
      onBatchEnd: (e) => {
        seen.push(e.step);
        if (e.step === 2) controller.abort();
      },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TrainingAbortedError);
    const checkpoint = (error as TrainingAbortedError).checkpoint!;
    expect(checkpoint.step).toBe(2);
    expect(seen).toEqual([1, 2]);
    const steps: number[] = [];
    const resumed = await train({ ...base('aborted'), resumeFrom: checkpoint.path, onBatchEnd: (e) => void steps.push(e.step) });
    resumed.model.dispose();
    expect(steps[0]).toBe(3);
    expect(resumed.step).toBe(steps.at(-1));
  });
});
