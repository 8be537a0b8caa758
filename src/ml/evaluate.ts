// Held-out evaluation: teacher-forced loss over caption examples and corpus BLEU of greedy captions.
import * as tf from '@tensorflow/tfjs';
import { batchExamples, captionMatrix, type Example, type InputCache } from './batches.ts';
import { decodeBatch } from './decode.ts';
import { corpusBleu } from './metrics/bleu.ts';
import { tokenizeCaption } from './metrics/tokenize.ts';
import type { CaptionModel } from './model/captionModel.ts';
import type { CaptionedImage } from './types.ts';
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
    const loss = tf.tidy(() => model.loss(input as tf.Tensor4D, captions));
    total += (await loss.data())[0] * batch.length;
    tf.dispose([input, loss, captions]);
  }
  return total / examples.length;
}

/** Greedy captions of the images against their references: BLEU-1..4. */
export async function greedyBleu(
  model: CaptionModel,
  vocab: Vocabulary,
  images: readonly CaptionedImage[],
  inputs: InputCache,
  batchSize: number,
): Promise<[number, number, number, number]> {
  const hypotheses: string[][] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const indices = images.slice(start, start + batchSize).map((_, i) => start + i);
    const input = await inputs.batch(indices);
    const results = await decodeBatch(model, vocab, input as tf.Tensor4D, { method: 'greedy' });
    input.dispose();
    hypotheses.push(...results.map((r) => tokenizeCaption(r.caption)));
  }
  const references = images.map((img) => img.captions.map(tokenizeCaption));
  return corpusBleu(hypotheses, references).bleu;
}
