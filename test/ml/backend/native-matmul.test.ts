// The native products (native/gemm.c through src/ml/kernels/native-matmul.ts) against wasm's XNNPACK
// kernels in the same process (the native path switched off), over shapes, transposes, batch
// broadcasts, biases and activations; heap growth; and a short training run's loss curve.
// Skipped where the addon is not built (then the product runs on XNNPACK, which the other
// backend tests cover).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import { setNativeKernels } from '../../../src/ml/kernels/native-kernel.ts';
import { planGemm } from '../../../src/ml/kernels/native-matmul.ts';
import { Adam } from '../../../src/ml/optimizer.ts';
import { countCalls, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();
const built = native != null;

function rand(shape: number[], seed: number): tf.Tensor {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5);
  return tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, next), shape);
}

/** Runs fn with the native path (counting its GEMM calls), then `ref` (default fn) on XNNPACK. */
function both(fn: () => tf.Tensor, ref: () => tf.Tensor = fn): { native: Float32Array; xnnpack: Float32Array; calls: number } {
  const counter = countCalls(native, 'gemm');
  const values = (f: () => tf.Tensor) => {
    const t = tf.tidy(f);
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  };
  try {
    setNativeKernels(true);
    const nat = values(fn);
    counter.restore();
    setNativeKernels(false);
    return { native: nat, xnnpack: values(ref), calls: counter.calls() };
  } finally {
    counter.restore();
    setNativeKernels(true);
  }
}

interface Case {
  a: number[];
  b: number[];
  ta?: boolean;
  tb?: boolean;
}

// [M, K]·[K, N] with 1-row, 1-column and 1-deep cases; batches shared on either side; rank 4
const CASES: Case[] = [
  { a: [7, 5], b: [5, 3] },
  { a: [1, 33], b: [33, 17] },
  { a: [1, 33], b: [17, 33], tb: true },
  { a: [33, 1], b: [33, 17], ta: true },
  { a: [9, 33], b: [33, 1] },
  { a: [33, 9], b: [1, 33], ta: true, tb: true },
  { a: [1, 1], b: [1, 1] },
  { a: [1, 64], b: [64, 1] },
  { a: [12, 1], b: [1, 20] },
  { a: [1, 12], b: [1, 20], ta: true },
  { a: [40, 70], b: [70, 50], ta: false, tb: false },
  { a: [70, 40], b: [70, 50], ta: true, tb: false },
  { a: [40, 70], b: [50, 70], ta: false, tb: true },
  { a: [70, 40], b: [50, 70], ta: true, tb: true },
  { a: [3, 16, 24], b: [24, 8] },
  { a: [3, 16, 24], b: [1, 8, 24], tb: true },
  { a: [3, 24, 16], b: [24, 8], ta: true },
  { a: [1, 16, 24], b: [4, 24, 8] },
  { a: [4, 1, 64], b: [4, 1, 32], ta: true },
  { a: [4, 1, 32], b: [4, 64, 32], tb: true },
  { a: [5, 6, 7], b: [5, 7, 1] },
  { a: [2, 3, 4, 5], b: [2, 3, 5, 6] },
  { a: [2, 3, 5, 4], b: [5, 6], ta: true },
  { a: [130, 300], b: [300, 257] },
];

const BIASES = [null, [], [1], 'N', '1N'] as const;
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'] as const;

function activate(x: tf.Tensor, activation: (typeof ACTIVATIONS)[number]): tf.Tensor {
  if (activation === 'relu') return tf.relu(x);
  if (activation === 'relu6') return tf.relu6(x);
  if (activation === 'sigmoid') return tf.sigmoid(x);
  if (activation === 'leakyrelu') return tf.leakyRelu(x, 0.1);
  if (activation === 'elu') return tf.elu(x);
  return x;
}

function outCols(c: Case): number {
  return c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
}

beforeAll(async () => {
  await initBackend('wasm', { nativeKernels: true });
});

afterEach(() => setNativeKernels(true));

describe.skipIf(!built)('native products vs XNNPACK', () => {
  it('reports itself in the backend name', async () => {
    const info = await initBackend('wasm', { nativeKernels: true });
    expect(info.name).toBe('wasm+openblas');
    expect(info.notes.some((n) => /^matrix products, .* on the native kernels: OpenBLAS/.test(n))).toBe(true);
  });

  it.each(CASES)('matMul %j equals XNNPACK (rel. err ≤ 1e-5)', (c) => {
    const [a, b] = [rand(c.a, 1), rand(c.b, 2)];
    const r = both(() => tf.matMul(a, b, c.ta, c.tb));
    expect(r.calls).toBe(1);
    expect(relErr(r.native, r.xnnpack)).toBeLessThanOrEqual(1e-5);
    tf.dispose([a, b]);
  });

  it('fused matMul: every bias form × every activation equals XNNPACK', () => {
    for (const c of CASES) {
      const [a, b] = [rand(c.a, 3), rand(c.b, 4)];
      const n = outCols(c);
      for (const biasForm of BIASES) {
        const shape = biasForm == null ? null : biasForm === 'N' ? [n] : biasForm === '1N' ? [1, n] : [...biasForm];
        const bias = shape == null ? undefined : rand(shape, 5);
        for (const activation of ACTIVATIONS) {
          // reference: the XNNPACK product, then bias and activation as separate stock ops (wasm's
          // fused kernel takes only rank-1 biases, and mis-adds one when only B has a batch)
          const r = both(
            () => tf.fused.matMul({ a, b, transposeA: c.ta, transposeB: c.tb, bias, activation, leakyreluAlpha: 0.1 }),
            () => activate(bias == null ? tf.matMul(a, b, c.ta, c.tb) : tf.add(tf.matMul(a, b, c.ta, c.tb), bias), activation),
          );
          expect(r.calls, `${JSON.stringify(c)} ${biasForm} ${activation}`).toBe(1);
          expect(relErr(r.native, r.xnnpack), `${JSON.stringify(c)} ${biasForm} ${activation}`).toBeLessThanOrEqual(1e-5);
        }
        bias?.dispose();
      }
      tf.dispose([a, b]);
    }
  });

  it('products it does not take go to XNNPACK and stay correct', () => {
    const [a, b] = [rand([6, 10], 6), rand([10, 4], 7)];
    const alpha = rand([4], 9);
    for (const fn of [() => tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: alpha })]) {
      const r = both(fn);
      expect(r.calls).toBe(0);
      expect(relErr(r.native, r.xnnpack)).toBeLessThanOrEqual(1e-6);
    }
    expect(planGemm(rand([2, 1, 3, 4], 1), rand([1, 3, 4, 5], 2), false, false, undefined, 'linear')).toBeNull();
    expect(planGemm(rand([2, 3], 1).toInt(), rand([3, 2], 2), false, false, undefined, 'linear')).toBeNull();
    expect(planGemm(a, b, false, false, rand([6, 4], 3), 'linear')).toBeNull(); // a bias per element
    tf.dispose([a, b, alpha]);
  });

  it('gradients through matMul and fused matMul equal XNNPACK', () => {
    const [x, w, bias] = [rand([40, 24], 12), rand([24, 9], 13), rand([9], 14)];
    for (const i of [0, 1, 2]) {
      const r = both(() => {
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.fused
            .matMul({ a: xx as tf.Tensor2D, b: ww as tf.Tensor2D, bias: bb, activation: 'elu' })
            .square()
            .sum(),
        )([x, w, bias]);
        return g[i];
      });
      expect(r.calls).toBeGreaterThan(0);
      expect(relErr(r.native, r.xnnpack)).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, w, bias]);
  });

  it('re-reads the heap when the output allocation grows it', () => {
    const wasm = tf.backend() as BackendWasm;
    const heapBytes = () => (wasm.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
    const before = heapBytes();
    const rows = 2048;
    const cols = Math.ceil((before / 4 + 1) / rows); // an output larger than the whole heap now
    const [a, b] = [rand([rows, 1], 15), rand([1, cols], 16)];
    const c = tf.matMul(a, b);
    expect(heapBytes()).toBeGreaterThan(before);
    const [av, bv, cv] = [a.dataSync(), b.dataSync(), c.dataSync()];
    let worst = 0;
    for (let i = 0; i < rows; i += 7)
      for (let j = 0; j < cols; j += 13) worst = Math.max(worst, Math.abs(cv[i * cols + j] - av[i] * bv[j]));
    expect(worst).toBeLessThanOrEqual(1e-7);
    tf.dispose([a, b, c]);
  });

  it("a short training run's loss curve equals the XNNPACK run's within 1e-4", () => {
    const config: ModelConfig = {
      encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
      gridSize: 4,
      encoderDim: 48,
      embeddingDim: 32,
      units: 64,
      vocabSize: 120,
      maxLength: 8,
      attentionLambda: 0.5,
    };
    const features = rand([6, 16, 96], 17) as tf.Tensor3D;
    const captions = tf.tensor2d(
      Array.from({ length: 6 }, (_, r) => [
        1,
        ...Array.from({ length: 6 }, (_, t) => (t < 3 + (r % 4) ? 4 + ((r * 31 + t * 17) % 116) : 0)),
        0,
      ]),
      [6, 8],
      'int32',
    );
    const curve = (on: boolean): number[] => {
      setNativeKernels(on);
      const model = CaptionModel.create(config, 21, 96);
      const vars = model.weights.list();
      const adam = new Adam(model.weights.names, vars, 3e-3);
      const losses: number[] = [];
      for (let step = 0; step < 12; step++) {
        losses.push(
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => model.loss(features, captions), vars);
            // clipped inside apply: with the native kernels on, the native Adam and sums of squares
            adam.apply(
              vars.map((v) => grads[v.name]),
              5,
            );
            return value.dataSync()[0];
          }),
        );
      }
      adam.dispose();
      model.dispose();
      return losses;
    };
    const before = tf.memory().numTensors;
    const nat = curve(true);
    const ref = curve(false);
    expect(tf.memory().numTensors).toBe(before);
    expect(nat[nat.length - 1]).toBeLessThan(nat[0]); // it learns
    for (let i = 0; i < nat.length; i++) expect(Math.abs(nat[i] - ref[i]), `step ${i}`).toBeLessThanOrEqual(1e-4);
    tf.dispose([features, captions]);
  });
});
