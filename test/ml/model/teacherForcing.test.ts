// The fused teacher-forcing forward (embedding, GRU input projection and fc1/fc2 batched over all
// steps) must compute the same loss and gradients as running decoderStep once per time step.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { CaptionModel } from '../../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { conv3x3ExplicitGrad } from '../../../src/ml/model/conv.ts';
import { decoderStep, initialState, stepWeights, teacherForced } from '../../../src/ml/model/decoder.ts';
import { maskedCrossEntropy, tokenMask } from '../../../src/ml/model/loss.ts';
import type { ModelConfig } from '../../../src/ml/types.ts';

const config: ModelConfig = { ...BABY_MODEL_CONFIG, vocabSize: 20 };

/** The straightforward formulation: one decoderStep (lookup, GRU, fc1, fc2) per time step. */
function stepwiseLoss(model: CaptionModel, pixels: tf.Tensor4D, captions: tf.Tensor2D): tf.Scalar {
  const config = model.config;
  const [B, T1] = captions.shape;
  const T = T1 - 1;
  const images = model.encode(pixels);
  const step = stepWeights(model.weights);
  let h = initialState(B, config.units);
  const logits: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const tokens = tf.slice(captions, [0, t], [B, 1]).reshape([B]) as tf.Tensor1D;
    const out = decoderStep(model.weights, step, images, tokens, h);
    h = out.h;
    logits.push(out.logits);
  }
  const targets = tf.slice(captions, [0, 1], [B, T]) as tf.Tensor2D;
  return maskedCrossEntropy(tf.stack(logits, 1) as tf.Tensor3D, targets, tokenMask(targets));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('fused teacher forcing', () => {
  beforeAll(async () => {
    await initBackend(undefined, testBackendOptions());
  });

  it.each([
    ['fc1(h), as the seed', config],
    ['the deep output fc1(h, context)', { ...config, deepOutput: true }],
  ])('gives the same loss and gradients as the per-step formulation: %s', (_, modelConfig) => {
    const model = CaptionModel.create(modelConfig, 7);
    const pixels = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    // <start>=1 … <end>=2, 0 = padding: lengths differ so the mask matters
    const captions = tf.tensor2d(
      [
        [1, 5, 6, 7, 8, 2, 0],
        [1, 9, 10, 2, 0, 0, 0],
        [1, 11, 12, 13, 14, 15, 2],
      ],
      undefined,
      'int32',
    );
    const vars = model.weights.list();
    const fused = tf.variableGrads(() => model.loss(pixels, captions), vars);
    const stepwise = tf.variableGrads(() => stepwiseLoss(model, pixels, captions), vars);
    const loss = fused.value.dataSync()[0];
    expect(loss).toBeGreaterThan(2); // ≈ ln(20) at initialisation
    expect(Math.abs(loss - stepwise.value.dataSync()[0])).toBeLessThan(1e-5);
    expect(Object.keys(fused.grads).sort()).toEqual(Object.keys(stepwise.grads).sort());
    expect(model.weights.names.includes('decoder/fc1/context_kernel')).toBe(modelConfig.deepOutput === true);
    for (const name of Object.keys(fused.grads)) {
      const scale = tf.tidy(() => tf.max(tf.abs(stepwise.grads[name])).dataSync()[0]);
      expect(scale, model.weights.nameOf(name)).toBeGreaterThan(0);
      expect(maxAbsDiff(fused.grads[name], stepwise.grads[name]) / scale, model.weights.nameOf(name)).toBeLessThan(1e-4);
    }
    tf.dispose([fused.value, stepwise.value, pixels, captions, ...Object.values(fused.grads), ...Object.values(stepwise.grads)]);
    model.dispose();
  });

  it('context dropout: only with a training seed, and the same for a seed (exact resume)', () => {
    const plain = CaptionModel.create({ ...config, deepOutput: true }, 7);
    const dropped = CaptionModel.create({ ...config, deepOutput: true, contextDropout: 0.5 }, 7); // same weights
    const pixels = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const captions = tf.tensor2d(
      [
        [1, 5, 6, 7, 8, 2, 0],
        [1, 9, 10, 2, 0, 0, 0],
        [1, 11, 12, 13, 14, 15, 2],
      ],
      undefined,
      'int32',
    );
    const lossOf = (m: CaptionModel, training?: { seed: number }) => tf.tidy(() => m.loss(pixels, captions, training).dataSync()[0]);
    expect(lossOf(dropped)).toBe(lossOf(plain)); // validation and captions: never dropped
    expect(lossOf(plain, { seed: 3 })).toBe(lossOf(plain)); // rate 0: nothing dropped
    expect(lossOf(dropped, { seed: 3 })).toBe(lossOf(dropped, { seed: 3 })); // deterministic: exact resume
    expect(lossOf(dropped, { seed: 3 })).not.toBe(lossOf(dropped));
    expect(lossOf(dropped, { seed: 4 })).not.toBe(lossOf(dropped, { seed: 3 }));
    tf.dispose([pixels, captions]);
    plain.dispose();
    dropped.dispose();
  });

  it('adds the doubly stochastic attention penalty λ · Σ_cells (1 − Σ_t α)², batch mean', async () => {
    const lambda = 0.5;
    const plain = CaptionModel.create(config, 7);
    const regularised = CaptionModel.create({ ...config, attentionLambda: lambda }, 7); // same seed, same weights
    const pixels = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const captions = tf.tensor2d(
      [
        [1, 5, 6, 2, 0],
        [1, 7, 8, 9, 2],
      ],
      undefined,
      'int32',
    );
    const inputs = tf.slice(captions, [0, 0], [2, 4]) as tf.Tensor2D;
    const alphas = tf.tidy(() => teacherForced(plain.weights, plain.encode(pixels), inputs).alphas.arraySync());
    const realSteps = [3, 4]; // targets before padding
    let penalty = 0;
    alphas.forEach((steps, b) => {
      for (let cell = 0; cell < steps[0].length; cell++) {
        const coverage = steps.slice(0, realSteps[b]).reduce((sum, alpha) => sum + alpha[cell], 0);
        penalty += (1 - coverage) ** 2 / alphas.length;
      }
    });
    const [withPenalty, without] = tf.tidy(() => [
      regularised.loss(pixels, captions).dataSync()[0],
      plain.loss(pixels, captions).dataSync()[0],
    ]);
    expect(penalty).toBeGreaterThan(0);
    expect(withPenalty - without).toBeCloseTo(lambda * penalty, 4);
    tf.dispose([pixels, captions, inputs]);
    plain.dispose();
    regularised.dispose();
  });

  it('the explicit conv gradients equal tf.conv2d on cpu (value and both gradients)', async () => {
    const xValues = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3);
    const kValues = tf.randomNormal([27, 5], 0, 1, 'float32', 4);
    const xData = await xValues.data();
    const kData = await kValues.data();
    const dyData = Float32Array.from({ length: 2 * 8 * 8 * 5 }, (_, i) => Math.sin(i));
    tf.dispose([xValues, kValues]);
    const run = (f: (x: tf.Tensor4D, k: tf.Tensor2D) => tf.Tensor) => {
      const x = tf.tensor4d(xData, [2, 8, 8, 3]);
      const k = tf.tensor2d(kData, [27, 5]);
      const dy = tf.tensor4d(dyData, [2, 8, 8, 5]);
      const out = tf.tidy(() => {
        const value = f(x, k);
        const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor2D), dy)))([x, k]);
        return [value, dx, dk].map((t) => t.dataSync().slice());
      });
      tf.dispose([x, k, dy]);
      return out;
    };
    const ours = run((x, k) => conv3x3ExplicitGrad(x, k));
    const prev = tf.getBackend();
    await tf.setBackend('cpu'); // reference with the native Conv2DBackpropFilter
    const reference = run((x, k) => tf.conv2d(x, k.reshape([3, 3, 3, 5]) as tf.Tensor4D, 1, 'same'));
    await tf.setBackend(prev);
    ours.forEach((values, i) => {
      const diff = Math.max(...values.map((v, j) => Math.abs(v - reference[i][j])));
      expect(diff).toBeLessThan(1e-4);
    });
  });
});
