// CIDEr-D exactly as coco-caption computes it (pycocoevalcap `CiderScorer`, the
// version with vrama91's clipping and length penalty):
//   - n-grams of order 1..4 per sentence;
//   - document frequency df(g) = number of images whose reference set contains g,
//     counted over the references of the evaluated set only;
//   - tf-idf weight of g in a sentence = count(g) · (log N − log max(1, df(g))),
//     N = number of images;
//   - per order n: sim_n = Σ_g min(h_g, r_g)·r_g / (‖h_n‖·‖r_n‖) (the norms divide only
//     when both are non-zero), times the Gaussian penalty exp(−δ²/(2σ²)), σ = 6;
//   - δ = length(hyp) − length(ref), where coco-caption's "length" is the number of
//     BIGRAMS of the sentence (its `counts2vec` adds term frequencies when
//     `len(ngram) - 1 == 1`), i.e. words − 1 for non-empty sentences; kept as is;
//   - score(image) = 10 · mean over n of (Σ_refs sim_n) / #refs; CIDEr-D = mean over images.

import { countNgrams, ngramOrder, type NgramCounts } from './ngrams.ts';

export const CIDER_MAX_N = 4;
export const CIDER_SIGMA = 6;

export interface CiderResult {
  /** corpus CIDEr-D: mean of `perImage` */
  score: number;
  perImage: number[];
}

interface TfIdfVector {
  /** per order n (index n−1): n-gram → tf-idf weight */
  weights: Map<string, number>[];
  /** per order n: Euclidean norm of `weights[n−1]` */
  norms: number[];
  /** coco-caption's length: number of bigrams */
  length: number;
}

function documentFrequency(refCounts: readonly NgramCounts[][]): Map<string, number> {
  const df = new Map<string, number>();
  for (const refs of refCounts) {
    const seen = new Set<string>();
    for (const counts of refs) for (const key of counts.keys()) seen.add(key);
    for (const key of seen) df.set(key, (df.get(key) ?? 0) + 1);
  }
  return df;
}

function toTfIdf(counts: NgramCounts, df: Map<string, number>, logImages: number): TfIdfVector {
  const weights = Array.from({ length: CIDER_MAX_N }, () => new Map<string, number>());
  const squares = new Array<number>(CIDER_MAX_N).fill(0);
  let length = 0;
  for (const [key, termFreq] of counts) {
    const n = ngramOrder(key);
    const w = termFreq * (logImages - Math.log(Math.max(1, df.get(key) ?? 0)));
    weights[n - 1].set(key, w);
    squares[n - 1] += w * w;
    if (n === 2) length += termFreq;
  }
  return { weights, norms: squares.map(Math.sqrt), length };
}

/** Per-order similarity of a hypothesis vector to one reference vector (coco-caption `sim`). */
function similarity(hyp: TfIdfVector, ref: TfIdfVector): number[] {
  const delta = hyp.length - ref.length;
  const penalty = Math.exp(-(delta * delta) / (2 * CIDER_SIGMA * CIDER_SIGMA));
  return hyp.weights.map((hypWeights, i) => {
    let dot = 0;
    for (const [key, h] of hypWeights) {
      const r = ref.weights[i].get(key) ?? 0;
      dot += Math.min(h, r) * r;
    }
    if (hyp.norms[i] !== 0 && ref.norms[i] !== 0) dot /= hyp.norms[i] * ref.norms[i];
    return dot * penalty;
  });
}

/**
 * CIDEr-D of tokenised hypotheses (one per image) against their tokenised references.
 * The idf statistics come from `references`, so scores depend on the whole evaluated set.
 */
export function ciderD(hypotheses: readonly string[][], references: readonly string[][][]): CiderResult {
  if (hypotheses.length !== references.length) {
    throw new RangeError(`ciderD: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  }
  if (hypotheses.length === 0) return { score: 0, perImage: [] };
  const refCounts = references.map((refs, i) => {
    if (refs.length === 0) throw new RangeError(`ciderD: hypothesis ${i} has no reference`);
    return refs.map((r) => countNgrams(r, CIDER_MAX_N));
  });
  const df = documentFrequency(refCounts);
  const logImages = Math.log(hypotheses.length);
  const perImage = hypotheses.map((hyp, i) => {
    const hypVec = toTfIdf(countNgrams(hyp, CIDER_MAX_N), df, logImages);
    const sums = new Array<number>(CIDER_MAX_N).fill(0);
    for (const counts of refCounts[i]) {
      similarity(hypVec, toTfIdf(counts, df, logImages)).forEach((s, n) => (sums[n] += s));
    }
    const meanOverOrders = sums.reduce((a, b) => a + b, 0) / CIDER_MAX_N;
    return (meanOverOrders / refCounts[i].length) * 10;
  });
  return { score: perImage.reduce((a, b) => a + b, 0) / perImage.length, perImage };
}
