// The object metric on hand-made captions: pairs named, multisets, precision/recall and the exact rate.
import { describe, expect, it } from 'vitest';
import { namedPairs, objectScores } from '../../../src/ml/metrics/objects.ts';

const COLORS = ['red', 'green', 'blue', 'yellow'];
const SHAPES = ['circle', 'square', 'triangle'];
const img = (...pairs: [string, string][]) => ({ objects: pairs.map(([color, shape]) => ({ color, shape })) });

describe('object metric', () => {
  it('reads colour+shape pairs, skipping sizes and relations', () => {
    expect(namedPairs('a small red circle to the left of a large blue square', COLORS, SHAPES)).toEqual(['red circle', 'blue square']);
    expect(namedPairs('there is a red and a circle', COLORS, SHAPES)).toEqual([]);
    expect(namedPairs('a red circle and a red circle', COLORS, SHAPES)).toEqual(['red circle', 'red circle']);
  });

  it('scores precision, recall, F1 and the exact rate over images', () => {
    const scores = objectScores(
      [
        'a red circle and a blue square', // exact
        'a red circle', // misses the green triangle
        'a yellow square and a blue square', // one wrong, one right
        'a red circle and a red circle', // names one object twice
      ],
      [
        img(['blue', 'square'], ['red', 'circle']),
        img(['red', 'circle'], ['green', 'triangle']),
        img(['blue', 'square']),
        img(['red', 'circle']),
      ],
      COLORS,
      SHAPES,
    )!;
    // named 2+1+2+2 = 7, true 2+2+1+1 = 6, matched 2+1+1+1 = 5
    expect(scores.images).toBe(4);
    expect(scores.precision).toBeCloseTo(5 / 7, 10);
    expect(scores.recall).toBeCloseTo(5 / 6, 10);
    expect(scores.f1).toBeCloseTo((2 * (5 / 7) * (5 / 6)) / (5 / 7 + 5 / 6), 10);
    expect(scores.exactRate).toBe(0.25);
  });

  it('is null when no image lists objects (COCO)', () => {
    expect(objectScores(['a dog'], [{}], COLORS, SHAPES)).toBeNull();
  });
});
