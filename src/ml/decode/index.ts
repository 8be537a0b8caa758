// Caption decoding: greedy, beam search (length-normalised) and seeded temperature sampling.
// Each step feeds only the previous token and the carried GRU state: the prefix is never rerun.
// Every method decodes several images together (one batched forward per step; beam search
// stacks each image's live beams).
import type { CaptionModel, EncoderInput } from '../model/captionModel.ts';
import { ModelError } from '../model/model-error.ts';
import type { CaptionResult, DecodeOptions, TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import { beamSearch } from './beam.ts';
import type { FrozenStepWeights } from './frozen.ts';
import { resolve, type OnToken, type Resolved } from './options.ts';
import { stepwiseDecode } from './stepwise.ts';

export { freezeStepWeights, type FrozenStepWeights } from './frozen.ts';
export type { OnToken } from './options.ts';
export { topK } from './beam.ts';

/** One word of one image's caption. */
interface WordEvent {
  imageIndex: number;
  event: TokenEvent;
}

const captionOf = (events: TokenEvent[], logProb: number): CaptionResult => ({
  tokens: events,
  caption: events.map((e) => e.token).join(' '),
  logProb,
});

/**
 * Every image's words as they are chosen (beam search: as soon as every hypothesis still in the
 * running begins with them, the rest when that image's search ends), then every image's result.
 */
async function* captionWords(
  model: CaptionModel,
  vocab: Vocabulary,
  input: EncoderInput,
  resolved: Resolved,
): AsyncGenerator<WordEvent, CaptionResult[]> {
  const B = input.shape[0];
  if (resolved.method === 'beam') {
    const results = new Array<CaptionResult>(B);
    const yielded = new Array<number>(B).fill(0);
    for await (const found of beamSearch(model, vocab, input, resolved)) {
      const { imageIndex } = found;
      const events = 'words' in found ? found.words : found.result.tokens.slice(yielded[imageIndex]);
      for (const event of events) yield { imageIndex, event };
      yielded[imageIndex]! += events.length;
      if ('result' in found) results[imageIndex] = found.result;
    }
    return results;
  }
  const tokens: TokenEvent[][] = Array.from({ length: B }, () => []);
  const logProbs = new Array<number>(B).fill(0);
  for await (const step of stepwiseDecode(model, vocab, input, resolved)) {
    logProbs[step.imageIndex] += step.event.logProb;
    if (step.isEnd) continue;
    tokens[step.imageIndex].push(step.event);
    yield { imageIndex: step.imageIndex, event: step.event };
  }
  return tokens.map((events, b) => captionOf(events, logProbs[b]));
}

/**
 * Decodes a batch of encoder inputs ([B, S, S, 3] pixels or [B, L, C] features). Every method
 * runs the batch together (beam search: one forward per step over all images' live beams).
 * onToken sees every word as it is chosen (beam search: once every hypothesis still in the
 * running begins with it).
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
  const words = captionWords(model, vocab, input, resolve(opts, vocab, frozen));
  try {
    for (;;) {
      const next = await words.next();
      if (next.done) return next.value;
      onToken?.(next.value.imageIndex, next.value.event);
    }
  } finally {
    await words.return([]); // releases the decode's tensors when onToken throws
  }
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
  const words = captionWords(model, vocab, input, resolve(opts, vocab, frozen));
  try {
    for (;;) {
      const next = await words.next();
      if (next.done) return next.value[0]!;
      yield next.value.event;
    }
  } finally {
    await words.return([]); // an abandoned stream releases the decode's tensors
  }
}
