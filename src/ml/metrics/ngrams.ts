// n-gram counting shared by BLEU and CIDEr-D (both follow coco-caption's `precook`).

/** Counts of every n-gram of order 1..maxN; key = the n-gram's words joined by a space. */
export type NgramCounts = Map<string, number>;

/** All n-grams of order 1..maxN of a token list, with their counts (coco-caption `precook`). */
export function countNgrams(tokens: readonly string[], maxN: number): NgramCounts {
  const counts: NgramCounts = new Map();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** Order of an n-gram key produced by `countNgrams`. */
export function ngramOrder(key: string): number {
  let n = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 32) n++;
  return n;
}
