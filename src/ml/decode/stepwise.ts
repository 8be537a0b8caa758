// Greedy and seeded temperature-sampling decoding: one token per image and step.
import type { CaptionModel, EncoderInput } from '../model/captionModel.ts';
import { initialState } from '../model/decoder.ts';
import { Rng } from '../random.ts';
import type { TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import { prepare, runStep, yieldToEventLoop } from './frozen.ts';
import type { Resolved } from './options.ts';

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

export interface StepEvent {
  imageIndex: number;
  event: TokenEvent;
  /** the image produced <end> (not a word: callers only add its log-probability) */
  isEnd: boolean;
}

/**
 * Greedy or sampled decoding of a batch, one yield per (image, step). Finished images drop out of
 * the events; the batch keeps stepping until every image has produced <end> or the limit.
 */
export async function* stepwiseDecode(
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
        const id = opts.method === 'sample' ? sampleToken(out.logProbs, b * V, V, opts.temperature, rng) : argMax(out.logProbs, b * V, V);
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
