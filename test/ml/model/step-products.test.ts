// StepProducts (src/ml/model/step-products.ts): a recurrence whose per-step products take their
// weight gradients once over all steps has the gradients of the plain per-step ops (relative error
// ≤ 1e-5) on wasm (native kernels on and off) and cpu; forward values are identical; nothing
// leaks; without a tape it is the plain op. And the caption model's loss gradients with and without.
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import { relErr as relErrOf } from '../backend/native.ts';
import { setNativeKernels } from '../../../src/ml/kernels/native-kernel.ts';
import { setStepProducts, StepProducts } from '../../../src/ml/model/step-products.ts';

/** max |a − b| / max |b| of two tensors (test/ml/backend/native.ts's relErr) */
const relErr = (actual: tf.Tensor, expected: tf.Tensor): number => relErrOf(actual.dataSync(), expected.dataSync());

/** h_{t+1} = tanh(h_t·W + b + c_t·V) with c_t = tanh(h_t·P_t) (as the attention context depends on h), loss Σ_t Σ h_t ⊙ r_t */
function recurrenceLoss(B: number, U: number, E: number, T: number) {
  const cs = Array.from({ length: T }, (_, t) => tf.randomNormal([U, E], 0, 1, 'float32', 10 + t) as tf.Tensor2D);
  const rs = Array.from({ length: T }, (_, t) => tf.randomNormal([B, U], 0, 1, 'float32', 50 + t));
  const loss = (w: tf.Tensor, b: tf.Tensor, v: tf.Tensor) => {
    const products = new StepProducts([{ w: w as tf.Tensor2D, bias: b as tf.Tensor1D }, { w: v as tf.Tensor2D }]);
    let h = products.anchor(tf.zeros([B, U]) as tf.Tensor2D);
    let total = tf.scalar(0);
    for (let t = 0; t < T; t++) {
      const c = tf.tanh(tf.matMul(h, cs[t])) as tf.Tensor2D;
      h = tf.tanh(tf.add(products.product(0, h), products.product(1, c))) as tf.Tensor2D;
      total = tf.add(total, tf.sum(tf.mul(h, rs[t])));
    }
    return total as tf.Scalar;
  };
  return { loss, inputs: [...cs, ...rs] };
}

describe('StepProducts', () => {
  afterEach(() => setStepProducts(true));

  for (const [backend, native] of [
    ['wasm', true],
    ['wasm', false],
    ['cpu', false],
  ] as const) {
    it(`gives the per-step ops' gradients (${backend}${native ? '+native' : ''})`, async () => {
      await initBackend(backend, { nativeKernels: native });
      if (backend === 'wasm') setNativeKernels(native);
      for (const [B, U, E, T] of [
        [1, 1, 1, 1],
        [3, 5, 2, 4],
        [16, 64, 32, 11],
      ]) {
        const { loss, inputs } = recurrenceLoss(B, U, E, T);
        const w = tf.randomNormal([U, U], 0, 0.3, 'float32', 1);
        const b = tf.randomNormal([U], 0, 0.3, 'float32', 2);
        const v = tf.randomNormal([E, U], 0, 0.3, 'float32', 3);
        const before = tf.memory().numTensors;
        const run = (on: boolean) => {
          setStepProducts(on);
          return tf.tidy(() => {
            const { value, grads } = tf.valueAndGrads(loss)([w, b, v]);
            return [value, ...grads];
          });
        };
        const deferred = run(true);
        const plain = run(false);
        expect(deferred[0].dataSync()).toEqual(plain[0].dataSync()); // the forward is the same ops
        for (let i = 1; i < 4; i++) expect(relErr(deferred[i], plain[i]), `grad ${i} [${B}, ${U}, ${E}, ${T}]`).toBeLessThanOrEqual(1e-5);
        tf.dispose([...deferred, ...plain]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([w, b, v, ...inputs]);
      }
      if (backend === 'wasm') setNativeKernels(true);
    });
  }

  it('is the plain product without a tape', async () => {
    await initBackend('wasm', testBackendOptions());
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const products = new StepProducts([{ w }]);
    const start = tf.zeros([2, 4]);
    expect(products.anchor(start)).toBe(start);
    const profile = await tf.profile(() => tf.tidy(() => products.product(0, x).dataSync()));
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('_FusedMatMul');
    expect(names.filter((n) => !['Reshape', '_FusedMatMul', 'fusedMatMul__op'].includes(n))).toEqual([]);
    tf.dispose([w, x, start]);
  });

  it('refuses to lose a weight gradient: a product whose input does not depend on the recurrence', async () => {
    await initBackend('wasm', testBackendOptions());
    const w = tf.randomNormal([3, 3], 0, 1, 'float32', 1);
    const c = tf.randomNormal([2, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const loss = (wt: tf.Tensor) => {
      const products = new StepProducts([{ w: wt as tf.Tensor2D }]);
      const h = products.anchor(tf.zeros([2, 3]) as tf.Tensor2D);
      return tf.sum(tf.add(products.product(0, h), products.product(0, c))) as tf.Scalar; // c: a constant
    };
    expect(() => tf.tidy(() => tf.grad(loss)(w))).toThrow(/1 of 2 products got no gradient/);
    tf.dispose([w, c]);
  });

  it("the caption model's loss gradients equal the per-step ones", async () => {
    await initBackend('wasm', testBackendOptions());
    const config: ModelConfig = {
      encoder: { kind: 'pretrained', url: 'file:///dev/null', imageSize: 299 },
      gridSize: 4,
      encoderDim: 24,
      embeddingDim: 16,
      units: 32,
      vocabSize: 40,
      maxLength: 7,
      attentionLambda: 0.5,
    };
    const model = CaptionModel.create(config, 5, 48);
    const features = tf.randomNormal([3, 16, 48], 0, 1, 'float32', 7) as tf.Tensor3D;
    const captions = tf.tensor2d(
      [
        [1, 5, 9, 12, 2, 0, 0],
        [1, 7, 3, 30, 22, 8, 2],
        [1, 4, 2, 0, 0, 0, 0],
      ],
      [3, 7],
      'int32',
    );
    const vars = model.weights.list();
    const grads = (on: boolean) => {
      setStepProducts(on);
      return tf.tidy(() => {
        const { grads } = tf.variableGrads(() => model.loss(features, captions), vars);
        return vars.map((v) => grads[v.name]);
      });
    };
    const deferred = grads(true);
    const plain = grads(false);
    vars.forEach((v, i) => expect(relErr(deferred[i], plain[i]), v.name).toBeLessThanOrEqual(1e-5));
    tf.dispose([...deferred, ...plain, features, captions]);
    model.dispose();
  });
});
