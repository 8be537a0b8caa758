import { describe, expect, it } from 'vitest';
import { learningRateAt } from '../../src/ml/schedule.ts';

describe('learningRateAt (cosine decay)', () => {
  it('starts at the learning rate, ends at endFraction of it, and halves the gap midway', () => {
    expect(learningRateAt(0, 101, 0.01, 0.1)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(50, 101, 0.01, 0.1)).toBeCloseTo(0.01 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRateAt(100, 101, 0.01, 0.1)).toBeCloseTo(0.001, 12);
  });

  it('falls monotonically and stays at the end value past the last step', () => {
    const rates = Array.from({ length: 30 }, (_, step) => learningRateAt(step, 20, 0.003, 0.05));
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThanOrEqual(rates[i - 1]!);
    expect(rates[25]).toBeCloseTo(0.003 * 0.05, 12);
  });

  it('is constant with endFraction 1 (the default) or a single step', () => {
    expect(learningRateAt(7, 10, 0.003, 1)).toBe(0.003);
    expect(learningRateAt(0, 1, 0.003, 0.1)).toBe(0.003);
  });
});
