import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/ml/model/model-error.ts';
import { tokenize, Vocabulary } from '../../../src/ml/vocab.ts';

describe('Vocabulary', () => {
  const captions = ['A red circle, above a BLUE square!', 'a red square.', 'Two shapes: a red circle and a green triangle'];

  it('lower-cases, strips punctuation and keeps the top-k words after the specials', () => {
    expect(tokenize('A red circle, above... a BLUE square!')).toEqual(['a', 'red', 'circle', 'above', 'a', 'blue', 'square']);
    const vocab = Vocabulary.build(captions, { topK: 3 });
    // counts: a 5, red 3, circle 2, square 2 (alphabetical tie → circle)
    expect(vocab.words).toEqual(['<pad>', '<start>', '<end>', '<unk>', 'a', 'red', 'circle']);
    expect(vocab.size).toBe(7);
    expect(vocab.encode('A red square')).toEqual([1, 4, 5, 3, 2]);
    expect(vocab.decode([1, 4, 5, 6, 2, 4, 0])).toBe('a red circle');
  });

  it('sets maxLength to the longest caption with <start>/<end>, capped, and truncates to it', () => {
    expect(Vocabulary.build(captions).maxLength).toBe(11);
    const capped = Vocabulary.build(captions, { maxLength: 5 });
    expect(capped.maxLength).toBe(5);
    const ids = capped.encode(captions[2]);
    expect(ids).toHaveLength(5);
    expect(ids.at(-1)).toBe(capped.endId);
    expect(Vocabulary.build(['word '.repeat(80)]).maxLength).toBe(50);
  });

  it('round-trips through JSON and rejects malformed JSON', () => {
    const vocab = Vocabulary.build(captions);
    const copy = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocab.toJSON())));
    expect(copy.words).toEqual(vocab.words);
    expect(copy.maxLength).toBe(vocab.maxLength);
    expect(() => Vocabulary.fromJSON({ words: ['a'], maxLength: 10 })).toThrow(ModelError);
    expect(() => Vocabulary.build(['!!!'])).toThrow(expect.objectContaining({ code: 'EMPTY_DATASET' }));
  });
});
