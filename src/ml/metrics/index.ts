// Caption metrics: coco-caption tokenisation, corpus BLEU-1..4 and CIDEr-D.

import { corpusBleu } from './bleu.ts';
import { ciderD } from './cider.ts';
import { tokenizeCaption } from './tokenize.ts';

export { corpusBleu, closestReferenceLength, type BleuResult } from './bleu.ts';
export { ciderD, type CiderResult } from './cider.ts';
export { tokenizeCaption } from './tokenize.ts';

export interface CaptionScores {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  ciderD: number;
}

/** Scores raw caption strings (`hyps[i]` against every string in `refs[i]`), tokenised like coco-caption. */
export function evaluateCaptions(hyps: readonly string[], refs: readonly string[][]): CaptionScores {
  const hypTokens = hyps.map(tokenizeCaption);
  const refTokens = refs.map((r) => r.map(tokenizeCaption));
  const { bleu } = corpusBleu(hypTokens, refTokens);
  return { bleu1: bleu[0], bleu2: bleu[1], bleu3: bleu[2], bleu4: bleu[3], ciderD: ciderD(hypTokens, refTokens).score };
}
export { namedPairs, objectScores, type ObjectScores } from './objects.ts';
