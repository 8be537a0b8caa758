import { describe, expect, it } from 'vitest';
import { ciderD } from '../../../src/ml/metrics/cider.ts';

const t = (s: string) => (s === '' ? [] : s.split(' '));
const _LN2 = Math.log(2);

// In every example below there are N = 2 images, so idf(g) = ln 2 − ln max(1, df(g)):
// an n-gram in the references of both images ("a") weighs 0, one in one image's references ln 2,
// one in no reference ln 2 as well (df clamps to 1). "length" is coco-caption's bigram count.
describe('ciderD (coco-caption CIDEr-D)', () => {
  it('scores identical two-word captions 5, not 10 (only orders 1 and 2 exist)', () => {
    // image A: hyp "a cat", ref "a cat"; image B: hyp "a dog", ref "a dog"
    // order 1: h = r = {a: 0, cat: ln2}, ‖h‖ = ‖r‖ = ln2 → (min(ln2, ln2)·ln2) / ln2² = 1
    // order 2: h = r = {"a cat": ln2} → 1; orders 3, 4: empty → 0; δ = 1 − 1 = 0 → penalty 1
    // score = 10 · (1 + 1 + 0 + 0)/4 / 1 ref = 5 for each image
    const r = ciderD([t('a cat'), t('a dog')], [[t('a cat')], [t('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(5, 12);
    expect(r.perImage[1]).toBeCloseTo(5, 12);
    expect(r.score).toBeCloseTo(5, 12);
  });

  it('clips the hypothesis weights by the reference weights', () => {
    // image A: hyp "cat cat", ref "a cat"
    // order 1: h = {cat: 2·ln2}, r = {a: 0, cat: ln2}; min(2ln2, ln2)·ln2 / (2ln2 · ln2) = 1/2
    //          (plain cosine would give 1)
    // order 2: h = {"cat cat": ln2}, r = {"a cat": ln2}: no common bigram → 0
    // lengths: 1 bigram each → penalty 1; score A = 10 · (1/2)/4 = 1.25; image B as above = 5
    const r = ciderD([t('cat cat'), t('a dog')], [[t('a cat')], [t('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(1.25, 12);
    expect(r.score).toBeCloseTo((1.25 + 5) / 2, 12);
  });

  it('applies the Gaussian length penalty on the bigram-count difference (σ = 6)', () => {
    // image A: hyp "cat" (0 bigrams), ref "a cat" (1 bigram): δ = −1, penalty exp(−1/72)
    // order 1: h = {cat: ln2}, r = {a: 0, cat: ln2} → 1 · exp(−1/72); order 2: ‖h‖ = 0 → 0
    // score A = 10 · exp(−1/72)/4 = 2.5·exp(−1/72)
    const r = ciderD([t('cat'), t('a dog')], [[t('a cat')], [t('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(2.5 * Math.exp(-1 / 72), 12);
    expect(r.score).toBeCloseTo((2.5 * Math.exp(-1 / 72) + 5) / 2, 12);
  });

  it('averages over the references of an image', () => {
    // image A: hyp "a cat", refs "a cat", "the cat"; image B: hyp "a dog", ref "a dog"
    // vs "a cat":   [1, 1, 0, 0]
    // vs "the cat": order 1: r = {the: ln2, cat: ln2}, ‖r‖ = √2·ln2; dot = ln2² → 1/√2
    //               order 2: "a cat" ∉ r → 0                           → [1/√2, 0, 0, 0]
    // score A = 10 · ((2 + 1/√2)/4) / 2 refs = 1.25 · (2 + 1/√2)
    const r = ciderD([t('a cat'), t('a dog')], [[t('a cat'), t('the cat')], [t('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(1.25 * (2 + Math.SQRT1_2), 12);
    expect(r.perImage[1]).toBeCloseTo(5, 12);
  });

  it('gives 0 for an empty hypothesis, no overlap, a single image and an empty set', () => {
    expect(ciderD([[], t('a dog')], [[t('a cat')], [t('a dog')]]).perImage[0]).toBe(0);
    expect(ciderD([t('green triangle'), t('a dog')], [[t('a cat')], [t('a dog')]]).perImage[0]).toBe(0);
    // one image: idf = ln 1 − ln max(1, df) ≤ 0 … every weight is 0 (coco-caption behaves the same)
    expect(ciderD([t('a cat')], [[t('a cat')]]).score).toBe(0);
    expect(ciderD([], [])).toEqual({ score: 0, perImage: [] });
  });

  it('uses only n-grams up to order 4 and rewards longer exact matches more', () => {
    const refs = [[t('a small red circle above a blue square')], [t('a green triangle')], [t('a big yellow star')]];
    const exact = ciderD([refs[0][0], refs[1][0], refs[2][0]], refs).perImage[0];
    const partial = ciderD([t('a small red circle'), refs[1][0], refs[2][0]], refs).perImage[0];
    expect(exact).toBeGreaterThan(partial);
    expect(partial).toBeGreaterThan(0);
  });

  it('rejects mismatched inputs', () => {
    expect(() => ciderD([t('a')], [])).toThrow(RangeError);
    expect(() => ciderD([t('a')], [[]])).toThrow(RangeError);
  });
});
