// Batched beam search (one forward per step over every image's live beams) against the
// image-by-image search it replaced: same words, log-probabilities and attention for every image
// of a batch, the same as decodeStream on each image alone, onToken per finished image, no leaks.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { loadImage } from '../../../src/ml/data/images.ts';
import { decodeBatch, decodeStream } from '../../../src/ml/decode/index.ts';
import type { CaptionModel } from '../../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { decoderStep, initialState, stepWeights } from '../../../src/ml/model/decoder.ts';
import { train } from '../../../src/ml/train.ts';
import type { CaptionResult, TokenEvent } from '../../../src/ml/types.ts';
import type { Vocabulary } from '../../../src/ml/vocab.ts';
import { shapesImages, tempDir } from './fixtures.ts';

let remove: () => Promise<void>;
let model: CaptionModel;
let vocab: Vocabulary;
let pixels: tf.Tensor4D;

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  let dir: string;
  ({ dir, remove } = await tempDir('beam-batch'));
  const images = (await shapesImages(dir, 8, 33, 32)).map((img) => ({ ...img, captions: [img.captions[0]] }));
  // a partly trained model: captions of different lengths and some competition between beams
  ({ model, vocab } = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model: BABY_MODEL_CONFIG,
    train: { epochs: 25, batchSize: 8, learningRate: 1e-2, seed: 4, valFraction: 0 },
  }));
  const size = BABY_MODEL_CONFIG.encoder.imageSize;
  const loaded = await Promise.all(images.map((img) => loadImage(img.file, { size })));
  const values = new Float32Array(loaded.length * size * size * 3);
  loaded.forEach((v, i) => values.set(v, i * v.length));
  pixels = tf.tensor4d(values, [loaded.length, size, size, 3]);
});

afterAll(async () => {
  model?.dispose();
  pixels?.dispose();
  await remove();
});

/**
 * The image-by-image beam search that decodeBatch ran before batching (one image, tf.tile of its
 * features per live beam, state gathered by parent), kept here as the reference.
 */
function referenceBeam(image: tf.Tensor, beamWidth: number, maxLength: number): CaptionResult {
  const K = beamWidth;
  const L = model.config.gridSize ** 2;
  const V = model.config.vocabSize;
  type Beam = { tokens: number[]; events: TokenEvent[]; logProb: number; row: number };
  const encoded = model.encode(image as tf.Tensor4D);
  const step = stepWeights(model.weights);
  let h = initialState(1, model.config.units);
  let alive: Beam[] = [{ tokens: [], events: [], logProb: 0, row: 0 }];
  const done: { beam: Beam; length: number }[] = [];
  for (let t = 0; t < maxLength - 1 && alive.length > 0; t++) {
    const n = alive.length;
    const out = tf.tidy(() => {
      const images = { features: tf.tile(encoded.features, [n, 1, 1]), keys: tf.tile(encoded.keys, [n, 1, 1]) };
      const tokens = tf.tensor1d(
        alive.map((b) => b.tokens.at(-1) ?? vocab.startId),
        'int32',
      );
      const s = decoderStep(model.weights, step, images, tokens, h);
      return { logProbs: tf.logSoftmax(s.logits), alpha: s.alpha, h: s.h };
    });
    const logProbs = out.logProbs.dataSync() as Float32Array;
    const alphas = out.alpha.dataSync() as Float32Array;
    const candidates: { parent: number; id: number; logProb: number }[] = [];
    alive.forEach((beam, i) => {
      const row = Array.from(logProbs.subarray(i * V, (i + 1) * V));
      const order = row.map((_, id) => id).sort((a, b) => row[b] - row[a] || a - b); // ties: lower id first
      for (const id of order.slice(0, K)) candidates.push({ parent: i, id, logProb: beam.logProb + row[id] });
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Beam[] = [];
    for (const c of candidates.slice(0, K - done.length)) {
      const parent = alive[c.parent];
      const event: TokenEvent = {
        index: t,
        token: vocab.word(c.id),
        attention: alphas.slice(c.parent * L, (c.parent + 1) * L),
        logProb: c.logProb - parent.logProb,
      };
      const beam = { tokens: [...parent.tokens, c.id], events: [...parent.events, event], logProb: c.logProb, row: c.parent };
      if (c.id === vocab.endId) done.push({ beam, length: t + 1 });
      else next.push(beam);
    }
    h.dispose();
    h = tf.tidy(() =>
      tf.gather(
        out.h,
        tf.tensor1d(
          next.map((b) => b.row),
          'int32',
        ),
      ),
    ) as tf.Tensor2D;
    tf.dispose([out.logProbs, out.alpha, out.h]);
    alive = next;
  }
  h.dispose();
  // v and inputBias are the model's own variables; the rest are new tensors
  tf.dispose([encoded.features, encoded.keys, step.stateKernel, step.stateBias, step.contextKernel, step.embeddingKernel]);
  for (const beam of alive) done.push({ beam, length: beam.tokens.length });
  const score = (d: { beam: Beam; length: number }) => d.beam.logProb / Math.max(d.length, 1);
  const best = done.reduce((a, b) => (score(b) > score(a) ? b : a));
  const words = best.beam.events.filter((_, i) => best.beam.tokens[i] !== vocab.endId);
  return { tokens: words, caption: words.map((e) => e.token).join(' '), logProb: best.beam.logProb };
}

function expectSameResult(actual: CaptionResult, expected: CaptionResult, tolerance = 1e-5): void {
  expect(actual.tokens.map((e) => e.token)).toEqual(expected.tokens.map((e) => e.token));
  expect(actual.caption).toBe(expected.caption);
  expect(Math.abs(actual.logProb - expected.logProb)).toBeLessThanOrEqual(tolerance);
  actual.tokens.forEach((e, i) => {
    const ref = expected.tokens[i];
    expect(e.index).toBe(ref.index);
    expect(Math.abs(e.logProb - ref.logProb)).toBeLessThanOrEqual(tolerance);
    expect(e.attention).toHaveLength(ref.attention.length);
    const diff = Math.max(...e.attention.map((v, j) => Math.abs(v - ref.attention[j])));
    expect(diff).toBeLessThanOrEqual(tolerance);
  });
}

async function streamed(image: tf.Tensor, beamWidth: number, maxLength: number): Promise<CaptionResult> {
  const events: TokenEvent[] = [];
  const stream = decodeStream(model, vocab, image as tf.Tensor4D, { method: 'beam', beamWidth, maxLength });
  let next = await stream.next();
  for (; !next.done; next = await stream.next()) events.push(next.value);
  expect(next.value.tokens).toEqual(events);
  return next.value;
}

describe('batched beam search', () => {
  it('gives every image of a batch the same caption as the image-by-image search', async () => {
    const B = pixels.shape[0];
    const singles = Array.from({ length: B }, (_, i) => tf.slice(pixels, i, 1));
    const captions = new Set<string>();
    const lengths = new Set<number>();
    for (const [beamWidth, maxLength] of [
      [3, vocab.maxLength],
      [2, vocab.maxLength],
      [5, vocab.maxLength],
      [3, 5], // short limit: some searches end with live beams
      [1, vocab.maxLength],
    ]) {
      const batch = await decodeBatch(model, vocab, pixels, { method: 'beam', beamWidth, maxLength });
      expect(batch).toHaveLength(B);
      for (let i = 0; i < B; i++) {
        const reference = referenceBeam(singles[i], beamWidth, maxLength);
        expectSameResult(batch[i], reference);
        expectSameResult(await streamed(singles[i], beamWidth, maxLength), reference);
        captions.add(batch[i].caption);
        lengths.add(batch[i].tokens.length);
      }
    }
    // the batch really mixes searches that differ (different words, different lengths)
    expect(captions.size).toBeGreaterThanOrEqual(3);
    expect(lengths.size).toBeGreaterThanOrEqual(2);
    tf.dispose(singles);
  });

  it('decodes any subset and order of images the same way', async () => {
    const order = [5, 0, 3];
    const subset = tf.gather(pixels, tf.tensor1d(order, 'int32'));
    const all = await decodeBatch(model, vocab, pixels, { method: 'beam', beamWidth: 3 });
    const some = await decodeBatch(model, vocab, subset as tf.Tensor4D, { method: 'beam', beamWidth: 3 });
    some.forEach((r, j) => expectSameResult(r, all[order[j]]));
    subset.dispose();
  });

  it("reports each image's final words through onToken, each once, in order", async () => {
    const events: [number, TokenEvent][] = [];
    const results = await decodeBatch(model, vocab, pixels, { method: 'beam', beamWidth: 3 }, (i, e) => events.push([i, e]));
    // the words every live hypothesis agrees on as the search goes (test/ml/model/beam-stream.test.ts), the rest at its
    // end: per image, exactly the result's tokens
    results.forEach((r, i) => expect(events.filter(([j]) => j === i).map(([, e]) => e)).toEqual(r.tokens));
  });

  it('leaves tf.memory().numTensors unchanged', async () => {
    const before = tf.memory().numTensors;
    await decodeBatch(model, vocab, pixels, { method: 'beam', beamWidth: 3 });
    await decodeBatch(model, vocab, pixels, { method: 'beam', beamWidth: 4, maxLength: 4 });
    const input = tf.slice(pixels, 2, 1);
    for await (const event of decodeStream(model, vocab, input, { method: 'beam' })) {
      expect(event.token).not.toBe('');
      break; // an abandoned stream releases its tensors too
    }
    input.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
