// The admission estimate against what TF.js really holds: tf.profile()'s peak bytes over one full
// training step (forward, gradients, Adam update) of a real model. The estimate must never be below
// the measured peak (a run it admits fits) and not wildly above it (a run it refuses would not fit).
// The estimate is the worker's whatever its backend: it covers the step-by-step recurrence (a worker
// without the native kernels, or with their 'recurrence' part off), the most a step holds; the native
// recurrence in one call (src/ml/kernels/native-recurrence.ts) holds less, and is checked to.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { CaptionModel } from '../../../src/ml/model/captionModel.ts';
import {
  defaultsOf,
  ENCODER_SETTINGS,
  estimateTrainingMemory,
  resolveRun,
  SPECIAL_TOKENS,
  TRAINING_SETTINGS,
  type RunSettings,
} from '../../../src/ml/settings/index.ts';
import type { ModelConfig } from '../../../src/ml/types.ts';

beforeAll(async () => {
  await initBackend('wasm', testBackendOptions());
});

function measuredPeak(run: RunSettings, nativeRecurrence: boolean): Promise<number> {
  setNativePart('recurrence', nativeRecurrence);
  const T = run.maxLength!;
  const config: ModelConfig = {
    encoder: { kind: 'cnn', imageSize: run.imageSize!, channels: run.channels! },
    gridSize: run.gridSize,
    encoderDim: run.encoderDim,
    embeddingDim: run.embeddingDim,
    units: run.units,
    vocabSize: run.vocabSize + SPECIAL_TOKENS,
    maxLength: T,
    attentionLambda: 0,
  };
  const model = CaptionModel.create(config, 1);
  const optimizer = tf.train.adam(1e-3);
  const B = run.batchSize;
  const images = tf.randomUniform([B, run.imageSize!, run.imageSize!, 3]) as tf.Tensor4D;
  // every caption full length: the most activations a step can keep
  const ids = Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 1 : 4 + (i % (config.vocabSize - 4))));
  const captions = tf.tensor2d(ids, [B, T], 'int32');
  return tf
    .profile(() => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => model.loss(images, captions), model.weights.list());
        optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
      });
    })
    .then((info) => {
      tf.dispose([images, captions]);
      optimizer.dispose();
      model.dispose();
      setNativePart('recurrence', true);
      return info.peakBytes;
    });
}

const base = (): RunSettings =>
  resolveRun({ ...defaultsOf(TRAINING_SETTINGS), ...defaultsOf(ENCODER_SETTINGS) }, { captions: null, imageSide: null });

describe('estimateTrainingMemory', () => {
  const cases: [string, Partial<RunSettings>][] = [
    [
      'small decoder, 32 px',
      { batchSize: 4, units: 32, embeddingDim: 16, encoderDim: 32, vocabSize: 60, maxLength: 10, imageSize: 32, channels: [8, 16] },
    ],
    [
      'wide vocabulary',
      { batchSize: 8, units: 64, embeddingDim: 32, encoderDim: 64, vocabSize: 3000, maxLength: 12, imageSize: 32, channels: [8, 16] },
    ],
    [
      'long captions, 64 px',
      { batchSize: 8, units: 128, embeddingDim: 64, encoderDim: 64, vocabSize: 200, maxLength: 30, imageSize: 64, channels: [8, 16, 32] },
    ],
  ];
  for (const [name, settings] of cases) {
    it(`covers the measured peak of a training step: ${name}`, async () => {
      const run = { ...base(), ...settings };
      const peak = await measuredPeak(run, false);
      const fused = await measuredPeak(run, true);
      const estimate = estimateTrainingMemory(run).totalBytes;
      expect(estimate).toBeGreaterThanOrEqual(peak);
      expect(estimate).toBeLessThan(peak * 4);
      expect(fused).toBeLessThanOrEqual(peak);
    });
  }

  it('puts the oversized run of the issue far beyond any worker (tens of GiB)', () => {
    const run = { ...base(), batchSize: 256, units: 2048, embeddingDim: 1024, vocabSize: 50_000, maxLength: 100 };
    expect(estimateTrainingMemory(run).totalBytes).toBeGreaterThan(20 * 2 ** 30);
  });
});
