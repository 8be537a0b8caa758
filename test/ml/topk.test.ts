// topK (beam search's choice of each beam's candidates): the k largest values' indices, best first,
// ties keeping the earlier index, against a stable sort, over random rows with many ties.
import { describe, expect, it } from 'vitest';
import { topK } from '../../src/ml/decode/index.ts';
import { Rng } from '../../src/ml/random.ts';

/** the reference: every index sorted by value (descending), a stable sort keeping ties in index order */
const bySort = (values: Float32Array, k: number) =>
  Array.from(values.keys())
    .sort((a, b) => values[b] - values[a])
    .slice(0, Math.max(k, 0));

describe('topK', () => {
  it('equals a stable sort of the values, ties in index order', () => {
    const rng = new Rng(11);
    for (const n of [1, 2, 3, 7, 100, 5000]) {
      for (const levels of [3, 1000]) {
        const values = Float32Array.from({ length: n }, () => Math.floor(rng.next() * levels) - levels);
        for (const k of [0, 1, 3, 5, n, n + 2]) expect(topK(values, k), `n ${n} levels ${levels} k ${k}`).toEqual(bySort(values, k));
      }
    }
  });

  it('keeps the largest when it comes last, and -Infinity values while the list is not full', () => {
    expect(topK(Float32Array.of(1, 2, 3, 4), 2)).toEqual([3, 2]);
    expect(topK(Float32Array.of(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY), 3)).toEqual([0, 1]);
  });
});
