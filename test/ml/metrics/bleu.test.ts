import { describe, expect, it } from 'vitest';
import { closestReferenceLength, corpusBleu } from '../../../src/ml/metrics/bleu.ts';

const t = (s: string) => (s === '' ? [] : s.split(' '));

describe('corpusBleu', () => {
  it('matches a hand-computed single-sentence example', () => {
    // hyp "the cat sat on the mat" (6 words); refs "the cat is on the mat" (6), "there is a cat on the mat" (7)
    // 1-grams: the×2 (max ref count 2) + cat + on + mat = 5 of 6 (sat unmatched)       p1 = 5/6
    // 2-grams: the cat, on the, the mat match; cat sat, sat on do not                  p2 = 3/5
    // 3-grams: only "on the mat" matches                                               p3 = 1/4
    // 4-grams: the cat sat on / cat sat on the / sat on the mat: none                  p4 = 0/3
    // closest reference length 6 = hypothesis length → BP = 1
    // BLEU-1 = 5/6; BLEU-2 = sqrt(5/6·3/5) = sqrt(1/2); BLEU-3 = (5/6·3/5·1/4)^(1/3) = (1/8)^(1/3) = 1/2; BLEU-4 = 0
    const r = corpusBleu([t('the cat sat on the mat')], [[t('the cat is on the mat'), t('there is a cat on the mat')]]);
    expect(r.bp).toBe(1);
    expect(r.ratio).toBe(1);
    expect(r.bleu[0]).toBeCloseTo(5 / 6, 12);
    expect(r.bleu[1]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(r.bleu[2]).toBeCloseTo(0.5, 12);
    expect(r.bleu[3]).toBe(0);
  });

  it('clips hypothesis counts by the largest count in any single reference', () => {
    // hyp "the the the the"; refs "the cat", "the the dog"
    // 1-grams: the×4, max count in one reference = 2                                   p1 = 2/4
    // 2-grams: "the the"×3, max count 1                                                p2 = 1/3
    // closest reference length to 4: 3 (|3−4| = 1 < |2−4| = 2); c = 4 ≥ r = 3 → BP = 1
    // BLEU-1 = 1/2; BLEU-2 = sqrt(1/2 · 1/3) = sqrt(1/6)
    const r = corpusBleu([t('the the the the')], [[t('the cat'), t('the the dog')]]);
    expect(r.bleu[0]).toBeCloseTo(0.5, 12);
    expect(r.bleu[1]).toBeCloseTo(Math.sqrt(1 / 6), 12);
    expect(r.ratio).toBeCloseTo(4 / 3, 12);
    expect(r.bp).toBe(1);
  });

  it('sums counts over the corpus and applies the brevity penalty with closest lengths', () => {
    // h1 "a red circle" vs "a red circle" (3), "a big red circle above" (5): closest r = 3
    //    matches: 1-grams 3/3, 2-grams 2/2, 3-grams 1/1
    // h2 "blue square" vs "a blue square on the left" (6), "the blue square" (3): closest to 2 is 3
    //    matches: 1-grams 2/2, 2-grams 1/1, 3-grams 0 candidates
    // corpus: p1 = 5/5, p2 = 3/3, p3 = 1/1, p4: no candidate 4-grams → 0
    // c = 5, r = 3 + 3 = 6, ratio = 5/6 < 1 → BP = exp(1 − 6/5) = exp(−0.2)
    const r = corpusBleu(
      [t('a red circle'), t('blue square')],
      [
        [t('a red circle'), t('a big red circle above')],
        [t('a blue square on the left'), t('the blue square')],
      ],
    );
    expect(r.ratio).toBeCloseTo(5 / 6, 12);
    expect(r.bp).toBeCloseTo(Math.exp(-0.2), 12);
    expect(r.bleu[0]).toBeCloseTo(Math.exp(-0.2), 12);
    expect(r.bleu[1]).toBeCloseTo(Math.exp(-0.2), 12);
    expect(r.bleu[2]).toBeCloseTo(Math.exp(-0.2), 12);
    expect(r.bleu[3]).toBe(0);
  });

  it('gives 1 for hypotheses identical to a reference', () => {
    const hyps = [t('a small red circle above a blue square'), t('a green triangle on the left')];
    const r = corpusBleu(hyps, [
      [hyps[0], t('a red circle')],
      [t('something else entirely here'), hyps[1]],
    ]);
    expect(r.bleu).toEqual([1, 1, 1, 1]);
    expect(r.bp).toBe(1);
  });

  it('handles an empty hypothesis, no overlap and an empty corpus', () => {
    expect(corpusBleu([[]], [[t('a red circle')]])).toEqual({ bleu: [0, 0, 0, 0], bp: 0, ratio: 0 });
    const none = corpusBleu([t('green triangle left')], [[t('a red circle')]]);
    expect(none.bleu).toEqual([0, 0, 0, 0]);
    expect(none.bp).toBe(1);
    expect(corpusBleu([], []).bleu).toEqual([0, 0, 0, 0]);
  });

  it('rejects mismatched inputs', () => {
    expect(() => corpusBleu([t('a')], [])).toThrow(RangeError);
    expect(() => corpusBleu([t('a')], [[]])).toThrow(RangeError);
  });

  it('breaks closest-length ties towards the shorter reference', () => {
    expect(closestReferenceLength([5, 3], 4)).toBe(3);
    expect(closestReferenceLength([7, 2, 9], 8)).toBe(7);
  });
});
