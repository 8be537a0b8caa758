import { describe, expect, it } from 'vitest';
import { tokenizeCaption } from '../../../src/ml/metrics/tokenize.ts';

describe('tokenizeCaption (coco-caption PTB style)', () => {
  it('lower-cases and drops punctuation tokens', () => {
    expect(tokenizeCaption('A Red circle, above a blue square.')).toEqual(['a', 'red', 'circle', 'above', 'a', 'blue', 'square']);
    expect(tokenizeCaption('"Hello" (she said) ... ok; fine: yes! no? -- done')).toEqual([
      'hello',
      'she',
      'said',
      'ok',
      'fine',
      'yes',
      'no',
      'done',
    ]);
  });

  it('splits clitics like the PTB tokenizer', () => {
    expect(tokenizeCaption("A man's dog doesn't run.")).toEqual(['a', 'man', "'s", 'dog', 'does', "n't", 'run']);
    expect(tokenizeCaption('It cannot fly')).toEqual(['it', 'can', 'not', 'fly']);
  });

  it('keeps numbers, hyphenated words and acronyms whole; splits currency symbols', () => {
    expect(tokenizeCaption('A T-shirt from the U.S. costs $5.50')).toEqual(['a', 't-shirt', 'from', 'the', 'u.s.', 'costs', '$', '5.50']);
  });

  it('handles typographic quotes, extra whitespace and empty input', () => {
    expect(tokenizeCaption('  the  \u201cbig\u201d\n dog\u2019s  ')).toEqual(['the', 'big', 'dog', "'s"]);
    expect(tokenizeCaption('')).toEqual([]);
    expect(tokenizeCaption(' . , ! ')).toEqual([]);
  });
});
