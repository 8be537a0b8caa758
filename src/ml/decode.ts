// Caption decoding: greedy, beam search (length-normalised) and seeded temperature sampling.
// Each step feeds only the previous token and the carried GRU state: the prefix is never rerun.
// Every method decodes several images together (one batched forward per step; beam search
// stacks each image's live beams).
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel, EncoderInput } from './model/captionModel.ts';
import { decoderStep, initialState, stepWeights, type EncodedImages, type StepWeights } from './model/decoder.ts';
import { ModelError } from './model/errors.ts';
import { Rng } from './random.ts';
import type { CaptionResult, DecodeMethod, DecodeOptions, TokenEvent } from './types.ts';
import type { Vocabulary } from './vocab.ts';

export type OnToken = (imageIndex: number, event: TokenEvent) => void;

interface Resolved {
  method: DecodeMethod;
  beamWidth: number;
  /** decoding steps: words plus <end> */
  steps: number;
  temperature: number;
  seed: number;
  frozen?: FrozenStepWeights;
}

function resolve(opts: DecodeOptions, vocab: Vocabulary, frozen?: FrozenStepWeights): Resolved {
  const method = opts.method ?? 'greedy';
  const beamWidth = opts.beamWidth ?? 3;
  const temperature = opts.temperature ?? 1;
  const maxLength = Math.min(opts.maxLength ?? vocab.maxLength, 200);
  if (!['greedy', 'beam', 'sample'].includes(method)) throw new ModelError('INVALID_CONFIG', `unknown decode method ${method}`);
  if (!(Number.isInteger(beamWidth) && beamWidth >= 1)) throw new ModelError('INVALID_CONFIG', 'beamWidth must be an integer ≥ 1');
  if (!(temperature > 0)) throw new ModelError('INVALID_CONFIG', 'temperature must be > 0');
  if (!(Number.isInteger(maxLength) && maxLength >= 3)) throw new ModelError('INVALID_CONFIG', 'maxLength must be an integer ≥ 3');
  return { method, beamWidth, steps: maxLength - 1, temperature, seed: opts.seed ?? 0, ...(frozen ? { frozen } : {}) };
}

/** The step weights of one model (views and concats of its variables), with their disposal. */
export interface FrozenStepWeights {
  readonly step: StepWeights;
  /** disposes the tensors built from the variables (not the variables) */
  dispose(): void;
}

/**
 * Builds the decoder's step weights (the fused [W2 | GRU recurrent] kernel and the GRU input
 * kernel's slices) once. A served model whose variables no longer change passes them to every
 * decode: each decode then skips the ~4 ms of concats and XNNPACK packs the fused kernels once,
 * not at every decode's first step (~5–10 ms at the reference size). Stale once the variables
 * change (training): build them again then.
 */
export function freezeStepWeights(model: CaptionModel): FrozenStepWeights {
  const built = tf.tidy(() => {
    const s = stepWeights(model.weights);
    return [s.stateKernel, s.stateBias, s.contextKernel, s.embeddingKernel, s.inputBias, s.v];
  });
  const [stateKernel, stateBias, contextKernel, embeddingKernel, inputBias, v] = built;
  return {
    step: {
      stateKernel: stateKernel as tf.Tensor2D,
      stateBias: stateBias as tf.Tensor1D,
      contextKernel: contextKernel as tf.Tensor2D,
      embeddingKernel: embeddingKernel as tf.Tensor2D,
      inputBias: inputBias as tf.Tensor1D, // a variable
      v: v as tf.Tensor2D, // a variable
    },
    dispose: () => tf.dispose([stateKernel!, stateBias!, contextKernel!, embeddingKernel!]),
  };
}

/** Encoded images and the step weights, kept for a whole decode (dispose with release()). */
interface Prepared {
  images: EncodedImages;
  step: StepWeights;
  release(): void;
}

function prepare(model: CaptionModel, input: EncoderInput, frozen?: FrozenStepWeights): Prepared {
  const images = tf.tidy(() => {
    const encoded = model.encode(input);
    return [encoded.features, encoded.keys];
  });
  const weights = frozen ?? freezeStepWeights(model); // built for this decode unless given
  return {
    images: { features: images[0] as tf.Tensor3D, keys: images[1] as tf.Tensor3D },
    step: weights.step,
    release: () => {
      tf.dispose(images);
      if (weights !== frozen) weights.dispose();
    },
  };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolveFn) => setImmediate(resolveFn));

/** One batched step: previous tokens → log-probabilities [N·V], attention [N·L], new state. */
function runStep(
  model: CaptionModel,
  prepared: Prepared,
  images: EncodedImages,
  tokens: Int32Array,
  h: tf.Tensor2D,
): { logProbs: Float32Array; alphas: Float32Array; h: tf.Tensor2D } {
  const out = tf.tidy(() => {
    const step = decoderStep(model.weights, prepared.step, images, tf.tensor1d(tokens, 'int32'), h);
    return { logProbs: tf.logSoftmax(step.logits), alpha: step.alpha, h: step.h };
  });
  const logProbs = out.logProbs.dataSync() as Float32Array;
  const alphas = out.alpha.dataSync() as Float32Array;
  tf.dispose([out.logProbs, out.alpha]);
  return { logProbs, alphas, h: out.h };
}

function argMax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

function sampleToken(logProbs: Float32Array, offset: number, length: number, temperature: number, rng: Rng): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, logProbs[offset + i] / temperature);
  let total = 0;
  const weights = new Float64Array(length);
  for (let i = 0; i < length; i++) total += weights[i] = Math.exp(logProbs[offset + i] / temperature - max);
  let u = rng.next() * total;
  for (let i = 0; i < length; i++) {
    u -= weights[i];
    if (u <= 0) return i;
  }
  return length - 1;
}

interface StepEvent {
  imageIndex: number;
  event: TokenEvent;
  /** the image produced <end> (not a word: callers only add its log-probability) */
  isEnd: boolean;
}

/**
 * Greedy or sampled decoding of a batch, one yield per (image, step). Finished images drop out of
 * the events; the batch keeps stepping until every image has produced <end> or the limit.
 */
async function* stepwiseDecode(
  model: CaptionModel,
  vocab: Vocabulary,
  input: EncoderInput,
  opts: Resolved,
): AsyncGenerator<StepEvent> {
  const B = input.shape[0];
  const L = model.config.gridSize ** 2;
  const V = model.config.vocabSize;
  const rng = new Rng(opts.seed);
  const prepared = prepare(model, input, opts.frozen);
  let h = initialState(B, model.config.units);
  const tokens = new Int32Array(B).fill(vocab.startId);
  const finished = new Array<boolean>(B).fill(false);
  try {
    for (let t = 0; t < opts.steps && finished.includes(false); t++) {
      const out = runStep(model, prepared, prepared.images, tokens, h);
      h.dispose();
      h = out.h;
      for (let b = 0; b < B; b++) {
        if (finished[b]) continue;
        const id =
          opts.method === 'sample' ? sampleToken(out.logProbs, b * V, V, opts.temperature, rng) : argMax(out.logProbs, b * V, V);
        tokens[b] = id;
        finished[b] = id === vocab.endId;
        const event: TokenEvent = {
          index: t,
          token: vocab.word(id),
          attention: out.alphas.slice(b * L, (b + 1) * L),
          logProb: out.logProbs[b * V + id],
        };
        yield { imageIndex: b, event, isEnd: finished[b] };
      }
      await yieldToEventLoop();
    }
  } finally {
    h.dispose();
    prepared.release();
  }
}

/** Indices of the k largest values, best first: one pass with a sorted insertion list (k ≪ n). */
export function topK(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k) {
      if (values[i] <= values[best[k - 1]]) continue;
      best.pop();
    }
    let at = best.length;
    while (at > 0 && values[best[at - 1]] < values[i]) at--; // ties keep the earlier index, as argMax
    best.splice(at, 0, i);
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
  const words = best.beam.events.filter((e, i) => best.beam.tokens[i] !== vocab.endId);
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

/**
 * Beam search over a batch: one forward per step for every image's live beams (rows are each
 * image's beams in turn; features and keys are copied per row only when the layout changes,
 * the state is gathered by parent row). Each image's search is exactly the single-image search:
 * its own K slots, finished hypotheses, and end. Yields each image's result when its search ends.
 */
async function* beamSearch(
  model: CaptionModel,
  vocab: Vocabulary,
  input: EncoderInput,
  opts: Resolved,
): AsyncGenerator<{ imageIndex: number; result: CaptionResult }> {
  const B = input.shape[0];
  const K = opts.beamWidth;
  const L = model.config.gridSize ** 2;
  const V = model.config.vocabSize;
  const prepared = prepare(model, input, opts.frozen);
  const rowImages = new RowImages(prepared.images);
  let h: tf.Tensor2D | null = initialState(B, model.config.units);
  const searches: ImageSearch[] = Array.from({ length: B }, (_, b) => ({
    alive: [{ tokens: [], events: [], logProb: 0, row: b }],
    done: [],
  }));
  try {
    for (let t = 0; t < opts.steps && h != null; t++) {
      const images = rowImages.rows(searches.map((s) => s.alive.length));
      const tokens = Int32Array.from(
        searches.flatMap((s) => s.alive),
        (beam) => beam.tokens.at(-1) ?? vocab.startId,
      );
      const out = runStep(model, prepared, images, tokens, h);
      h.dispose();
      h = null;
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
          const beam: Beam = { tokens: [...parent.tokens, c.id], events: [...parent.events, event], logProb: c.logProb, row: parents.length };
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
      if (parents.length > 0 && t < opts.steps - 1) h = gatherRows(out.h, parents); // [N', U]
      out.h.dispose();
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
      for (const b of ended) yield { imageIndex: b, result: bestCaption(searches[b], vocab) };
      if (h != null) await yieldToEventLoop();
    }
  } finally {
    h?.dispose();
    rowImages.dispose();
    prepared.release();
  }
}

/**
 * Decodes a batch of encoder inputs ([B, S, S, 3] pixels or [B, L, C] features). Every method
 * runs the batch together (beam search: one forward per step over all images' live beams).
 * onToken sees every word as it is chosen (beam search: the final caption's words once that
 * image's search ends).
 * `logProb` of a result sums its words and, when produced, <end>. `frozen`: the model's step
 * weights built once by freezeStepWeights (for a model that no longer trains).
 */
export async function decodeBatch(
  model: CaptionModel,
  vocab: Vocabulary,
  input: EncoderInput,
  opts: DecodeOptions = {},
  onToken?: OnToken,
  frozen?: FrozenStepWeights,
): Promise<CaptionResult[]> {
  const resolved = resolve(opts, vocab, frozen);
  const B = input.shape[0];
  if (resolved.method === 'beam') {
    const results = new Array<CaptionResult>(B);
    for await (const { imageIndex, result } of beamSearch(model, vocab, input, resolved)) {
      result.tokens.forEach((event) => onToken?.(imageIndex, event));
      results[imageIndex] = result;
    }
    return results;
  }
  const tokens: TokenEvent[][] = Array.from({ length: B }, () => []);
  const logProbs = new Array<number>(B).fill(0);
  for await (const step of stepwiseDecode(model, vocab, input, resolved)) {
    logProbs[step.imageIndex] += step.event.logProb;
    if (step.isEnd) continue;
    tokens[step.imageIndex].push(step.event);
    onToken?.(step.imageIndex, step.event);
  }
  return tokens.map((events, b) => ({ tokens: events, caption: events.map((e) => e.token).join(' '), logProb: logProbs[b] }));
}

/** Streams the words of one image's caption (input batch of 1) as they are decoded. */
export async function* decodeStream(
  model: CaptionModel,
  vocab: Vocabulary,
  input: EncoderInput,
  opts: DecodeOptions = {},
  frozen?: FrozenStepWeights,
): AsyncGenerator<TokenEvent, CaptionResult> {
  if (input.shape[0] !== 1) throw new ModelError('INVALID_CONFIG', `decodeStream takes one image, got a batch of ${input.shape[0]}`);
  const resolved = resolve(opts, vocab, frozen);
  if (resolved.method === 'beam') {
    let result: CaptionResult | undefined;
    for await (const ended of beamSearch(model, vocab, input, resolved)) result = ended.result;
    if (result == null) throw new Error('beam search ended without a caption');
    for (const event of result.tokens) yield event;
    return result;
  }
  const events: TokenEvent[] = [];
  let logProb = 0;
  for await (const step of stepwiseDecode(model, vocab, input, resolved)) {
    logProb += step.event.logProb;
    if (step.isEnd) continue;
    events.push(step.event);
    yield step.event;
  }
  return { tokens: events, caption: events.map((e) => e.token).join(' '), logProb };
}
