// The chart's smoothing (a debiased exponential moving average, as TensorBoard draws it), and its
// drawing helpers on a million points (issue 19: a 300,000-step run never drew).
import { describe, expect, it } from 'vitest';
import { extent, pixelColumns, smooth } from '../../src/web/dashboard/loss-chart.ts';

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

describe('drawing any number of points', () => {
  const many = Array.from({ length: 1_000_000 }, (_, i) => [i + 1, i === 654_321 ? 50 : 2 + Math.sin(i / 1000)] as [number, number]);

  it('finds the extents of a million points (no spread into Math.min: no stack overflow)', () => {
    expect(extent(many, [[10, 3]])).toEqual({ x0: 0, x1: 1_000_000, y0: 0, y1: 50 * 1.05 });
    expect(extent([[3, 0]], [])).toEqual({ x0: 0, x1: 3, y0: 0, y1: 1 }); // a flat zero curve still gets a y range
  });

  it('draws at most 4 vertices per pixel column, keeping each column’s lowest and highest point', () => {
    // a million points over 800 columns
    const line = pixelColumns(many.map(([x, y]) => [(x / 1_000_000) * 800, y]));
    expect(line.length).toBeLessThanOrEqual(4 * 801);
    expect(Math.max(...line.map(([, y]) => y))).toBe(50);
    expect(Math.min(...line.map(([, y]) => y))).toBeCloseTo(1, 5);
    // fewer points than columns: every point, in order
    expect(
      pixelColumns([
        [0, 1],
        [10, 2],
        [20, 3],
      ]).filter((_, i) => i % 4 === 0),
    ).toEqual([
      [0, 1],
      [10, 2],
      [20, 3],
    ]);
  });
});
