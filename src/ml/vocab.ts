// Caption vocabulary: lower-cased, punctuation stripped, <pad>=0, <start>, <end>, <unk>, then the
// top-k words by frequency (ties alphabetical). Saved with the model as JSON.
import { ModelError } from './model/model-error.ts';
import { defaultsOf, MAX_CAPTION_TOKENS, SPECIAL_TOKENS, TRAINING_SETTINGS } from './settings/index.ts';

export const PAD = '<pad>';
export const START = '<start>';
export const END = '<end>';
export const UNK = '<unk>';
const SPECIALS = [PAD, START, END, UNK] as const;
if (SPECIALS.length !== SPECIAL_TOKENS) throw new Error('vocab: SPECIAL_TOKENS disagrees with the special tokens');

export const DEFAULT_TOP_K = defaultsOf(TRAINING_SETTINGS).vocabSize;
export const MAX_LENGTH_CAP = MAX_CAPTION_TOKENS;

export interface VocabularyJSON {
  words: string[];
  maxLength: number;
}

/** Lower-case, strip punctuation, split on whitespace. */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0);
}

export class Vocabulary {
  readonly padId = 0;
  readonly startId = 1;
  readonly endId = 2;
  readonly unkId = 3;
  private readonly index: Map<string, number>;

  private constructor(
    /** id → word, specials first */
    readonly words: readonly string[],
    /** max caption length in tokens, <start> and <end> included */
    readonly maxLength: number,
  ) {
    this.index = new Map(words.map((word, id) => [word, id]));
  }

  /** Builds from training captions: top-k words; maxLength = longest caption + 2, capped. */
  static build(captions: readonly string[], opts: { topK?: number; maxLength?: number } = {}): Vocabulary {
    const topK = opts.topK ?? DEFAULT_TOP_K;
    const counts = new Map<string, number>();
    let longest = 0;
    for (const caption of captions) {
      const tokens = tokenize(caption);
      longest = Math.max(longest, tokens.length + 2);
      for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    if (counts.size === 0) throw new ModelError('EMPTY_DATASET', 'vocabulary: no words in the captions');
    const ranked = [...counts.entries()]
      .filter(([word]) => !(SPECIALS as readonly string[]).includes(word))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, topK)
      .map(([word]) => word);
    const cap = Math.min(opts.maxLength ?? MAX_LENGTH_CAP, MAX_LENGTH_CAP);
    return new Vocabulary([...SPECIALS, ...ranked], Math.max(3, Math.min(longest, cap)));
  }

  /**
   * Warm start's rule: the parent's words keep their ids, and the words of `built` (the new data's
   * top-k vocabulary) that the parent lacks follow at the end, in `built`'s order (most frequent first);
   * the caption cap is `built`'s.
   */
  static extend(parent: Vocabulary, built: Vocabulary): Vocabulary {
    const added = built.words.filter((word) => !parent.index.has(word));
    return new Vocabulary([...parent.words, ...added], built.maxLength);
  }

  static fromJSON(json: VocabularyJSON): Vocabulary {
    const ok =
      Array.isArray(json.words) &&
      SPECIALS.every((special, i) => json.words[i] === special) &&
      Number.isInteger(json.maxLength) &&
      json.maxLength >= 3;
    if (!ok) throw new ModelError('INVALID_ARTIFACT', 'vocabulary JSON: expected {words: [<pad>, <start>, <end>, <unk>, …], maxLength}');
    return new Vocabulary(json.words, json.maxLength);
  }

  toJSON(): VocabularyJSON {
    return { words: [...this.words], maxLength: this.maxLength };
  }

  get size(): number {
    return this.words.length;
  }

  idOf(word: string): number {
    return this.index.get(word) ?? this.unkId;
  }

  word(id: number): string {
    return this.words[id] ?? UNK;
  }

  /** caption → [<start>, …words, <end>], truncated to maxLength (keeping <end>) */
  encode(caption: string): number[] {
    const ids = tokenize(caption)
      .slice(0, this.maxLength - 2)
      .map((word) => this.idOf(word));
    return [this.startId, ...ids, this.endId];
  }

  /** ids → words, stopping at <end>, dropping <pad>/<start> */
  decodeWords(ids: readonly number[]): string[] {
    const words: string[] = [];
    for (const id of ids) {
      if (id === this.endId) break;
      if (id !== this.padId && id !== this.startId) words.push(this.word(id));
    }
    return words;
  }

  decode(ids: readonly number[]): string {
    return this.decodeWords(ids).join(' ');
  }
}

/** What a vocabulary built from these captions can be at most: distinct words, and the longest caption in tokens (<start>, <end> included). */
export function captionStats(captions: Iterable<string>): { words: number; maxTokens: number } {
  const words = new Set<string>();
  let longest = 0;
  for (const caption of captions) {
    const tokens = tokenize(caption);
    for (const t of tokens) words.add(t);
    longest = Math.max(longest, tokens.length);
  }
  return { words: words.size, maxTokens: longest + 2 };
}
