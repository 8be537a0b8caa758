// Beam search streams a caption's words as soon as every hypothesis still in the running begins with them
// (src/ml/decode/beam.ts): with one beam each word arrives right after the step that chose it (counted in
// native decoding-step calls) and equals greedy's; with three beams the words streamed for each image of a
// batch are exactly its final caption's, in order, each once. Skipped where the addon is not built (the
// step calls are counted on it).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, decodeBatch, decodeStream, type ModelConfig, type TokenEvent, Vocabulary } from '../../../src/ml/index.ts';
import { countCalls, nativeForTests } from '../backend/native.ts';

const native = nativeForTests();
const VOCAB = 40;
const CONFIG: ModelConfig = {
  encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
  gridSize: 4,
  encoderDim: 24,
  embeddingDim: 16,
  units: 48,
  vocabSize: VOCAB,
  maxLength: 12,
  attentionLambda: 0,
};
const vocab = Vocabulary.fromJSON({
  words: ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)],
  maxLength: 12,
});

describe.skipIf(native == null)('beam search streams the words its hypotheses agree on', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });

  it('with one beam, each word right after its step, as greedy', async () => {
    const model = CaptionModel.create(CONFIG, 5, 20);
    // <end> never wins: every caption runs to the last step
    const bias = model.weights.get('decoder/fc2/bias');
    tf.tidy(() => bias.assign(tf.add(bias, tf.oneHot([vocab.endId], VOCAB).reshape([VOCAB]).mul(-1e4))));
    const features = tf.randomNormal([1, 16, 20], 0, 1, 'float32', 3) as tf.Tensor3D;
    const steps = countCalls(native, 'decodeStep');
    const arrivals: number[] = [];
    const streamed: TokenEvent[] = [];
    try {
      for await (const event of decodeStream(model, vocab, features, { method: 'beam', beamWidth: 1, maxLength: 11 })) {
        arrivals.push(steps.calls());
        streamed.push(event);
      }
    } finally {
      steps.restore();
    }
    expect(streamed).toHaveLength(10);
    expect(arrivals).toEqual(streamed.map((_e, i) => i + 1));
    const [greedy] = await decodeBatch(model, vocab, features, { method: 'greedy', maxLength: 11 });
    expect(streamed.map((e) => e.token)).toEqual(greedy!.tokens.map((e) => e.token));
    for (const [i, e] of streamed.entries()) {
      expect(Array.from(e.attention)).toEqual(Array.from(greedy!.tokens[i]!.attention));
    }
    tf.dispose([features]);
    model.dispose();
  });

  it('with three beams, the words streamed per image are its final caption, in order, once each', async () => {
    const model = CaptionModel.create(CONFIG, 7, 20);
    const features = tf.randomNormal([6, 16, 20], 0, 1, 'float32', 4) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const streamed: TokenEvent[][] = Array.from({ length: 6 }, () => []);
    const results = await decodeBatch(model, vocab, features, { method: 'beam', beamWidth: 3, maxLength: 12 }, (image, event) =>
      streamed[image]!.push(event),
    );
    expect(tf.memory().numTensors).toBe(before);
    for (const [b, result] of results.entries()) {
      expect(streamed[b]!.map((e) => e.token)).toEqual(result.tokens.map((e) => e.token));
      expect(streamed[b]!.map((e) => e.index)).toEqual(result.tokens.map((_e, i) => i));
    }
    expect(results.some((r) => r.tokens.length > 0)).toBe(true);
    tf.dispose([features]);
    model.dispose();
  });
});
