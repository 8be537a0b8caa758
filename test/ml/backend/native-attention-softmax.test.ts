// The fused attention weights (native/attention.c attnSoftmax through src/ml/kernels/native-attention-softmax.ts):
// softmax(tanh(keys + q)·v), and attend()'s context and weights with their gradients, equal the tfjs ops' (the
// native kernels off) to a relative error ≤ 1e-5 over batches 1..64; one kernel forward and one backward, no
// hidden tensor when not recording; the addon refuses bad regions without writing; a short training run's loss
// curve with the fused weights equals the one with tf.softmax to 1e-4. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { type ModelConfig } from '../../../src/ml/index.ts';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { ATTENTION_SOFTMAX, ATTENTION_SOFTMAX_GRAD, nativeAttentionWeights } from '../../../src/ml/kernels/native-attention-softmax.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { attend } from '../../../src/ml/model/attention.ts';
import { expectSameLossCurve } from './loss-curve.ts';
import { expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

// [B, L, U, E]: 1 row, 1 cell, 1 unit, U not a multiple of the 16 lanes, the reference shape at batch 16 and 64
const SHAPES = [
  [1, 1, 1, 1],
  [1, 64, 512, 256],
  [3, 5, 17, 5],
  [4, 9, 33, 8],
  [16, 64, 512, 256],
  [64, 16, 8, 12],
  [64, 64, 512, 256],
];

describe.skipIf(native == null)('native attention weights (scores and softmax fused)', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('attention-softmax', true);
  });

  it('attend() and its gradients equal the tfjs ops (relative error ≤ 1e-5)', () => {
    const before = tf.memory().numTensors;
    for (const [B, L, U, E] of SHAPES) {
      const keys = tf.randomNormal([B, L, U], 0, 1, 'float32', 31) as tf.Tensor3D;
      const query = tf.randomNormal([B, U], 0, 1, 'float32', 32) as tf.Tensor2D;
      const v = tf.randomNormal([U, 1], 0, 0.3, 'float32', 33) as tf.Tensor2D;
      const features = tf.randomNormal([B, L, E], 0, 1, 'float32', 34) as tf.Tensor3D;
      const wc = tf.randomNormal([B, E], 0, 1, 'float32', 35);
      const wa = tf.randomNormal([B, L], 0, 1, 'float32', 36);
      const loss = (k: tf.Tensor, q: tf.Tensor, vv: tf.Tensor, f: tf.Tensor) => {
        const { context, alpha } = attend(vv as tf.Tensor2D, f as tf.Tensor3D, k as tf.Tensor3D, q as tf.Tensor2D);
        return tf.add(tf.sum(tf.mul(context, wc)), tf.sum(tf.mul(alpha, wa))) as tf.Scalar;
      };
      const run = (on: boolean) => {
        setNativeKernels(on);
        const probe = nativeAttentionWeights(keys, query, v);
        expect(probe != null, `native ${on}`).toBe(on);
        probe?.dispose();
        return tf.tidy(() => {
          const { context, alpha } = attend(v, features, keys, query);
          return [context, alpha, ...tf.grads(loss)([keys, query, v, features])];
        });
      };
      const nat = run(true);
      const ref = run(false);
      const names = ['context', 'alpha', 'd keys', 'd query', 'd v', 'd features'];
      nat.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        expect(relErr(t.dataSync(), ref[i].dataSync()), `${names[i]} [${B}, ${L}, ${U}, ${E}]`).toBeLessThanOrEqual(1e-5);
      });
      tf.dispose([...nat, ...ref, keys, query, v, features, wc, wa]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs one kernel forward and one backward, and stores no hidden tensor when not recording', async () => {
    const keys = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 1) as tf.Tensor3D;
    const query = tf.randomNormal([2, 16], 0, 1, 'float32', 2) as tf.Tensor2D;
    const v = tf.randomNormal([16, 1], 0, 1, 'float32', 3) as tf.Tensor2D;
    const profile = await tf.profile(() => tf.tidy(() => nativeAttentionWeights(keys, query, v)!.dataSync()));
    expect(profile.kernels.map((k) => k.name)).toEqual([ATTENTION_SOFTMAX]);
    expect(profile.kernels[0].outputShapes).toEqual([[2, 5]]);
    const weights = tf.randomNormal([2, 5], 0, 1, 'float32', 4);
    const graded = await tf.profile(() =>
      tf.tidy(() =>
        tf
          .grads((k: tf.Tensor) => tf.sum(tf.mul(nativeAttentionWeights(k as tf.Tensor3D, query, v)!, weights)))([keys])[0]
          .dataSync(),
      ),
    );
    const names = graded.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('GlimpseAttention'))).toEqual([ATTENTION_SOFTMAX, ATTENTION_SOFTMAX_GRAD]);
    expect(names).not.toContain('Softmax');
    tf.dispose([keys, query, v, weights]);
  });

  it('the addon computes on a plain heap and refuses bad regions without writing', () => {
    const addon = native?.addon as NativeAddon;
    const heap = new Uint8Array(512);
    const f = new Float32Array(heap.buffer);
    // B 1, L 2, U 2: keys at 0, q at 32, v at 64, alpha at 96, hidden at 128
    f.set([0.1, -0.2, 0.3, 0.4], 0);
    f.set([0.5, 0.25], 8);
    f.set([2, -1], 16);
    addon.attnSoftmax(heap, Float64Array.of(0, 32, 64, 96, 128, 1, 2, 2));
    const t = [Math.tanh(0.6), Math.tanh(0.05), Math.tanh(0.8), Math.tanh(0.65)];
    const s = [2 * t[0] - t[1], 2 * t[2] - t[3]];
    const a0 = 1 / (1 + Math.exp(s[1] - s[0]));
    expect(f[24]).toBeCloseTo(a0, 6);
    expect(f[25]).toBeCloseTo(1 - a0, 6);
    for (let i = 0; i < 4; i++) expect(f[32 + i]).toBeCloseTo(t[i], 6);
    // gradient: dalpha at 192, dkeys 224, dq 256, dv 288
    f.set([1, -2], 48);
    addon.attnSoftmaxGrad(heap, Float64Array.of(128, 64, 96, 192, 224, 256, 288, 1, 2, 2));
    const dot = a0 * 1 + (1 - a0) * -2;
    const ds = [a0 * (1 - dot), (1 - a0) * (-2 - dot)];
    expect(f[56]).toBeCloseTo(ds[0] * 2 * (1 - t[0] ** 2), 6);
    expect(f[72]).toBeCloseTo(ds[0] * t[0] + ds[1] * t[2], 6);
    const good = [0, 32, 64, 96, 128, 1, 2, 2];
    expectRefusals(addon.attnSoftmax, heap, good, [
      [0, 508], // keys past the end
      [1, 2], // misaligned
      [3, 0], // alpha over keys
      [4, 96], // hidden over alpha
      [5, 0], // B 0
      [7, 2 ** 31], // too large
      [6, 1.5],
    ]);
    expectRefusals(
      addon.attnSoftmaxGrad,
      heap,
      [128, 64, 96, 192, 224, 256, 288, 1, 2, 2],
      [
        [4, 128], // dkeys over hidden
        [6, 256], // dv over dq
        [5, 508], // dq past the end
        [9, 0],
      ],
    );
    expect(() => addon.attnSoftmax(heap, new Float64Array(7))).toThrow(RangeError);
  });

  it('is not used with the native kernels off, nor with its part off', () => {
    const [keys, query, v] = [tf.zeros([1, 2, 3]) as tf.Tensor3D, tf.zeros([1, 3]) as tf.Tensor2D, tf.zeros([3, 1]) as tf.Tensor2D];
    setNativeKernels(false);
    expect(nativeAttentionWeights(keys, query, v)).toBeNull();
    setNativeKernels(true);
    setNativePart('attention-softmax', false);
    expect(nativeAttentionWeights(keys, query, v)).toBeNull();
    setNativePart('attention-softmax', true);
    const on = nativeAttentionWeights(keys, query, v);
    expect(Array.from(on!.dataSync())).toEqual([0.5, 0.5]);
    tf.dispose([keys, query, v, on!]);
  });

  it('a short training run: the loss curve with the fused weights equals tf.softmax’s (≤ 1e-4)', () => {
    const config: ModelConfig = {
      encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
      gridSize: 4,
      encoderDim: 24,
      embeddingDim: 16,
      units: 32,
      vocabSize: 40,
      maxLength: 8,
      attentionLambda: 0.5,
    };
    expectSameLossCurve(
      {
        config: config,
        feature: (i) => Math.cos(i * 0.29),
        captions: [
          [1, 5, 9, 9, 2, 0],
          [1, 7, 2, 0, 0, 0],
          [1, 39, 3, 12, 30, 2],
          [1, 4, 4, 6, 2, 0],
        ],
        modelSeed: 9,
      },
      'attention-softmax',
    );
  });
});
