// The divergence watch on hand-made loss sequences: a falling or noisy loss passes, an exploding one
// (the lr=1 run: 3.5 → 1302) and a non-finite one are caught with the reason.
import { describe, expect, it } from 'vitest';
import { DivergenceWatch } from '../../src/ml/divergence.ts';

const feed = (watch: DivergenceWatch, losses: number[]) =>
  losses.map((loss, i) => watch.observe(i + 1, loss)).find((why) => why !== null) ?? null;

describe('DivergenceWatch', () => {
  it('lets a falling or noisy loss through', () => {
    expect(feed(new DivergenceWatch(), [3.5, 3.1, 2.8, 2.9, 2.4, 2.6, 2.0, 1.8, 2.2, 1.5])).toBeNull();
    expect(feed(new DivergenceWatch(), [3.5, 6, 3, 7, 3, 2.5, 2, 2, 2, 2])).toBeNull(); // spikes, smoothed away
  });

  it('catches an exploding loss with the numbers, after the warm-up', () => {
    const why = feed(new DivergenceWatch(), [3.5, 8, 40, 160, 500, 900, 1302]);
    expect(why).toMatch(/the loss diverged: [\d.]+ \(smoothed\) at step 5, more than 3× the 3\.500 it started at: lower the learning rate/);
  });

  it('catches NaN and infinity at once', () => {
    expect(feed(new DivergenceWatch(), [3.5, Number.NaN])).toMatch(/the loss became NaN at step 2/);
    expect(feed(new DivergenceWatch(), [Number.POSITIVE_INFINITY])).toMatch(/became Infinity at step 1/);
  });

  it("judges a resumed run against the run's first loss, not the resumed one", () => {
    expect(feed(new DivergenceWatch(3.5), [0.9, 1.2, 2.5, 3, 4, 4])).toBeNull(); // worse, but not 3× the start
    expect(feed(new DivergenceWatch(3.5), [0.9, 20, 30, 40, 50])).toMatch(/diverged/);
  });
});
