// Training data: (image, caption) examples, a seeded order per epoch (so a resumed run sees the
// same batches), caption matrices, and encoder inputs cached in memory for small sets.
import * as tf from '@tensorflow/tfjs';
import type { EncoderInputSource } from './encoder-inputs.ts';
import { Rng } from './random.ts';
import type { CaptionedImage } from './types.ts';
import type { Vocabulary } from './vocab.ts';

export interface Example {
  /** index into the image list */
  image: number;
  /** <start> … <end> ids */
  ids: number[];
}

export function buildExamples(images: readonly CaptionedImage[], vocab: Vocabulary): Example[] {
  return images.flatMap((img, image) => img.captions.map((caption) => ({ image, ids: vocab.encode(caption) })));
}

/** Example order of an epoch: a shuffle seeded by (seed, epoch) only. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const rng = new Rng((Math.imul(seed, 1_000_003) + epoch) | 0);
  return rng.shuffle(Array.from({ length: count }, (_, i) => i));
}

/** The examples of batch `batch` in an epoch order. */
export function batchExamples(examples: readonly Example[], order: readonly number[], batch: number, batchSize: number): Example[] {
  return order.slice(batch * batchSize, (batch + 1) * batchSize).map((i) => examples[i]);
}

/** ids → int32 [B, T+1], 0-padded to the longest caption of the batch */
export function captionMatrix(examples: readonly Example[]): tf.Tensor2D {
  const width = Math.max(...examples.map((e) => e.ids.length));
  const values = new Int32Array(examples.length * width);
  examples.forEach((e, row) => values.set(e.ids, row * width));
  return tf.tensor2d(values, [examples.length, width], 'int32');
}

/** Encoder inputs per image, loaded through the source and kept in memory up to a byte budget. */
export class InputCache {
  private readonly cache = new Map<number, Float32Array>();
  /** loads in flight, so an image twice in a batch is loaded once */
  private readonly pending = new Map<number, Promise<Float32Array>>();
  private bytes = 0;

  constructor(
    private readonly images: readonly CaptionedImage[],
    private readonly source: EncoderInputSource,
    private readonly budgetBytes: number,
  ) {}

  private get(index: number): Promise<Float32Array> {
    const cached = this.cache.get(index);
    if (cached) return Promise.resolve(cached);
    let loading = this.pending.get(index);
    if (!loading) {
      loading = this.source.load(this.images[index].file).then((values) => {
        if (this.bytes + values.byteLength <= this.budgetBytes) {
          this.cache.set(index, values);
          this.bytes += values.byteLength;
        }
        return values;
      });
      this.pending.set(index, loading);
      void loading.finally(() => this.pending.delete(index)).catch(() => undefined);
    }
    return loading;
  }

  /** gives the cached inputs back (at the end of a run: the worker's memory returns to its idle level) */
  clear(): void {
    this.cache.clear();
    this.bytes = 0;
  }

  /** cached bytes */
  get size(): number {
    return this.bytes;
  }

  /** inputs of the given images stacked: [B, S, S, 3] or [B, L, C] */
  async batch(indices: readonly number[]): Promise<tf.Tensor> {
    const per = this.source.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(indices.length * per);
    const loaded = await Promise.all(indices.map((i) => this.get(i)));
    loaded.forEach((v, row) => values.set(v, row * per));
    return tf.tensor(values, [indices.length, ...this.source.shape]);
  }
}
