// Object-level quality for sets whose images list their objects (the synthetic shapes sets): which
// (colour, shape) pairs a caption names against the pairs the image holds. BLEU rewards the frame of a
// caption ("a … and a …"); this counts whether the objects are right. Per image the named pairs and the
// true ones are compared as multisets; precision and recall are pooled over all images, and an image is
// "exactly right" when the caption names every object and nothing else.
import { tokenizeCaption } from './tokenize.ts';

export interface ObjectScores {
  /** images that list objects (the others are not scored) */
  images: number;
  precision: number;
  recall: number;
  f1: number;
  /** share of images whose caption names exactly their objects */
  exactRate: number;
}

interface Labelled {
  objects?: readonly { shape: string; color: string }[];
}

/** The (colour, shape) pairs a caption names: a colour word followed by a shape word ("red circle"). */
export function namedPairs(caption: string, colors: readonly string[], shapes: readonly string[]): string[] {
  const tokens = tokenizeCaption(caption);
  const pairs: string[] = [];
  tokens.forEach((token, i) => {
    const next = tokens[i + 1];
    if (colors.includes(token) && next !== undefined && shapes.includes(next)) pairs.push(`${token} ${next}`);
  });
  return pairs;
}

function countOf(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Scores `captions[i]` against `images[i].objects`; null when no image lists objects. */
export function objectScores(
  captions: readonly string[],
  images: readonly Labelled[],
  colors: readonly string[],
  shapes: readonly string[],
): ObjectScores | null {
  let scored = 0;
  let named = 0;
  let truth = 0;
  let matched = 0;
  let exact = 0;
  captions.forEach((caption, i) => {
    const objects = images[i]?.objects;
    if (!objects || objects.length === 0) return;
    scored++;
    const predicted = countOf(namedPairs(caption, colors, shapes));
    const actual = countOf(objects.map((o) => `${o.color} ${o.shape}`));
    let hits = 0;
    for (const [pair, n] of predicted) hits += Math.min(n, actual.get(pair) ?? 0);
    const namedHere = [...predicted.values()].reduce((a, b) => a + b, 0);
    named += namedHere;
    truth += objects.length;
    matched += hits;
    if (hits === objects.length && namedHere === objects.length) exact++;
  });
  if (scored === 0) return null;
  const precision = named ? matched / named : 0;
  const recall = truth ? matched / truth : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { images: scored, precision, recall, f1, exactRate: exact / scored };
}
