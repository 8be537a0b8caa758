// End-to-end check of the wasm kernels on the real model: the loss and every weight gradient
// of a small Show-Attend-Tell (pretrained-feature encoder, vector V, GRU slices, embedding
// gather) equal the cpu backend's, for the same weights and batch.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';

const CONFIG: ModelConfig = {
  encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
  gridSize: 4,
  encoderDim: 24,
  embeddingDim: 16,
  units: 32,
  vocabSize: 50,
  maxLength: 8,
  attentionLambda: 0.5,
};
const CHANNELS = 40;

function lossAndGrads(): Map<string, Float32Array> {
  const model = CaptionModel.create(CONFIG, 3, CHANNELS);
  const features = tf.tensor3d(
    Float32Array.from({ length: 3 * 16 * CHANNELS }, (_, i) => Math.sin(i * 0.37)),
    [3, 16, CHANNELS],
  );
  const captions = tf.tensor2d(
    [
      [1, 5, 9, 9, 2, 0],
      [1, 7, 2, 0, 0, 0],
      [1, 49, 3, 12, 30, 2],
    ],
    [3, 6],
    'int32',
  );
  const vars = model.weights.list();
  const { value, grads } = tf.variableGrads(() => model.loss(features, captions), vars);
  const out = new Map<string, Float32Array>([['loss', value.dataSync() as Float32Array]]);
  for (const v of vars) out.set(model.weights.nameOf(v.name), grads[v.name].dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads), features, captions]);
  model.dispose();
  return out;
}

describe('model gradients: wasm kernels vs cpu', () => {
  it('loss and every gradient agree', async () => {
    await initBackend('wasm', testBackendOptions());
    const before = tf.memory().numTensors;
    const wasm = lossAndGrads();
    expect(tf.memory().numTensors).toBe(before);
    await initBackend('cpu');
    const cpu = lossAndGrads();
    expect([...wasm.keys()]).toEqual([...cpu.keys()]);
    for (const [name, expected] of cpu) {
      const actual = wasm.get(name)!;
      const scale = Math.max(1e-6, ...expected.map(Math.abs));
      const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
      expect(worst / scale, name).toBeLessThan(1e-4);
    }
  });
});
