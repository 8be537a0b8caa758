// The teacher-forced recurrence in one native call (native/recurrence.c through
// src/ml/kernels/native-recurrence.ts): teacherForcedStates' states, attention weights and contexts,
// and the gradients of every weight and of the features through them, equal the tfjs ops' (the
// native kernels off: the stock wasm kernels) to a relative error ≤ 1e-5 over a sweep of batch,
// length, cells, units and feature depth, with and without context dropout; one kernel forward and
// one backward for the whole recurrence, nothing stored when not recording; the addon refuses bad
// regions without writing; a short training run's loss curve (deep output, context dropout, the
// attention penalty) equals the step-by-step kernels' to 1e-4. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { nativeRecurrenceOn, RECURRENCE, RECURRENCE_GRAD } from '../../../src/ml/kernels/native-recurrence.ts';
import { encodeForAttention, teacherForcedStates } from '../../../src/ml/model/decoder.ts';
import { expectSameLossCurve } from './loss-curve.ts';
import { expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

// [B, T, L (grid² cells), U, E]: one sequence of two steps and one cell, sizes off the 16 lanes, the reference
// model's 512 units at batch 16
const SHAPES: { B: number; T: number; grid: number; U: number; E: number; keep: boolean }[] = [
  { B: 1, T: 2, grid: 1, U: 8, E: 8, keep: false }, // (T 1: tfjs's Unstack gradient fails on the reference path)
  { B: 3, T: 5, grid: 3, U: 17, E: 13, keep: true },
  { B: 2, T: 7, grid: 4, U: 40, E: 24, keep: false },
  { B: 16, T: 6, grid: 7, U: 64, E: 96, keep: true },
  { B: 16, T: 4, grid: 4, U: 512, E: 64, keep: false },
];

function config(grid: number, U: number, E: number): ModelConfig {
  return {
    encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
    gridSize: grid,
    encoderDim: E,
    embeddingDim: 16,
    units: U,
    vocabSize: 30,
    maxLength: 8,
    attentionLambda: 0.5,
    deepOutput: true,
  };
}

describe.skipIf(native == null)('native teacher-forced recurrence', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    for (const part of ['recurrence', 'gru', 'attention-softmax'] as const) setNativePart(part, true);
  });

  it('states, α, contexts and every gradient equal the tfjs ops (relative error ≤ 1e-5)', () => {
    const before = tf.memory().numTensors;
    for (const { B, T, grid, U, E, keep } of SHAPES) {
      const L = grid * grid;
      const model = CaptionModel.create(config(grid, U, E), 3, E);
      const initial = tf.randomNormal([B, L, E], 0, 1, 'float32', 5);
      const features = tf.variable(initial, true, `features${B}_${T}_${U}`);
      initial.dispose();
      const inputs = tf.tensor2d(
        Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 30),
        [B, T],
        'int32',
      );
      const scales = keep
        ? tf.tidy(() => tf.div(tf.cast(tf.greaterEqual(tf.randomUniform([T, B, 1], 0, 1, 'float32', 9), 0.3), 'float32'), 0.7))
        : undefined;
      const keepScales = scales && (tf.unstack(scales) as tf.Tensor2D[]);
      const w = [U, L, E].map((n, i) => tf.randomNormal([B * T, n], 0, 1, 'float32', 11 + i));
      const vars = [...model.weights.list(), features];
      const run = (on: boolean) => {
        setNativeKernels(on);
        expect(nativeRecurrenceOn()).toBe(on);
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const out = teacherForcedStates(model.weights, encodeForAttention(model.weights, features as tf.Tensor3D), inputs, keepScales);
            const parts = [out.states, out.alphas.reshape([B * T, L]), out.contexts!];
            return tf.addN(parts.map((p, i) => tf.sum(tf.mul(p, w[i])))) as tf.Scalar;
          }, vars);
          const out = teacherForcedStates(model.weights, encodeForAttention(model.weights, features as tf.Tensor3D), inputs, keepScales);
          const reached = vars.filter((v) => grads[v.name] != null);
          return [value, out.states, out.alphas, out.contexts!, ...reached.map((v) => grads[v.name])];
        });
      };
      const nat = run(true);
      const ref = run(false);
      // the encoder's projection (the features are given) and the output layers are outside it
      const reached = model.weights.names.filter((n) => !n.startsWith('decoder/fc') && !n.startsWith('encoder/'));
      expect(nat.length).toBe(4 + reached.length + 1); // every weight of the recurrence, and the features
      const names = ['loss', 'states', 'α', 'contexts', ...reached.map((n) => `d ${n}`), 'd features'];
      nat.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        expect(relErr(t.dataSync(), ref[i].dataSync()), `${names[i]} B ${B} T ${T} L ${L} U ${U} E ${E}`).toBeLessThanOrEqual(1e-5);
      });
      tf.dispose([...nat, ...ref, features, inputs, ...(keepScales ?? []), ...(scales ? [scales] : []), ...w]);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same bits on 1 and on 2 OpenBLAS threads (the sequences split in parts), for exact resume', () => {
    const addon = native?.addon as NativeAddon;
    const threads = native?.threads ?? 1;
    // B 16, T 4, U 256: 2e7 multiply-adds, above the split's threshold (2^22); B 10: parts of 8 and 2 rows
    for (const [B, T, grid, U, E] of [
      [16, 4, 4, 256, 64],
      [10, 3, 3, 256, 40],
    ]) {
      const model = CaptionModel.create(config(grid, U, E), 4, E);
      const features = tf.randomNormal([B, grid * grid, E], 0, 1, 'float32', 6) as tf.Tensor3D;
      const inputs = tf.tensor2d(
        Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 30),
        [B, T],
        'int32',
      );
      const run = (n: number) => {
        addon.setThreads(n);
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const out = teacherForcedStates(model.weights, encodeForAttention(model.weights, features), inputs);
            return tf.add(tf.sum(tf.square(out.states)), tf.sum(tf.mul(out.alphas, out.alphas))) as tf.Scalar;
          }, model.weights.list());
          return [value, ...Object.values(grads)].map((t) => t.dataSync() as Float32Array);
        });
      };
      const one = run(1);
      const two = run(2);
      addon.setThreads(threads, native?.parallelMin);
      expect(two.length).toBe(one.length);
      for (const [i, a] of one.entries()) {
        const differing = a.filter((v, j) => !Object.is(v, two[i][j])).length;
        expect(differing, `tensor ${i} of ${one.length}`).toBe(0);
      }
      tf.dispose([features, inputs]);
      model.dispose();
    }
  });

  it('runs one kernel forward and one backward for all steps, and stores nothing when not recording', async () => {
    const model = CaptionModel.create(config(2, 16, 8), 1, 8);
    const features = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const inputs = tf.tensor2d([1, 4, 5, 6, 1, 7, 8, 0], [2, 4], 'int32');
    const forward = await tf.profile(() =>
      tf.tidy(() => teacherForcedStates(model.weights, encodeForAttention(model.weights, features), inputs).states.dataSync()),
    );
    const ours = forward.kernels.filter((k) => k.name.startsWith('Glimpse'));
    expect(ours.map((k) => k.name)).toEqual([RECURRENCE]);
    expect(ours[0].outputShapes).toEqual([[2, 4, 16 + 4 + 8]]);
    const graded = await tf.profile(() =>
      tf.tidy(() => {
        const f = () => tf.sum(teacherForcedStates(model.weights, encodeForAttention(model.weights, features), inputs).states) as tf.Scalar;
        tf.variableGrads(f, model.weights.list()).value.dataSync();
      }),
    );
    expect(graded.kernels.map((k) => k.name).filter((n) => n.startsWith('Glimpse'))).toEqual([RECURRENCE, RECURRENCE_GRAD]);
    tf.dispose([features, inputs]);
    model.dispose();
  });

  it('the addon computes on a plain heap and refuses bad regions without writing', () => {
    const addon = native?.addon as NativeAddon;
    // B 1, T 2, L 1, U 1, E 1: one cell, so α = 1 and ctx = the feature. Floats: keys 0, features 1,
    // xEmb 2..7 [1, 2, 3], wQuery 8, bQuery 9, wRec 10..12, bRec 13..15, wContext 16..18, v 19, keep 20..21,
    // out 24..29 [1, 2, 3], saved 32..41
    const heap = new Uint8Array(4096);
    const f = new Float32Array(heap.buffer);
    f.set([0.2], 0);
    f.set([0.8], 1);
    f.set([0.1, -0.2, 0.3, 0.05, 0.4, -0.1], 2);
    f.set([0.3, 0.01], 8);
    f.set([0.5, -0.6, 0.7, 0.02, -0.03, 0.04], 10);
    f.set([0.9, -0.4, 0.2], 16);
    f.set([1.5], 19);
    f.set([2, 0], 20);
    const good = [0, 4, 8, 32, 36, 40, 52, 64, 76, 80, 96, 128, 1, 2, 1, 1, 1];
    addon.recurrence(heap, Float64Array.from(good));
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    let h = 0;
    let last = { z: 0, s: 0, c: 0, rn: 0, hPrev: 0 };
    for (let t = 0; t < 2; t++) {
      const P = [h * f[8] + f[9], ...[0, 1, 2].map((j) => h * f[10 + j] + f[13 + j])];
      const g = 0.8 * f[20 + t];
      const x = [0, 1, 2].map((j) => g * f[16 + j] + f[2 + 3 * t + j]);
      const z = sigmoid(x[0] + P[1]);
      const s = sigmoid(x[1] + P[2]);
      const c = Math.tanh(x[2] + s * P[3]);
      last = { z, s, c, rn: P[3], hPrev: h };
      h = c + z * (h - c);
      expect(f[24 + 3 * t], `h step ${t}`).toBeCloseTo(h, 6);
      expect(f[25 + 3 * t]).toBeCloseTo(1, 6);
      expect(f[26 + 3 * t]).toBeCloseTo(0.8, 6);
    }
    // gradient: dy 64..69 (floats), dkeys 80, dfeatures 84, dxEmb 88..93, dwQuery 96, dbQuery 100,
    // dwRec 104..106, dbRec 108..110, dwContext 116..118, dv 120
    const gradGood = [0, 4, 32, 40, 64, 76, 80, 96, 128, 256, 320, 336, 352, 384, 400, 416, 432, 464, 480, 1, 2, 1, 1, 1];
    f.fill(0.5, 64, 70);
    addon.recurrenceGrad(heap, Float64Array.from(gradGood));
    // the last step's x gradient is the GRU cell's alone: dy of its state only
    const { z, s, c, rn, hPrev } = last;
    const dn = 0.5 * (1 - z) * (1 - c * c);
    const dz = 0.5 * (hPrev - c) * z * (1 - z);
    const ds = dn * rn * s * (1 - s);
    for (const [i, v] of [dz, ds, dn].entries()) expect(f[91 + i], `dx ${i}`).toBeCloseTo(v, 6);
    expectRefusals(addon.recurrence, heap, good, [
      [0, 4093], // keys past the end
      [1, 2], // misaligned
      [10, 0], // out over keys
      [11, 100], // saved over out
      [12, 0], // B 0
      [13, 2 ** 31], // too large
      [16, 1.5],
    ]);
    expectRefusals(addon.recurrenceGrad, heap, gradGood, [
      [10, 64], // dkeys over wContext
      [15, 352], // dwRec over dxEmb
      [18, 4094], // dv misaligned
      [23, 0], // E 0
      [0, 4093], // keys past the end
    ]);
    expect(() => addon.recurrence(heap, new Float64Array(16))).toThrow(RangeError);
  });

  it('is not used with the native kernels off, nor with its part (or the gru or attention-softmax part) off', () => {
    expect(nativeRecurrenceOn()).toBe(true);
    setNativeKernels(false);
    expect(nativeRecurrenceOn()).toBe(false);
    setNativeKernels(true);
    for (const part of ['recurrence', 'gru', 'attention-softmax'] as const) {
      setNativePart(part, false);
      expect(nativeRecurrenceOn(), part).toBe(false);
      setNativePart(part, true);
    }
  });

  it('a short training run: the loss curve in one call equals the step-by-step kernels’ (≤ 1e-4)', () => {
    const cfg: ModelConfig = { ...config(4, 32, 20), contextDropout: 0.2 };
    expectSameLossCurve(
      {
        config: cfg,
        feature: (i) => Math.sin(i * 0.37),
        captions: [
          [1, 5, 9, 9, 2, 0],
          [1, 7, 2, 0, 0, 0],
          [1, 29, 3, 12, 20, 2],
          [1, 4, 4, 6, 2, 0],
        ],
        modelSeed: 7,
        lossSeeds: true,
      },
      'recurrence',
    );
  });
});
