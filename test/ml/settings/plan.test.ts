// planRun: the one function that estimates a run's memory and chooses its automatic settings under the
// worker's budget. The estimate grows with every size; what it chooses fits the budget (and is what the
// estimate says of it); defaults never refuse on any budget GLIMPSE_WORKER_MAX_MEMORY allows; settings a
// client gave are never changed, and refused with the numbers when they cannot fit.
import { describe, expect, it } from 'vitest';
import {
  AUTO_BATCHES,
  DEFAULT_BATCH_SIZE,
  defaultsOf,
  ENCODER_SETTINGS,
  estimateRun,
  MODEL_SIZES,
  OverBudgetError,
  planRun,
  resolveRun,
  TRAINING_SETTINGS,
  type PlanFacts,
  type RunSettings,
  type SettingValues,
} from '../../../src/ml/settings/index.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const defaults = (given: Partial<SettingValues> = {}): SettingValues => ({
  ...defaultsOf(TRAINING_SETTINGS),
  ...defaultsOf(ENCODER_SETTINGS),
  ...given,
});
/** the held-out probe of issue 19: MS-COCO train2017 */
const COCO: PlanFacts = { captions: 591_435, imageSide: 333, words: 20_029, maxTokens: 50 };
const BUDGETS = [128 * MiB, 200 * MiB, 256 * MiB, 512 * MiB, GiB, 2 * GiB, 3.5 * GiB, 8 * GiB, 64 * GiB];

describe('the estimate', () => {
  const base = { ...resolveRun(defaults(), COCO), maxLength: 40 };
  const grown: [string, Partial<RunSettings>][] = [
    ['batchSize', { batchSize: 64 }],
    ['units', { units: 1024 }],
    ['embeddingDim', { embeddingDim: 512 }],
    ['encoderDim', { encoderDim: 512 }],
    ['vocabSize', { vocabSize: 10_000 }],
    ['maxLength', { maxLength: 60 }],
    ['gridSize', { gridSize: 16, imageSize: 128, channels: [32, 64, 128] }],
    ['channels', { channels: [64, 128, 256, 512] }],
    ['imageSize', { imageSize: 256, channels: [32, 64, 128, 256, 256] }],
  ];
  const facts: PlanFacts = { ...COCO, maxTokens: 100 }; // room for maxLength to grow

  it.each(grown)('grows with %s', (_, bigger) => {
    expect(estimateRun({ ...base, ...bigger }, facts).totalBytes).toBeGreaterThan(estimateRun(base, facts).totalBytes);
  });

  it('is monotone in the batch over its whole range', () => {
    let previous = 0;
    for (let batchSize = 1; batchSize <= 256; batchSize++) {
      const bytes = estimateRun({ ...base, batchSize }, COCO).totalBytes;
      expect(bytes).toBeGreaterThan(previous);
      previous = bytes;
    }
  });
});

describe('planRun', () => {
  it('without a budget decides the defaults as they are: the seed sizes and batch 32 on COCO', () => {
    const plan = planRun(defaults(), COCO, null);
    expect(plan.run).toMatchObject({ batchSize: DEFAULT_BATCH_SIZE, units: 512, embeddingDim: 256, encoderDim: 256 });
    expect(plan.notes).toEqual([]);
    expect(plan.estimate).toEqual(estimateRun(plan.run, COCO));
  });

  it.each(BUDGETS)('never refuses the defaults on COCO, and what it chooses fits (budget %d bytes)', (budget) => {
    for (const maxTokens of [12, 22, 50]) {
      const facts = { ...COCO, maxTokens };
      const plan = planRun(defaults(), facts, budget);
      expect(plan.estimate.totalBytes).toBeLessThanOrEqual(budget);
      expect(plan.estimate).toEqual(estimateRun(plan.run, facts));
      // the largest: the next larger automatic batch of the same sizes would not fit
      const larger = [...AUTO_BATCHES].reverse().find((b) => b > plan.run.batchSize);
      if (larger !== undefined && plan.run.units === 512) {
        expect(estimateRun({ ...plan.run, batchSize: larger }, facts).totalBytes).toBeGreaterThan(budget);
      }
    }
  });

  it("keeps the seed's sizes on COCO at the default 3.5 GiB and says the batch is smaller, with the numbers", () => {
    const plan = planRun(defaults(), COCO, 3.5 * GiB);
    expect(plan.run).toMatchObject({ batchSize: 12, units: 512, embeddingDim: 256, encoderDim: 256, channels: [32, 64, 128, 256] });
    expect(plan.notes).toEqual([
      'batchSize 12 instead of 32: 32 would need about 7.9 GiB, over the worker budget of 3.5 GiB (GLIMPSE_WORKER_MAX_MEMORY)',
    ]);
    // the probe's captions (22 tokens at most): 3.5 GiB at 32 was refused; now batch 24
    expect(planRun(defaults(), { ...COCO, maxTokens: 22 }, 3.5 * GiB).run.batchSize).toBe(24);
  });

  it('gives up the seed sizes only below batch 8, and says so', () => {
    const plan = planRun(defaults(), COCO, GiB);
    expect(plan.run).toMatchObject({ units: MODEL_SIZES.small.units, embeddingDim: MODEL_SIZES.small.embeddingDim, batchSize: 8 });
    expect(plan.run.learningRate).toBe(MODEL_SIZES.small.learningRate);
    expect(plan.notes[0]).toMatch(
      /^model sizes GRU 128, embedding 64, features 64 instead of the seed's 512, 256, 256: those at batch 8 would need about 2\.1 GiB, over the worker budget of 1\.0 GiB/,
    );
  });

  it('never changes a setting the client gave: refuses it with the estimate and the budget', () => {
    const given = defaults({ batchSize: 32, units: 512, embeddingDim: 256, encoderDim: 256, channels: [32, 64, 128, 256] });
    expect(() => planRun(given, COCO, 3.5 * GiB)).toThrow(OverBudgetError);
    try {
      planRun(given, COCO, 3.5 * GiB);
    } catch (error) {
      const e = error as OverBudgetError;
      expect(e.code).toBe('OVER_MEMORY_BUDGET');
      expect(e.budgetBytes).toBe(3.5 * GiB);
      expect(e.run).toMatchObject({ batchSize: 32, units: 512 });
      expect(e.message).toBe(
        'this run needs about 7.9 GiB of memory (6,535,628 parameters; activations of 32 captions per step), over the worker budget of 3.5 GiB (GLIMPSE_WORKER_MAX_MEMORY)',
      );
    }
    // the same sizes at a batch that fits are taken as given
    expect(planRun(defaults({ batchSize: 8, units: 512 }), COCO, 3.5 * GiB).run).toMatchObject({ batchSize: 8, units: 512 });
  });

  it('shrinks the automatic settings around a given one: a given batch keeps, the automatic sizes give way', () => {
    const plan = planRun(defaults({ batchSize: 32 }), COCO, 3.5 * GiB);
    expect(plan.run).toMatchObject({ batchSize: 32, units: 128, embeddingDim: 64 });
    expect(plan.notes).toHaveLength(1);
    // with every size given, nothing is left to shrink
    expect(() => planRun(defaults({ batchSize: 256, units: 2048, embeddingDim: 1024 }), COCO, 3.5 * GiB)).toThrow(
      /over the worker budget of 3\.5 GiB/,
    );
  });

  it('keeps a small set on the small sizes and batch 32 where they fit', () => {
    const demo: PlanFacts = { captions: 20_000, imageSide: 64, words: 20, maxTokens: 14 };
    const plan = planRun(defaults(), demo, 3.5 * GiB);
    expect(plan.run).toMatchObject({ batchSize: 32, units: 128, imageSize: 64 });
    expect(plan.notes).toEqual([]);
  });

  it("the worker's check of a stored run (every setting decided) is the API's plan again", () => {
    const admitted = planRun(defaults(), COCO, 3.5 * GiB).run;
    expect(planRun(admitted, { captions: null, imageSide: null, words: COCO.words, maxTokens: COCO.maxTokens }, 3.5 * GiB).run).toEqual(
      admitted,
    );
    expect(() => planRun(admitted, { captions: null, imageSide: null, words: COCO.words, maxTokens: 50 }, 2 * GiB)).toThrow(
      OverBudgetError,
    );
  });
});
