// The rules a run's settings follow beyond the schema's defaults: `epochs` left out comes from a step
// budget by the dataset's size (the demo set keeps its 5, a small set gets more, MS-COCO 1, never past
// the cap; the batch the plan chooses counts); a warm-started run takes its parent's architecture where
// the client left it out and refuses a differing value, naming the setting.
import { describe, expect, it } from 'vitest';
import {
  defaultsOf,
  ENCODER_SETTINGS,
  EPOCH_STEP_BUDGET,
  epochsFor,
  EPOCHS_WHEN_UNKNOWN,
  inheritArchitecture,
  MAX_AUTO_EPOCHS,
  parentArchitectureOf,
  planRun,
  SettingError,
  stepsPerEpochOf,
  TRAINING_SETTINGS,
  type SettingValues,
} from '../../../src/ml/settings/index.ts';

const defaults = (given: Partial<SettingValues> = {}): SettingValues => ({
  ...defaultsOf(TRAINING_SETTINGS),
  ...defaultsOf(ENCODER_SETTINGS),
  ...given,
});

describe('epochs that follow the data', () => {
  it('gives the demo set its 5 epochs, a small set more, MS-COCO one, and stays within 1..MAX_AUTO_EPOCHS', () => {
    expect(stepsPerEpochOf(20_000, 0.1, 32)).toBe(563);
    expect(epochsFor(20_000, 0.1, 32)).toBe(9); // the demo set: 5,067 steps
    expect(epochsFor(1_500, 0.1, 32)).toBe(Math.min(MAX_AUTO_EPOCHS, Math.ceil(EPOCH_STEP_BUDGET / 43)));
    expect(epochsFor(591_435, 0.1, 12)).toBe(1);
    expect(epochsFor(40, 0.1, 32)).toBe(MAX_AUTO_EPOCHS);
    expect(epochsFor(null, 0.1, 32)).toBe(EPOCHS_WHEN_UNKNOWN);
    for (const captions of [10, 500, 5_000, 50_000, 500_000]) {
      const epochs = epochsFor(captions, 0.1, 32);
      expect(epochs * stepsPerEpochOf(captions, 0.1, 32)).toBeGreaterThanOrEqual(
        Math.min(EPOCH_STEP_BUDGET, stepsPerEpochOf(captions, 0.1, 32)),
      );
    }
  });

  it('is decided by planRun with the batch it chooses; a given epochs is kept', () => {
    const demo = { captions: 20_000, imageSide: 64, words: 17, maxTokens: 14 };
    expect(planRun(defaults(), demo, null).run.epochs).toBe(9);
    expect(planRun(defaults({ batchSize: 8 }), demo, null).run.epochs).toBe(epochsFor(20_000, 0.1, 8));
    expect(planRun(defaults({ epochs: 3 }), demo, null).run.epochs).toBe(3);
    expect(planRun(defaults(), demo, null).run.patience).toBe(0); // early stopping off unless asked
  });
});

describe('warm start: the architecture of the parent model', () => {
  const parentConfig = {
    encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
    gridSize: 8,
    encoderDim: 64,
    embeddingDim: 64,
    units: 128,
    vocabSize: 21,
    maxLength: 14,
    attentionLambda: 0,
    deepOutput: true,
  };
  const parent = parentArchitectureOf(parentConfig)!;

  it('reads a stored model config; null when it does not say its architecture', () => {
    expect(parent).toEqual({
      units: 128,
      embeddingDim: 64,
      encoderDim: 64,
      gridSize: 8,
      imageSize: 64,
      channels: [16, 32, 64],
      backbone: null,
      backboneLayer: null,
      deepOutput: true,
    });
    const pretrained = parentArchitectureOf({ ...parentConfig, encoder: { kind: 'pretrained', url: 'https://h/m.json', imageSize: 224 } });
    expect(pretrained).toMatchObject({ backbone: 'https://h/m.json', channels: null, backboneLayer: null, imageSize: 224 });
    expect(parentArchitectureOf({ units: 8 })).toBeNull();
    expect(parentArchitectureOf(null)).toBeNull();
  });

  it("takes the parent's values for what was not given, keeps equal given ones, refuses a differing one by name", () => {
    const inherited = inheritArchitecture(defaults({ units: null, encoderDim: null }), new Set(), parent);
    expect(inherited).toMatchObject({
      units: 128,
      embeddingDim: 64,
      encoderDim: 64,
      imageSize: 64,
      channels: [16, 32, 64],
      deepOutput: true,
    });
    expect(() => inheritArchitecture(defaults({ units: 128 }), new Set(['units']), parent)).not.toThrow();
    const refused = (() => {
      try {
        inheritArchitecture(defaults({ embeddingDim: 32 }), new Set(['embeddingDim']), parent);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(SettingError);
    expect(refused).toMatchObject({
      setting: 'embeddingDim',
      message: expect.stringMatching(/is 64 in the model the run starts from \(initFrom\), got 32/),
    });
  });

  it("gives a backbone parent's backbone to a run that leaves the encoder out", () => {
    const backbone = parentArchitectureOf({
      ...parentConfig,
      encoder: { kind: 'pretrained', url: 'https://h/m.json', layer: 'conv', imageSize: 224 },
    })!;
    const values = inheritArchitecture(defaults(), new Set(), backbone);
    expect(values).toMatchObject({ backbone: 'https://h/m.json', backboneLayer: 'conv', channels: null, imageSize: 224 });
    expect(planRun(values, { captions: 1_000, imageSide: 64 }, null).run).toMatchObject({ backbone: 'https://h/m.json', channels: null });
  });
});
