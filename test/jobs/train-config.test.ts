// TrainingRun.config (as startTraining stores it) → the ML settings the worker trains with: the
// default CNN, a CNN image size, a pretrained backbone whose features go to the given cache dir, and
// rows written before a setting existed (they take the schema's default).
import { describe, expect, it } from 'vitest';
import { mlSettings, parseRunConfig } from '../../src/jobs/train-config.ts';
import { DEFAULT_BACKBONE_IMAGE_SIZE, DEFAULT_CNN_ENCODER, defaultsOf, ENCODER_SETTINGS, TRAINING_SETTINGS } from '../../src/ml/index.ts';

const BASE = {
  epochs: 2,
  batchSize: 8,
  learningRate: 0.01,
  embeddingDim: 16,
  units: 32,
  vocabSize: 50,
  maxLength: null,
  seed: 3,
  valFraction: 0.1,
  checkpointEvery: 0,
};
const paths = { featureCacheDir: '/data/datasets/d1/features' };

describe('mlSettings', () => {
  it('fills settings an old row lacks with the schema defaults, and keeps the default CNN', () => {
    const run = parseRunConfig(BASE);
    // a row from before the automatic settings: what the defaults were then (the seed's sizes, the CNN at 128 px)
    expect(run).toEqual({
      ...defaultsOf(TRAINING_SETTINGS),
      ...defaultsOf(ENCODER_SETTINGS),
      encoderDim: 256,
      imageSize: 128,
      channels: [32, 64, 128, 256],
      // settings added later: the value of the time, not today's default
      deepOutput: false,
      learningRateEnd: 1,
      contextDropout: 0,
      checkpointMinutes: 0,
      ...BASE,
    });
    const plain = mlSettings(run, paths);
    expect(plain.model.deepOutput).toBe(false);
    expect(plain.model).toMatchObject({ units: 32, embeddingDim: 16 });
    expect(plain.model.encoder ?? DEFAULT_CNN_ENCODER).toEqual(DEFAULT_CNN_ENCODER); // absent: train()'s default CNN
    expect(plain.train).toMatchObject({ epochs: 2, batchSize: 8, vocabSize: 50, clipNorm: 5 });
    expect(plain.train).not.toHaveProperty('maxLength');
    const small = mlSettings(parseRunConfig({ ...BASE, imageSize: 64 }), paths);
    expect(small.model.encoder).toEqual({ kind: 'cnn', imageSize: 64, channels: [32, 64, 128] }); // a conv stage per pooling step
  });

  it('maps backbone, layer and image size to a pretrained encoder cached under the given directory', () => {
    const url = 'https://example.com/mobilenet/model.json';
    const full = mlSettings(parseRunConfig({ ...BASE, backbone: url, backboneLayer: 'out_relu', imageSize: 299 }), paths);
    expect(full.model.encoder).toEqual({ kind: 'pretrained', url, layer: 'out_relu', imageSize: 299, cacheDir: paths.featureCacheDir });
    const defaults = mlSettings(parseRunConfig({ ...BASE, backbone: '/srv/model.json' }), paths);
    expect(defaults.model.encoder).toEqual({
      kind: 'pretrained',
      url: '/srv/model.json',
      imageSize: DEFAULT_BACKBONE_IMAGE_SIZE,
      cacheDir: paths.featureCacheDir,
    });
  });

  it('refuses malformed keys and values outside the schema bounds with RUN_CONFIG_INVALID', () => {
    expect(() => parseRunConfig({ ...BASE, backbone: 42 })).toThrow(/backbone must be a string/);
    expect(() => parseRunConfig({ ...BASE, imageSize: '224' })).toThrow(/imageSize: must be a finite number/);
    expect(() => parseRunConfig({ ...BASE, batchSize: 100_000 })).toThrow(/batchSize: must be 1\.\.256/);
    expect(() => parseRunConfig({ ...BASE, learningRate: 1e-300 })).toThrow(/learningRate: must be > 1e-6/);
  });
});
