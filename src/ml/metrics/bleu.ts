// Corpus BLEU-1..4 with coco-caption semantics (pycocoevalcap `BleuScorer`, option
// "closest"): n-gram counts are summed over the whole corpus before the precisions are
// formed; each hypothesis n-gram count is clipped by its largest count in any one
// reference; the reference length for the brevity penalty is, per hypothesis, the
// reference length closest to the hypothesis length (ties → the shorter), summed over
// the corpus. BLEU-n = BP · (p1·…·pn)^(1/n), BP = 1 if c ≥ r else exp(1 − r/c).
// coco-caption adds 1e-15 / 1e-9 to numerator / denominator of each precision to
// avoid division by zero; we use exact arithmetic and define a precision with no
// candidate n-grams (or c = 0) as 0, which is also NLTK `corpus_bleu` without smoothing.

import { countNgrams, ngramOrder, type NgramCounts } from './ngrams.ts';

export const BLEU_MAX_N = 4;

export interface BleuResult {
  /** corpus BLEU-1, BLEU-2, BLEU-3, BLEU-4 */
  bleu: [number, number, number, number];
  /** brevity penalty */
  bp: number;
  /** total hypothesis length / total effective reference length */
  ratio: number;
}

/** Per n-gram, the largest count it has in any single reference. */
function maxReferenceCounts(references: readonly string[][]): NgramCounts {
  const max: NgramCounts = new Map();
  for (const ref of references) {
    for (const [key, count] of countNgrams(ref, BLEU_MAX_N)) {
      if (count > (max.get(key) ?? 0)) max.set(key, count);
    }
  }
  return max;
}

/** Reference length closest to `hypLength`; on a tie the shorter one (coco-caption, NLTK). */
export function closestReferenceLength(refLengths: readonly number[], hypLength: number): number {
  let best = refLengths[0];
  for (const len of refLengths) {
    const d = Math.abs(len - hypLength);
    const bestD = Math.abs(best - hypLength);
    if (d < bestD || (d === bestD && len < best)) best = len;
  }
  return best;
}

/**
 * Corpus BLEU of tokenised hypotheses against their tokenised references
 * (`references[i]` holds every reference of hypothesis i; at least one each).
 */
export function corpusBleu(hypotheses: readonly string[][], references: readonly string[][][]): BleuResult {
  if (hypotheses.length !== references.length) {
    throw new RangeError(`corpusBleu: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  }
  const correct = new Array<number>(BLEU_MAX_N).fill(0);
  const guess = new Array<number>(BLEU_MAX_N).fill(0);
  let hypLength = 0;
  let refLength = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i];
    if (refs.length === 0) throw new RangeError(`corpusBleu: hypothesis ${i} has no reference`);
    const maxRef = maxReferenceCounts(refs);
    for (const [key, count] of countNgrams(hyp, BLEU_MAX_N)) {
      correct[ngramOrder(key) - 1] += Math.min(count, maxRef.get(key) ?? 0);
    }
    for (let n = 1; n <= BLEU_MAX_N; n++) guess[n - 1] += Math.max(hyp.length - n + 1, 0);
    hypLength += hyp.length;
    refLength += closestReferenceLength(
      refs.map((r) => r.length),
      hyp.length,
    );
  });

  const ratio = refLength === 0 ? (hypLength === 0 ? 1 : Infinity) : hypLength / refLength;
  const bp = hypLength === 0 ? 0 : ratio >= 1 ? 1 : Math.exp(1 - 1 / ratio);
  const bleu = [0, 0, 0, 0] as [number, number, number, number];
  let logProduct = 0;
  for (let n = 1; n <= BLEU_MAX_N; n++) {
    const precision = guess[n - 1] === 0 ? 0 : correct[n - 1] / guess[n - 1];
    logProduct += Math.log(precision); // -Infinity once any precision is 0
    bleu[n - 1] = bp * Math.exp(logProduct / n);
  }
  return { bleu, bp, ratio };
}
