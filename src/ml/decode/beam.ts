// Length-normalised beam search over a batch of images.
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel, EncoderInput } from '../model/captionModel.ts';
import { initialState, type EncodedImages } from '../model/decoder.ts';
import type { CaptionResult, TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import { prepare, runNativeStep, runStep, type StepOutput, yieldToEventLoop } from './frozen.ts';
import type { Resolved } from './options.ts';

/**
 * Indices of the k largest values, best first: one pass with a sorted insertion list (k ≪ n); once k
 * are kept, a value stops at one comparison with the k-th (≈ 4× faster than testing the list's length
 * and reading its last value per element, bench/README.md "The decoding step as one native call").
 */
export function topK(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  const n = values.length;
  const insert = (i: number) => {
    let at = best.length;
    while (at > 0 && values[best[at - 1]] < values[i]) at--; // ties keep the earlier index, as argMax
    best.splice(at, 0, i);
  };
  let i = 0;
  for (; i < n && best.length < k; i++) insert(i);
  if (best.length < k || k <= 0) return best;
  let floor = values[best[k - 1]];
  for (; i < n; i++) {
    if (values[i] <= floor) continue;
    best.pop();
    insert(i);
    floor = values[best[k - 1]];
  }
  return best;
}

interface Beam {
  tokens: number[];
  events: TokenEvent[];
  logProb: number;
  /** row of this beam's state in the current state tensor (rows: each image's beams in turn) */
  row: number;
}

interface ImageSearch {
  alive: Beam[];
  done: { beam: Beam; length: number }[];
}

/** Length-normalised beam score: mean log-probability per produced token (<end> included). */
const normalised = (logProb: number, length: number): number => logProb / Math.max(length, 1);

function bestCaption(search: ImageSearch, vocab: Vocabulary): CaptionResult {
  const best = search.done.reduce((a, b) => (normalised(b.beam.logProb, b.length) > normalised(a.beam.logProb, a.length) ? b : a));
  const words = best.beam.events.filter((_e, i) => best.beam.tokens[i] !== vocab.endId);
  return { tokens: words, caption: words.map((e) => e.token).join(' '), logProb: best.beam.logProb };
}

/**
 * Features and keys for a row layout (rows per image, images in order), as contiguous copies of
 * each image's [1, L, ·] slice: on wasm a Concat of slices is a few memcpys, while Tile and
 * Gather compute an index per element (≈ 200× slower for a beam of 3, bench/profile-beam.ts).
 */
class RowImages {
  private slices: EncodedImages[] | null = null;
  private current: EncodedImages;
  private layout: string;

  constructor(private readonly images: EncodedImages) {
    this.current = images;
    this.layout = Array<number>(images.features.shape[0]).fill(1).join(',');
  }

  /** count[b] rows for image b; cached until the layout changes */
  rows(count: readonly number[]): EncodedImages {
    const layout = count.join(',');
    if (layout === this.layout) return this.current;
    this.slices ??= Array.from({ length: count.length }, (_, b) => ({
      features: tf.slice(this.images.features, b, 1),
      keys: tf.slice(this.images.keys, b, 1),
    }));
    const slices = this.slices;
    const parts = count.flatMap((n, b) => Array<EncodedImages>(n).fill(slices[b]));
    this.disposeCurrent();
    this.current = { features: tf.concat(parts.map((p) => p.features)), keys: tf.concat(parts.map((p) => p.keys)) }; // [N, L, E], [N, L, U]
    this.layout = layout;
    return this.current;
  }

  private disposeCurrent(): void {
    if (this.current !== this.images) tf.dispose([this.current.features, this.current.keys]);
  }

  dispose(): void {
    this.disposeCurrent();
    for (const s of this.slices ?? []) tf.dispose([s.features, s.keys]);
  }
}

/**
 * Rows of a state [N, U] by index, copied on the host (the step has just synchronised anyway):
 * the same values as tf.gather, which on wasm computes an index per element (≈ 0.7 ms for 48
 * rows against ≈ 15 µs here, bench/profile-beam.ts).
 */
function gatherRows(x: tf.Tensor2D, rows: readonly number[]): tf.Tensor2D {
  const U = x.shape[1];
  const src = x.dataSync() as Float32Array;
  const dst = new Float32Array(rows.length * U);
  rows.forEach((r, i) => dst.set(src.subarray(r * U, (r + 1) * U), i * U));
  return tf.tensor2d(dst, [rows.length, U]);
}

/** What a beam search yields: an image's words once they are certain, then its result when its search ends. */
export type BeamEvent = { imageIndex: number; words: TokenEvent[] } | { imageIndex: number; result: CaptionResult };

/**
 * How many of the first words every hypothesis still in the running shares (live and finished): those
 * words are the final caption's, whichever hypothesis wins. Beams with the same words share their
 * ancestry, so their events for those words are the same objects.
 */
function settledWords(search: ImageSearch): number {
  const all = [...search.alive, ...search.done.map((d) => d.beam)];
  const first = all[0]!.tokens;
  let n = first.length;
  for (const beam of all) {
    let i = 0;
    while (i < n && i < beam.tokens.length && beam.tokens[i] === first[i]) i++;
    n = i;
  }
  return n;
}

/**
 * Beam search over a batch: one forward per step for every image's live beams (rows are each
 * image's beams in turn). The native decoding step reads each row's image and parent state by
 * index; otherwise features and keys are copied per row only when the layout changes and the
 * state is gathered by parent row. Each image's search is exactly the single-image search:
 * its own K slots, finished hypotheses, and end. After each step it yields an image's words that
 * every hypothesis still in the running begins with (they are the final caption's, so a caption
 * streams word by word wherever its beams agree), and each image's result when its search ends.
 */
export async function* beamSearch(model: CaptionModel, vocab: Vocabulary, input: EncoderInput, opts: Resolved): AsyncGenerator<BeamEvent> {
  const B = input.shape[0];
  const K = opts.beamWidth;
  const L = model.config.gridSize ** 2;
  const V = model.config.vocabSize;
  const prepared = prepare(model, input, opts.frozen);
  const rowImages = new RowImages(prepared.images);
  let h: tf.Tensor2D | null = initialState(B, model.config.units);
  let stateRows: Int32Array | undefined; // native step: the row of h each row continues (absent: its own)
  const searches: ImageSearch[] = Array.from({ length: B }, (_, b) => ({
    alive: [{ tokens: [], events: [], logProb: 0, row: b }],
    done: [],
  }));
  const settled = new Array<number>(B).fill(0); // words of each image yielded so far
  try {
    for (let t = 0; t < opts.steps && h != null; t++) {
      const tokens = Int32Array.from(
        searches.flatMap((s) => s.alive),
        (beam) => beam.tokens.at(-1) ?? vocab.startId,
      );
      const out: StepOutput =
        prepared.native != null
          ? runNativeStep(prepared, tokens, h, Int32Array.from(searches.flatMap((s, b) => s.alive.map(() => b))), stateRows)
          : runStep(model, prepared, rowImages.rows(searches.map((s) => s.alive.length)), tokens, h);
      h.dispose();
      h = null;
      stateRows = undefined;
      const parents: number[] = []; // row of each next beam's parent, in next-row order
      const ended: number[] = [];
      searches.forEach((search, b) => {
        if (search.alive.length === 0) return;
        const candidates: { parent: Beam; id: number; logProb: number }[] = [];
        for (const beam of search.alive) {
          // each beam's K best tokens are enough to form the K best extensions overall
          const row = out.logProbs.subarray(beam.row * V, (beam.row + 1) * V);
          for (const id of topK(row, K)) candidates.push({ parent: beam, id, logProb: beam.logProb + row[id] });
        }
        candidates.sort((x, y) => y.logProb - x.logProb);
        const next: Beam[] = [];
        // each finished hypothesis takes one slot of the beam for good
        for (const c of candidates.slice(0, K - search.done.length)) {
          const { parent } = c;
          const event: TokenEvent = {
            index: t,
            token: vocab.word(c.id),
            attention: out.alphas.slice(parent.row * L, (parent.row + 1) * L),
            logProb: c.logProb - parent.logProb,
          };
          const beam: Beam = {
            tokens: [...parent.tokens, c.id],
            events: [...parent.events, event],
            logProb: c.logProb,
            row: parents.length,
          };
          if (c.id === vocab.endId) {
            search.done.push({ beam, length: t + 1 });
          } else {
            next.push(beam);
            parents.push(parent.row);
          }
        }
        search.alive = next;
        if (next.length === 0) ended.push(b);
      });
      if (parents.length > 0 && t < opts.steps - 1) {
        if (prepared.native != null) {
          h = out.h; // [N, U]: the next step reads its rows by parent
          stateRows = Int32Array.from(parents);
        } else {
          h = gatherRows(out.h, parents); // [N', U]
        }
      }
      if (h !== out.h) out.h.dispose();
      if (t === opts.steps - 1) {
        // out of steps: the live beams end here too (their length is their token count)
        searches.forEach((search, b) => {
          if (search.alive.length === 0) return;
          for (const beam of search.alive) search.done.push({ beam, length: beam.tokens.length });
          search.alive = [];
          ended.push(b);
        });
        ended.sort((x, y) => x - y);
      }
      for (const [b, search] of searches.entries()) {
        if (search.alive.length === 0) continue; // ended (its result below) or ended before
        const now = settledWords(search); // live beams hold no <end>: these are words
        if (now > settled[b]!) yield { imageIndex: b, words: search.alive[0]!.events.slice(settled[b], now) };
        settled[b] = now;
      }
      for (const b of ended) yield { imageIndex: b, result: bestCaption(searches[b], vocab) };
      if (h != null) await yieldToEventLoop();
    }
  } finally {
    h?.dispose();
    rowImages.dispose();
    prepared.release();
  }
}
