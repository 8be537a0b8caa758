// TrainingRun.config (as startTraining stores it) → the ML settings the worker trains with: the
// default CNN, a CNN image size, and a pretrained backbone whose features go to the given cache dir.
import { describe, expect, it } from 'vitest';
import { mlSettings, parseRunConfig } from '../../src/jobs/train-config.ts';
import { DEFAULT_BACKBONE_IMAGE_SIZE } from '../../src/ml/index.ts';
import { BACKBONE_IMAGE_SIZE as API_BACKBONE_IMAGE_SIZE } from '../../src/resolvers/training-run.input.ts';
import { DEFAULT_CNN_ENCODER } from '../../src/ml/index.ts';

const BASE = { epochs: 2, batchSize: 8, learningRate: 0.01, embeddingDim: 16, units: 32, vocabSize: 50, maxLength: null, seed: 3, valFraction: 0.1, checkpointEvery: 0 };
const paths = { featureCacheDir: '/data/datasets/d1/features' };

describe('mlSettings', () => {
  it('keeps the default CNN when the config names no encoder, and maps a CNN image size', () => {
    const plain = mlSettings(parseRunConfig(BASE), paths);
    expect(plain.model).toEqual({ units: 32, embeddingDim: 16 });
    expect(plain.train).toMatchObject({ epochs: 2, batchSize: 8, topK: 50 });
    expect(plain.train).not.toHaveProperty('maxLength');
    const small = mlSettings(parseRunConfig({ ...BASE, imageSize: 64 }), paths);
    expect(small.model.encoder).toEqual({ ...DEFAULT_CNN_ENCODER, imageSize: 64 });
  });

  it('maps backbone, layer and image size to a pretrained encoder cached under the given directory', () => {
    const url = 'https://example.com/mobilenet/model.json';
    const full = mlSettings(parseRunConfig({ ...BASE, backbone: url, backboneLayer: 'out_relu', imageSize: 299 }), paths);
    expect(full.model.encoder).toEqual({ kind: 'pretrained', url, layer: 'out_relu', imageSize: 299, cacheDir: paths.featureCacheDir });
    const defaults = mlSettings(parseRunConfig({ ...BASE, backbone: '/srv/model.json' }), paths);
    expect(defaults.model.encoder).toEqual({ kind: 'pretrained', url: '/srv/model.json', imageSize: DEFAULT_BACKBONE_IMAGE_SIZE, cacheDir: paths.featureCacheDir });
    expect(DEFAULT_BACKBONE_IMAGE_SIZE).toBe(API_BACKBONE_IMAGE_SIZE); // the default the API documents is the one applied
  });

  it('refuses malformed encoder keys and CNN channels with a backbone', () => {
    expect(() => parseRunConfig({ ...BASE, backbone: 42 })).toThrow(/backbone must be a string/);
    expect(() => parseRunConfig({ ...BASE, imageSize: '224' })).toThrow(/imageSize must be a number/);
    expect(() => mlSettings(parseRunConfig({ ...BASE, backbone: '/srv/model.json', channels: [8] }), paths)).toThrow(/channels/);
  });
});
