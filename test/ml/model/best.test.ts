// Best model, not last: a run whose validation loss rises after its best epoch ends with that epoch's
// weights (equal to its epoch-end checkpoint), and reports which epoch it was; keepBest: false keeps the
// last; a resumed run that never beats its predecessor's best reloads that checkpoint's weights.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { readCheckpoint } from '../../../src/ml/checkpoint.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { train, TrainingAbortedError, type TrainOptions, type TrainResult } from '../../../src/ml/train.ts';
import type { CaptionedImage, CheckpointEvent, EpochEvent } from '../../../src/ml/types.ts';
import { shapesImages, tempDir } from './fixtures.ts';

let dir: string;
let remove: () => Promise<void>;
let images: CaptionedImage[];

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('best'));
  images = await shapesImages(dir, 16, 8, 32);
});
afterAll(() => remove());

// few training images and a high learning rate: the validation loss bottoms out, then rises
const options = (name: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  images,
  checkpointDir: `${dir}/${name}`,
  model: BABY_MODEL_CONFIG,
  train: { epochs: 8, batchSize: 8, learningRate: 2e-2, seed: 4, valFraction: 0.25 },
  evalImages: 0,
  ...extra,
});

async function expectWeightsOf(result: TrainResult, checkpoint: string): Promise<void> {
  const ck = await readCheckpoint(checkpoint);
  for (const [name, value] of result.model.weights.entries()) {
    expect(Array.from(value.dataSync())).toEqual(Array.from(ck.weights.get(name)!.dataSync()));
  }
  tf.dispose([...ck.weights.values(), ...ck.optimizer.values()]);
}

describe('best epoch', () => {
  let epochs: EpochEvent[] = [];
  const checkpoints = new Map<number, string>();
  let bestEpoch = 0;

  it('ends with the weights of the epoch with the lowest validation loss', async () => {
    const before = tf.memory().numTensors;
    const result = await train(options('full', { onCheckpoint: (c) => void checkpoints.set(c.epoch, c.path) }));
    epochs = result.epochs;
    expect(result.stopReason).toBe('all 8 epochs');
    const losses = epochs.map((e) => e.valLoss!);
    bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
    expect(bestEpoch).toBeLessThan(epochs.length); // the setup does overfit: the last epoch is worse
    expect(result.bestEpoch).toMatchObject({ epoch: bestEpoch, valLoss: Math.min(...losses) });
    await expectWeightsOf(result, checkpoints.get(bestEpoch)!);
    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops early once the validation loss has not improved for `patience` epochs, with the best weights', async () => {
    const stopped = new Map<number, string>();
    const result = await train(
      options('early', {
        train: { ...options('x').train, patience: 1 },
        onCheckpoint: (c) => void stopped.set(c.epoch, c.path),
      }),
    );
    const losses = result.epochs.map((e) => e.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(result.epochs.length).toBe(best + 1); // the first epoch after the best that did not beat it
    expect(result.epochs.length).toBeLessThan(8);
    expect(result.bestEpoch?.epoch).toBe(best);
    expect(result.stopReason).toMatch(new RegExp(`^early stopping after epoch ${best + 1}: .* for 1 epoch \\(best: epoch ${best},`));
    await expectWeightsOf(result, stopped.get(best)!);
    result.model.dispose();
  });

  it('keeps the last weights with keepBest: false', async () => {
    const result = await train(options('last', { keepBest: false }));
    expect(result.bestEpoch).toBeNull();
    await expectWeightsOf(result, result.lastCheckpoint!.path);
    result.model.dispose();
  });

  it("reloads the predecessor's best checkpoint when a resumed run never beats it", async () => {
    // stop right after the best epoch's checkpoint, then resume to the end
    const stop = new AbortController();
    let at: CheckpointEvent | null = null;
    await expect(
      train(
        options('resumed', {
          signal: stop.signal,
          onEpochEnd: (e) => {
            if (e.epoch === bestEpoch) stop.abort();
          },
          onCheckpoint: (c) => void (at = c),
        }),
      ),
    ).rejects.toBeInstanceOf(TrainingAbortedError);
    const resumed = await train(options('resumed', { resumeFrom: at!.path }));
    expect(resumed.bestEpoch?.epoch).toBe(bestEpoch);
    const bestCheckpoint = (await readCheckpoint(at!.path)).meta.best!.checkpoint;
    await expectWeightsOf(resumed, bestCheckpoint);
    resumed.model.dispose();
  });
});
