// The fused attention scores (native/attention.c through src/ml/kernels/native-attention.ts):
// tanh(keys + q)·v and its gradients with respect to keys, q and v equal the tfjs ops' (the native
// kernels off: XNNPACK) to a relative error ≤ 1e-5 over shapes down to 1 row, 1 cell and 1 unit;
// decoding stores no hidden tensor; the addon refuses bad regions without writing; with the
// native kernels off attend() uses the tfjs ops. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { initBackend } from '../../../src/ml/backend.ts';
import { ATTENTION_SCORES, nativeAttentionScores } from '../../../src/ml/kernels/native-attention.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { attend } from '../../../src/ml/model/attention.ts';
import { expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

// [B, L, U, E]: 1 row, 1 cell, 1 unit, U not a multiple of the 16 lanes, the reference shape
const SHAPES = [
  [1, 1, 1, 1],
  [1, 64, 512, 256],
  [3, 1, 17, 5],
  [2, 7, 1, 3],
  [4, 9, 33, 8],
  [16, 64, 512, 256],
  [48, 64, 512, 256],
];

describe.skipIf(native == null)('native attention scores', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('attention-softmax', true);
  });

  it('attend() and its gradients equal the tfjs ops (relative error ≤ 1e-5)', () => {
    // the scores kernel alone, with tf.softmax (the fused weights: native-attention-softmax.test.ts)
    setNativePart('attention-softmax', false);
    const before = tf.memory().numTensors;
    for (const [B, L, U, E] of SHAPES) {
      const keys = tf.randomNormal([B, L, U], 0, 1, 'float32', 11) as tf.Tensor3D;
      const query = tf.randomNormal([B, U], 0, 1, 'float32', 12) as tf.Tensor2D;
      const v = tf.randomNormal([U, 1], 0, 0.2, 'float32', 13) as tf.Tensor2D;
      const features = tf.randomNormal([B, L, E], 0, 1, 'float32', 14) as tf.Tensor3D;
      // a loss reading both outputs, weighted so that every gradient is non-trivial
      const wc = tf.randomNormal([B, E], 0, 1, 'float32', 15);
      const wa = tf.randomNormal([B, L], 0, 1, 'float32', 16);
      const loss = (k: tf.Tensor, q: tf.Tensor, vv: tf.Tensor) => {
        const { context, alpha } = attend(vv as tf.Tensor2D, features, k as tf.Tensor3D, q as tf.Tensor2D);
        return tf.add(tf.sum(tf.mul(context, wc)), tf.sum(tf.mul(alpha, wa))) as tf.Scalar;
      };
      const run = (on: boolean) => {
        setNativeKernels(on);
        const probe = nativeAttentionScores(keys, query, v);
        expect(probe != null, `native ${on}`).toBe(on);
        probe?.dispose();
        return tf.tidy(() => {
          const { context, alpha } = attend(v, features, keys, query);
          return [context, alpha, ...tf.grads(loss)([keys, query, v])];
        });
      };
      const nat = run(true);
      const ref = run(false);
      const names = ['context', 'alpha', 'd keys', 'd query', 'd v'];
      nat.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        expect(relErr(t.dataSync(), ref[i].dataSync()), `${names[i]} [${B}, ${L}, ${U}]`).toBeLessThanOrEqual(1e-5);
      });
      tf.dispose([...nat, ...ref, keys, query, v, features, wc, wa]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs one kernel forward and one backward, and stores no hidden tensor when not recording', async () => {
    const keys = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 1) as tf.Tensor3D;
    const query = tf.randomNormal([2, 16], 0, 1, 'float32', 2) as tf.Tensor2D;
    const v = tf.randomNormal([16, 1], 0, 1, 'float32', 3) as tf.Tensor2D;
    const profile = await tf.profile(() => tf.tidy(() => nativeAttentionScores(keys, query, v)!.dataSync()));
    expect(profile.kernels.map((k) => k.name)).toEqual([ATTENTION_SCORES]);
    expect(profile.kernels[0].outputShapes).toEqual([[2, 5]]);
    const graded = await tf.profile(() =>
      tf.tidy(() =>
        tf
          .grads((k: tf.Tensor) => tf.sum(nativeAttentionScores(k as tf.Tensor3D, query, v)!))([keys])[0]
          .dataSync(),
      ),
    );
    const names = graded.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('GlimpseAttention'))).toEqual([ATTENTION_SCORES, 'GlimpseAttentionScoresGrad']);
    tf.dispose([keys, query, v]);
  });

  it('the addon computes on a plain heap and refuses bad regions without writing', () => {
    const addon = native?.addon as NativeAddon;
    const heap = new Uint8Array(512);
    const f = new Float32Array(heap.buffer);
    // B 1, L 2, U 2: keys at 0, q at 32, v at 64, scores at 96, hidden at 128
    f.set([0.1, -0.2, 0.3, 0.4], 0);
    f.set([0.5, 0.25], 8);
    f.set([2, -1], 16);
    addon.attnScores(heap, Float64Array.of(0, 32, 64, 96, 128, 1, 2, 2));
    const t = [Math.tanh(0.6), Math.tanh(0.05), Math.tanh(0.8), Math.tanh(0.65)];
    expect(f[24]).toBeCloseTo(2 * t[0] - t[1], 6);
    expect(f[25]).toBeCloseTo(2 * t[2] - t[3], 6);
    for (let i = 0; i < 4; i++) expect(f[32 + i]).toBeCloseTo(t[i], 6);
    // gradient: ds at 192, dkeys 224, dq 256, dv 288
    f.set([1, -2], 48);
    addon.attnScoresGrad(heap, Float64Array.of(128, 64, 192, 224, 256, 288, 1, 2, 2));
    expect(f[56]).toBeCloseTo(1 * 2 * (1 - t[0] ** 2), 6);
    expect(f[64]).toBeCloseTo(2 * (1 - t[0] ** 2) - 2 * 2 * (1 - t[2] ** 2), 6);
    expect(f[72]).toBeCloseTo(t[0] - 2 * t[2], 6);
    const good = [0, 32, 64, 96, 128, 1, 2, 2];
    const bad: [number, number][] = [
      [0, 508], // keys past the end
      [1, 2], // misaligned
      [3, 0], // scores over keys
      [4, 96], // hidden over scores
      [4, 30], // hidden over q (and misaligned)
      [2, -4],
      [5, 0], // B 0
      [7, 2 ** 31], // too large
      [6, 1.5],
    ];
    expectRefusals(addon.attnScores, heap, good, bad);
    const goodGrad = [128, 64, 192, 224, 256, 288, 1, 2, 2];
    expectRefusals(addon.attnScoresGrad, heap, goodGrad, [
      [3, 128], // dkeys over hidden
      [5, 256], // dv over dq
      [4, 508], // dq past the end
      [8, 0],
    ]);
    expect(() => addon.attnScores(heap, new Float64Array(7))).toThrow(RangeError);
  });

  it('is not used with the native kernels off, nor with their attention part off', () => {
    const [keys, query, v] = [tf.zeros([1, 2, 3]) as tf.Tensor3D, tf.zeros([1, 3]) as tf.Tensor2D, tf.zeros([3, 1]) as tf.Tensor2D];
    setNativeKernels(false);
    expect(nativeAttentionScores(keys, query, v)).toBeNull();
    setNativeKernels(true);
    setNativePart('attention', false);
    try {
      expect(nativeAttentionScores(keys, query, v)).toBeNull();
    } finally {
      setNativePart('attention', true);
    }
    const on = nativeAttentionScores(keys, query, v);
    expect(on?.shape).toEqual([1, 2]);
    tf.dispose([keys, query, v, on!]);
  });
});
