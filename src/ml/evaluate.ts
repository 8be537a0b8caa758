// Held-out evaluation: teacher-forced loss over caption examples and corpus BLEU of greedy captions.
import * as tf from '@tensorflow/tfjs';
import { batchExamples, captionMatrix, type Example, type InputCache } from './batches.ts';
import { decodeBatch, freezeStepWeights } from './decode/index.ts';
import { corpusBleu } from './metrics/bleu.ts';
import { tokenizeCaption } from './metrics/tokenize.ts';
import type { CaptionModel, EncoderInput } from './model/captionModel.ts';
import type { CaptionedImage, CaptionResult, DecodeOptions } from './types.ts';
import type { Vocabulary } from './vocab.ts';

/** Mean masked cross-entropy over the examples (weighted by batch size), no gradients. */
export async function validationLoss(
  model: CaptionModel,
  examples: readonly Example[],
  inputs: InputCache,
  batchSize: number,
): Promise<number> {
  const order = examples.map((_, i) => i);
  let total = 0;
  for (let b = 0; b * batchSize < examples.length; b++) {
    const batch = batchExamples(examples, order, b, batchSize);
    const input = await inputs.batch(batch.map((e) => e.image));
    const captions = captionMatrix(batch);
    const loss = tf.tidy(() => model.loss(input as EncoderInput, captions));
    total += (await loss.data())[0] * batch.length;
    tf.dispose([input, loss, captions]);
  }
  return total / examples.length;
}

/**
 * Captions of every image (in order), decoded batchSize images at a time, with the step weights
 * built once for all the batches (the model does not change meanwhile).
 */
export async function captionImages(
  model: CaptionModel,
  vocab: Vocabulary,
  count: number,
  inputs: InputCache,
  batchSize: number,
  opts: DecodeOptions = { method: 'greedy' },
): Promise<CaptionResult[]> {
  const results: CaptionResult[] = [];
  const frozen = freezeStepWeights(model);
  try {
    for (let start = 0; start < count; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
      const input = await inputs.batch(indices);
      try {
        results.push(...(await decodeBatch(model, vocab, input as EncoderInput, opts, undefined, frozen)));
      } finally {
        input.dispose();
      }
    }
  } finally {
    frozen.dispose();
  }
  return results;
}

/** Corpus BLEU-1..4 of captions against the images' reference captions (coco-caption tokens). */
export function captionBleu(results: readonly CaptionResult[], images: readonly CaptionedImage[]): [number, number, number, number] {
  const hypotheses = results.map((r) => tokenizeCaption(r.caption));
  const references = images.map((img) => img.captions.map(tokenizeCaption));
  return corpusBleu(hypotheses, references).bleu;
}

/**
 * For captions of images with object boxes (synthetic sets): for each shape word whose object is
 * identified by the preceding colour word, the attention mass on the object's cells (cells whose
 * centre lies in its box) and what an even spread would give those cells.
 */
export function attentionOnObjects(
  results: readonly CaptionResult[],
  images: readonly CaptionedImage[],
  gridSize: number,
  shapeWords: readonly string[],
): { words: number; meanShare: number; meanUniformShare: number } {
  let words = 0;
  let share = 0;
  let uniform = 0;
  results.forEach((result, i) => {
    result.tokens.forEach((event, t) => {
      if (!shapeWords.includes(event.token) || t === 0) return;
      const color = result.tokens[t - 1].token;
      const object = images[i].objects?.find((o) => o.shape === event.token && o.color === color);
      if (!object) return;
      const { mass, cells } = massInBox(event.attention, object.bbox, gridSize);
      if (cells === 0) return;
      words++;
      share += mass;
      uniform += cells / gridSize ** 2;
    });
  });
  return { words, meanShare: words ? share / words : 0, meanUniformShare: words ? uniform / words : 0 };
}

export interface AttentionShare {
  /** words scored (those whose object could be identified) */
  words: number;
  /** mean attention mass on the object's cells */
  meanShare: number;
  /** what an even spread would put there */
  meanUniformShare: number;
}

/** Attention mass on the cells whose centre lies inside a normalised box, and an even spread's share. */
function massInBox(attention: Float32Array, bbox: readonly number[], gridSize: number): { mass: number; cells: number } {
  const [x, y, w, h] = bbox as [number, number, number, number];
  let mass = 0;
  let cells = 0;
  for (let r = 0; r < gridSize; r++) {
    for (let c = 0; c < gridSize; c++) {
      const cx = (c + 0.5) / gridSize;
      const cy = (r + 0.5) / gridSize;
      if (cx < x || cx > x + w || cy < y || cy > y + h) continue;
      mass += attention[r * gridSize + c]!;
      cells++;
    }
  }
  return { mass, cells };
}

/**
 * Attention localisation per word class on images that list their objects: for each colour word
 * followed by a shape word, and each shape word preceded by a colour word, naming an object of the
 * image, the attention mass on that object's cells — against an even spread's share of them.
 */
export function attentionByWordClass(
  results: readonly CaptionResult[],
  images: readonly CaptionedImage[],
  gridSize: number,
  colors: readonly string[],
  shapes: readonly string[],
): { color: AttentionShare; shape: AttentionShare } {
  const sums = { color: { words: 0, share: 0, uniform: 0 }, shape: { words: 0, share: 0, uniform: 0 } };
  results.forEach((result, i) => {
    const tokens = result.tokens;
    tokens.forEach((event, t) => {
      let kind: 'color' | 'shape' | null = null;
      let color = '';
      let shape = '';
      if (colors.includes(event.token) && shapes.includes(tokens[t + 1]?.token ?? '')) {
        [kind, color, shape] = ['color', event.token, tokens[t + 1]!.token];
      } else if (shapes.includes(event.token) && colors.includes(tokens[t - 1]?.token ?? '')) {
        [kind, color, shape] = ['shape', tokens[t - 1]!.token, event.token];
      }
      if (!kind) return;
      const object = images[i]?.objects?.find((o) => o.shape === shape && o.color === color);
      if (!object) return;
      const { mass, cells } = massInBox(event.attention, object.bbox, gridSize);
      if (cells === 0) return;
      sums[kind].words++;
      sums[kind].share += mass;
      sums[kind].uniform += cells / gridSize ** 2;
    });
  });
  const mean = (s: { words: number; share: number; uniform: number }): AttentionShare => ({
    words: s.words,
    meanShare: s.words ? s.share / s.words : 0,
    meanUniformShare: s.words ? s.uniform / s.words : 0,
  });
  return { color: mean(sums.color), shape: mean(sums.shape) };
}
