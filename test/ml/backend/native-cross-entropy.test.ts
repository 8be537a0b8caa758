// The fused cross-entropy (native/cross_entropy.c through src/ml/kernels/native-cross-entropy.ts):
// −log softmax(logits)[target] per row and crossEntropyOfRows' mean, with their gradients, equal the
// tfjs formulation (the native kernels off) to a relative error ≤ 1e-5 over shapes from [1, 1] to the
// reference's [523, 5000], large logits and targets outside the vocabulary included; one kernel
// forward and one backward, nothing stored when not recording; the addon refuses bad regions
// without writing; a short training run's loss curve equals the tfjs formulation's to 1e-4.
// Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import type { ModelConfig } from '../../../src/ml/index.ts';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD, nativeCrossEntropyRows } from '../../../src/ml/kernels/native-cross-entropy.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { crossEntropyOfRows } from '../../../src/ml/model/loss.ts';
import { expectSameLossCurve } from './loss-curve.ts';
import { expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

// [N, V, logit scale]: one row of two words, V not a multiple of the 16 lanes, the reference at batch 16 and 64
const SHAPES = [
  [1, 2, 1],
  [1, 5000, 1],
  [3, 17, 1],
  [7, 33, 30], // large logits: the max shift matters
  [40, 40, 4],
  [131, 5000, 1],
  [523, 5000, 2],
];

/** the tfjs formulation per row (what crossEntropyOfRows computes with the native kernels off) */
function stockRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[1])), 1)) as tf.Tensor1D;
}

/** targets in [0, V) with, from 3 rows on, one below and one past the vocabulary (they pick nothing) */
function targetsFor(N: number, V: number): tf.Tensor1D {
  const t = Array.from({ length: N }, (_, n) => (n * 7919 + 3) % V);
  if (N >= 3) (t[1] = -1), (t[N - 1] = V);
  return tf.tensor1d(t, 'int32');
}

describe.skipIf(native == null)('native cross-entropy (log-softmax, pick and gradient fused)', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('cross-entropy', true);
  });

  it('per row, the mean and their gradients equal the tfjs formulation (relative error ≤ 1e-5)', () => {
    const before = tf.memory().numTensors;
    for (const [N, V, scale] of SHAPES) {
      const logits = tf.randomNormal([N, V], 0, scale, 'float32', 41) as tf.Tensor2D;
      const targets = targetsFor(N, V);
      const w = tf.randomNormal([N], 0, 1, 'float32', 42);
      const run = (on: boolean) => {
        setNativeKernels(on);
        const probe = nativeCrossEntropyRows(logits, targets);
        expect(probe != null, `native ${on}`).toBe(on);
        probe?.dispose();
        return tf.tidy(() => {
          const rows = (x: tf.Tensor) => nativeCrossEntropyRows(x as tf.Tensor2D, targets) ?? stockRows(x as tf.Tensor2D, targets);
          const weighted = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(rows(x), w)))(logits);
          const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => crossEntropyOfRows(x as tf.Tensor2D, targets))(logits);
          return [rows(logits), weighted, value, grad];
        });
      };
      const nat = run(true);
      const ref = run(false);
      const names = ['rows', 'd logits (weighted rows)', 'mean', 'd logits (mean)'];
      nat.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        expect(relErr(t.dataSync(), ref[i].dataSync()), `${names[i]} [${N}, ${V}] ×${scale}`).toBeLessThanOrEqual(1e-5);
      });
      if (N >= 3) expect(nat[0].dataSync()[1]).toBe(0); // a target outside the vocabulary: no loss
      tf.dispose([...nat, ...ref, logits, targets, w]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs one kernel forward and one backward, and stores nothing for a gradient when not recording', async () => {
    const logits = tf.randomNormal([4, 50], 0, 1, 'float32', 1) as tf.Tensor2D;
    const targets = tf.tensor1d([3, 0, 49, 7], 'int32');
    const profile = await tf.profile(() => tf.tidy(() => nativeCrossEntropyRows(logits, targets)!.dataSync()));
    expect(profile.kernels.map((k) => k.name)).toEqual([CROSS_ENTROPY]);
    expect(profile.kernels[0].outputShapes).toEqual([[4]]);
    const graded = await tf.profile(() =>
      tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => crossEntropyOfRows(x as tf.Tensor2D, targets))(logits)
          .dataSync(),
      ),
    );
    const names = graded.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('GlimpseCross'))).toEqual([CROSS_ENTROPY, CROSS_ENTROPY_GRAD]);
    for (const stock of ['Max', 'Exp', 'Log', 'OneHot']) expect(names, stock).not.toContain(stock);
    // nothing computed over [N, V] but the gradient kernel (no one-hot, no Casts; Identity shares its input)
    const wide = graded.kernels.filter(
      (k) => k.name !== 'Identity' && k.outputShapes.some((s) => s != null && tf.util.sizeFromShape(s) === 200),
    );
    expect(wide.map((k) => k.name)).toEqual([CROSS_ENTROPY_GRAD]);
    tf.dispose([logits, targets]);
  });

  it('the addon computes on a plain heap and refuses bad regions without writing', () => {
    const addon = native?.addon as NativeAddon;
    const heap = new Uint8Array(256);
    const f = new Float32Array(heap.buffer);
    const i32 = new Int32Array(heap.buffer);
    // N 2, V 3: logits at 0, targets at 32, loss at 48, stats at 64, dy at 96, dx at 128
    f.set([1, 2, 3, -1, 0.5, 0.25], 0);
    i32.set([2, 0], 8);
    addon.crossEntropy(heap, Float64Array.of(0, 32, 48, 64, 2, 3));
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    expect(f[12]).toBeCloseTo(lse([1, 2, 3]) - 3, 6);
    expect(f[13]).toBeCloseTo(lse([-1, 0.5, 0.25]) + 1, 6);
    expect(f[16]).toBe(3); // row 0's max
    expect(f[17]).toBeCloseTo(lse([-2, -1, 0]), 6);
    f.set([2, -0.5], 24);
    addon.crossEntropyGrad(heap, Float64Array.of(0, 32, 64, 96, 128, 2, 3));
    const soft = (r: number[], v: number) => Math.exp(r[v] - lse(r));
    expect(f[32]).toBeCloseTo(2 * soft([1, 2, 3], 0), 6);
    expect(f[34]).toBeCloseTo(2 * (soft([1, 2, 3], 2) - 1), 6);
    expect(f[35]).toBeCloseTo(-0.5 * (soft([-1, 0.5, 0.25], 0) - 1), 6);
    const good = [0, 32, 48, 64, 2, 3];
    expectRefusals(addon.crossEntropy, heap, good, [
      [0, 236], // logits past the end
      [1, 2], // misaligned
      [2, 0], // loss over logits
      [3, 48], // stats over loss
      [4, 0], // N 0
      [5, 2 ** 31], // too large
      [5, 1.5],
    ]);
    expectRefusals(
      addon.crossEntropyGrad,
      heap,
      [0, 32, 64, 96, 128, 2, 3],
      [
        [4, 0], // dx over logits
        [4, 64], // dx over stats
        [3, 254], // dy misaligned
        [6, 0],
      ],
    );
    expect(() => addon.crossEntropy(heap, new Float64Array(5))).toThrow(RangeError);
  });

  it('is not used with the native kernels off, nor with its part off, nor for empty logits', () => {
    const logits = tf.zeros([2, 4]) as tf.Tensor2D;
    const targets = tf.tensor1d([1, 3], 'int32');
    setNativeKernels(false);
    expect(nativeCrossEntropyRows(logits, targets)).toBeNull();
    setNativeKernels(true);
    setNativePart('cross-entropy', false);
    expect(nativeCrossEntropyRows(logits, targets)).toBeNull();
    setNativePart('cross-entropy', true);
    const [empty, none] = [tf.zeros([0, 4]) as tf.Tensor2D, tf.tensor1d([], 'int32')];
    expect(nativeCrossEntropyRows(empty, none)).toBeNull();
    const on = nativeCrossEntropyRows(logits, targets);
    expect(Array.from(on!.dataSync())).toEqual([Math.fround(Math.log(4)), Math.fround(Math.log(4))]);
    tf.dispose([logits, targets, empty, none, on!]);
  });

  it('a short training run: the loss curve with the fused loss equals the tfjs formulation’s (≤ 1e-4)', () => {
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
        config,
        feature: (i) => Math.sin(i * 0.37),
        captions: [
          [1, 5, 9, 9, 2, 0],
          [1, 7, 2, 0, 0, 0],
          [1, 39, 3, 12, 30, 2],
          [1, 4, 4, 6, 2, 0],
        ],
        modelSeed: 11,
      },
      'cross-entropy',
    );
  });
});
