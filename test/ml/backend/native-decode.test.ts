// Decoding with the fused GRU cell and attention weights (native/gru.c, native/attention.c): greedy and beam
// search at batch 16 give the captions and log-probabilities of the tfjs ops (those parts off), and each
// step runs the fused kernels without storing anything for a gradient (the whole step fused, 'decode-step', is
// switched off here: native-decode-step.test.ts covers it). Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, decodeBatch, type ModelConfig, Vocabulary } from '../../../src/ml/index.ts';
import { ATTENTION_SOFTMAX } from '../../../src/ml/kernels/native-attention-softmax.ts';
import { GRU_CELL } from '../../../src/ml/kernels/native-gru.ts';
import { setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { nativeForTests } from './native.ts';

const native = nativeForTests();
const VOCAB = 40;
const CONFIG: ModelConfig = {
  encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
  gridSize: 4,
  encoderDim: 24,
  embeddingDim: 16,
  units: 48,
  vocabSize: VOCAB,
  maxLength: 10,
  attentionLambda: 0.5,
};

function fused(on: boolean): void {
  setNativePart('gru', on);
  setNativePart('attention-softmax', on);
}

describe.skipIf(native == null)('decoding with the fused recurrence kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
    setNativePart('decode-step', false);
  });
  afterAll(() => setNativePart('decode-step', true));
  afterEach(() => fused(true));

  it('greedy and beam search at batch 16 equal the tfjs ops', async () => {
    const model = CaptionModel.create(CONFIG, 5, 20);
    const vocab = Vocabulary.fromJSON({
      words: ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)],
      maxLength: 10,
    });
    const features = tf.randomNormal([16, 16, 20], 0, 1, 'float32', 3) as tf.Tensor3D;
    for (const method of ['greedy', 'beam'] as const) {
      const decode = async (on: boolean) => {
        fused(on);
        return decodeBatch(model, vocab, features, { method, beamWidth: 3, maxLength: 10 });
      };
      const nat = await decode(true);
      const ref = await decode(false);
      expect(nat.map((c) => c.caption)).toEqual(ref.map((c) => c.caption));
      for (const [i, c] of nat.entries()) expect(Math.abs(c.logProb - ref[i].logProb), `${method} ${i}`).toBeLessThan(1e-4);
    }
    fused(true);
    const profile = await tf.profile(async () => {
      await decodeBatch(model, vocab, features, { method: 'greedy', maxLength: 10 });
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain(GRU_CELL);
    expect(names).toContain(ATTENTION_SOFTMAX);
    expect(names).not.toContain('Sigmoid');
    expect(names).not.toContain('Softmax');
    // no gradient tape: the cell stores no gates, the weights no tanh values
    for (const k of profile.kernels.filter((k) => k.name === GRU_CELL || k.name === ATTENTION_SOFTMAX))
      expect(k.outputShapes).toHaveLength(1);
    tf.dispose(features);
    model.dispose();
  });
});
