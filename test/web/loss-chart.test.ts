// The chart's smoothing: a debiased exponential moving average, as TensorBoard draws it.
import { describe, expect, it } from 'vitest';
import { smooth } from '../../src/web/dashboard/loss-chart.ts';

describe('smooth', () => {
  it('keeps x, starts at the first value and follows the hand-computed debiased EMA', () => {
    const out = smooth(
      [
        [1, 4],
        [2, 2],
        [5, 1],
      ],
      0.5,
    );
    expect(out.map(([x]) => x)).toEqual([1, 2, 5]);
    // raw EMA: 2, 2, 1.5; debias factors 1 - 0.5^i: 0.5, 0.75, 0.875
    expect(out[0]![1]).toBeCloseTo(4, 12);
    expect(out[1]![1]).toBeCloseTo(2 / 0.75, 12);
    expect(out[2]![1]).toBeCloseTo(1.5 / 0.875, 12);
  });

  it('leaves a constant series unchanged', () => {
    expect(
      smooth(
        [
          [1, 3],
          [2, 3],
          [3, 3],
        ],
        0.9,
      ).map(([, y]) => y),
    ).toEqual([3, 3, 3].map((y) => expect.closeTo(y, 12)));
  });
});
