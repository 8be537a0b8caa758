// The fused GRU cell (native/gru.c through src/ml/kernels/native-gru.ts): gruCell() and its gradients
// with respect to x, r and h equal the tfjs ops' (the native kernels off: XNNPACK) to a relative
// error ≤ 1e-5 over batches 1..64 and units 8..512; one kernel forward and one backward, no gates
// stored when not recording; the addon refuses bad regions without writing; a short training run's
// loss curve with the fused cell equals the tfjs ops' to 1e-4. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { type ModelConfig } from '../../../src/ml/index.ts';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { GRU_CELL, GRU_CELL_GRAD, nativeGruCell } from '../../../src/ml/kernels/native-gru.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { gruCell } from '../../../src/ml/model/gru.ts';
import { expectSameLossCurve } from './loss-curve.ts';
import { expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

// [B, U]: one row, units not a multiple of the 16 lanes, the reference model's 512 at batch 16 and 64
const SHAPES = [
  [1, 8],
  [1, 512],
  [3, 17],
  [7, 100],
  [16, 512],
  [64, 8],
  [64, 512],
];

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe.skipIf(native == null)('native GRU cell', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('gru', true);
  });

  it('gruCell() and its gradients equal the tfjs ops (relative error ≤ 1e-5)', () => {
    const before = tf.memory().numTensors;
    for (const [B, U] of SHAPES) {
      const x = tf.randomNormal([B, 3 * U], 0, 1.5, 'float32', 21) as tf.Tensor2D;
      const r = tf.randomNormal([B, 3 * U], 0, 1.5, 'float32', 22) as tf.Tensor2D;
      const h = tf.randomNormal([B, U], 0, 1, 'float32', 23) as tf.Tensor2D;
      const w = tf.randomNormal([B, U], 0, 1, 'float32', 24);
      const loss = (xx: tf.Tensor, rr: tf.Tensor, hh: tf.Tensor) =>
        tf.sum(tf.mul(gruCell(xx as tf.Tensor2D, rr as tf.Tensor2D, hh as tf.Tensor2D), w)) as tf.Scalar;
      const run = (on: boolean) => {
        setNativeKernels(on);
        const probe = nativeGruCell(x, r, h);
        expect(probe != null, `native ${on}`).toBe(on);
        probe?.dispose();
        return tf.tidy(() => [gruCell(x, r, h), ...tf.grads(loss)([x, r, h])]);
      };
      const nat = run(true);
      const ref = run(false);
      const names = ['h′', 'd x', 'd r', 'd h'];
      nat.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        expect(relErr(t.dataSync(), ref[i].dataSync()), `${names[i]} [${B}, ${U}]`).toBeLessThanOrEqual(1e-5);
      });
      tf.dispose([...nat, ...ref, x, r, h, w]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs one kernel forward and one backward, and stores no gates when not recording', async () => {
    const x = tf.randomNormal([2, 48], 0, 1, 'float32', 1) as tf.Tensor2D;
    const r = tf.randomNormal([2, 48], 0, 1, 'float32', 2) as tf.Tensor2D;
    const h = tf.randomNormal([2, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
    const profile = await tf.profile(() => tf.tidy(() => gruCell(x, r, h).dataSync()));
    expect(profile.kernels.map((k) => k.name)).toEqual([GRU_CELL]);
    expect(profile.kernels[0].outputShapes).toEqual([[2, 16]]);
    const graded = await tf.profile(() =>
      tf.tidy(() =>
        tf
          .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(gruCell(a as tf.Tensor2D, b as tf.Tensor2D, h)))([x, r])[0]
          .dataSync(),
      ),
    );
    const names = graded.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('GlimpseGru'))).toEqual([GRU_CELL, GRU_CELL_GRAD]);
    tf.dispose([x, r, h]);
  });

  it('the addon computes on a plain heap and refuses bad regions without writing', () => {
    const addon = native?.addon as NativeAddon;
    const heap = new Uint8Array(512);
    const f = new Float32Array(heap.buffer);
    // B 1, U 1: x at 0 (3), r at 16 (3), h at 32, hNew at 48, gates at 64 (3)
    f.set([0.3, -0.4, 0.5], 0);
    f.set([0.2, 0.1, -0.7], 4);
    f.set([0.9], 8);
    addon.gruCell(heap, Float64Array.of(0, 16, 32, 48, 64, 1, 1));
    const z = sigmoid(0.5);
    const s = sigmoid(-0.3);
    const c = Math.tanh(0.5 + s * -0.7);
    expect(f[12]).toBeCloseTo(c + z * (0.9 - c), 6);
    expect([f[16], f[17], f[18]].map((v) => Number(v.toFixed(6)))).toEqual([z, s, c].map((v) => Number(v.toFixed(6))));
    // gradient: dy at 96, dx at 128 (3), dr at 160 (3), dh at 192
    f[24] = 2;
    addon.gruCellGrad(heap, Float64Array.of(64, 16, 32, 96, 128, 160, 192, 1, 1));
    const dn = 2 * (1 - z) * (1 - c * c);
    const dz = 2 * (0.9 - c) * z * (1 - z);
    const ds = dn * -0.7 * s * (1 - s);
    for (const [i, v] of [dz, ds, dn].entries()) expect(f[32 + i]).toBeCloseTo(v, 6);
    for (const [i, v] of [dz, ds, dn * s].entries()) expect(f[40 + i]).toBeCloseTo(v, 6);
    expect(f[48]).toBeCloseTo(2 * z, 6);
    const good = [0, 16, 32, 48, 64, 1, 1];
    expectRefusals(addon.gruCell, heap, good, [
      [0, 504], // x past the end
      [1, 2], // misaligned
      [3, 0], // hNew over x
      [4, 48], // gates over hNew
      [5, 0], // B 0
      [6, 2 ** 31], // too large
      [6, 1.5],
    ]);
    expectRefusals(
      addon.gruCellGrad,
      heap,
      [64, 16, 32, 96, 128, 160, 192, 1, 1],
      [
        [4, 64], // dx over gates
        [6, 160], // dh over dr
        [5, 508], // dr past the end
        [8, 0],
      ],
    );
    expect(() => addon.gruCell(heap, new Float64Array(6))).toThrow(RangeError);
  });

  it('is not used with the native kernels off, nor with their gru part off, nor on other shapes', () => {
    const [x, r, h] = [tf.zeros([2, 6]) as tf.Tensor2D, tf.zeros([2, 6]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D];
    setNativeKernels(false);
    expect(nativeGruCell(x, r, h)).toBeNull();
    setNativeKernels(true);
    setNativePart('gru', false);
    expect(nativeGruCell(x, r, h)).toBeNull();
    setNativePart('gru', true);
    const wide = tf.zeros([2, 9]) as tf.Tensor2D;
    expect(nativeGruCell(wide, r, h)).toBeNull();
    const on = nativeGruCell(x, r, h);
    expect(on?.shape).toEqual([2, 2]);
    tf.dispose([x, r, h, wide, on!]);
  });

  it('a short training run: the loss curve with the fused cell equals the tfjs ops’ (≤ 1e-4)', () => {
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
        feature: (i) => Math.sin(i * 0.37),
        captions: [
          [1, 5, 9, 9, 2, 0],
          [1, 7, 2, 0, 0, 0],
          [1, 39, 3, 12, 30, 2],
          [1, 4, 4, 6, 2, 0],
        ],
        modelSeed: 7,
      },
      'gru',
    );
  });
});
