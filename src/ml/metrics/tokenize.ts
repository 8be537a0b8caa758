// coco-caption-style tokenisation. coco-caption runs Stanford's PTBTokenizer with
// `-lowerCase` and then drops the tokens in its PUNCTUATIONS list. This is a plain
// re-implementation of the parts that matter for English captions: lower-case, split
// punctuation and brackets off words, split clitics ("don't" → "do n't", "man's" →
// "man 's"), keep single-letter acronyms ("u.s."), numbers ("3.5", "1,000") and
// hyphenated words ("t-shirt") whole, then drop the punctuation tokens.

/** coco-caption `PUNCTUATIONS` (with brackets, which PTB writes as -LRB- etc.). */
const PUNCTUATION = new Set(["''", "'", '``', '`', '"', '(', ')', '[', ']', '{', '}', '.', '?', '!', ',', ':', '-', '--', '...', ';']);

/** Characters PTB splits off the front of a word. */
const LEADING = /^(["'`([{$#]|``)/;
/** Characters PTB splits off the end of a word (a single '.' handled separately). */
const TRAILING = /(\.\.\.|["'`)\]}!?,;:%]|'')$/;
/** Clitics PTB separates from their host word. */
const CLITIC = /^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$/;
/** A clitic written on its own ("'s"), which PTB keeps whole. */
const BARE_CLITIC = /^'(s|re|ve|ll|d|m)$/;
/** Words whose final period PTB keeps (single-letter acronyms: "u.s.", "a.m."). */
const ACRONYM = /^([a-z]\.)+$/;

function splitWord(word: string): string[] {
  const before: string[] = [];
  const after: string[] = [];
  let w = word;
  for (let m = LEADING.exec(w); m && w.length > 1 && !BARE_CLITIC.test(w); m = LEADING.exec(w)) {
    before.push(m[1]);
    w = w.slice(m[1].length);
  }
  for (;;) {
    const m = TRAILING.exec(w);
    if (m && w.length > m[1].length) {
      after.unshift(m[1]);
      w = w.slice(0, -m[1].length);
    } else if (w.length > 1 && w.endsWith('.') && !ACRONYM.test(w)) {
      after.unshift('.');
      w = w.slice(0, -1);
    } else break;
  }
  const middle: string[] = [];
  if (w === 'cannot') middle.push('can', 'not');
  else {
    const c = CLITIC.exec(w);
    if (c) middle.push(c[1], c[2]);
    else if (w.length > 0) middle.push(w);
  }
  return [...before, ...middle, ...after];
}

/** Tokenise one caption the way coco-caption's PTBTokenizer + punctuation filter does. */
export function tokenizeCaption(caption: string): string[] {
  return caption
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .flatMap(splitWord)
    .filter((t) => !PUNCTUATION.has(t));
}
