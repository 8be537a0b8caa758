import { describe, expect, it } from 'vitest';
import { evaluateCaptions } from '../../../src/ml/metrics/index.ts';

describe('evaluateCaptions', () => {
  it('tokenises like coco-caption before scoring (case and punctuation do not matter)', () => {
    const s = evaluateCaptions(
      ['A small red circle, above a blue square.', 'A green triangle!'],
      [['a small red circle above a blue square'], ['a GREEN triangle']],
    );
    expect([s.bleu1, s.bleu2, s.bleu3]).toEqual([1, 1, 1]);
    // the second caption has only 3 words, so its 4-grams do not exist; corpus p4 = 5/5
    expect(s.bleu4).toBe(1);
    expect(s.ciderD).toBeGreaterThan(0);
  });

  it('scores a wrong caption below a right one', () => {
    const refs = [['a red circle on the left', 'a red circle'], ['a blue square above a green star']];
    const good = evaluateCaptions(['a red circle', 'a blue square above a green star'], refs);
    const bad = evaluateCaptions(['a blue star', 'a red circle below a yellow square'], refs);
    expect(good.bleu4).toBeGreaterThan(bad.bleu4);
    expect(good.ciderD).toBeGreaterThan(bad.ciderD);
  });
});
