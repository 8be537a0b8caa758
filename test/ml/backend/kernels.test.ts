// Our kernels against the maths and against tfjs' stock cpu kernels (which we do not replace
// for matMul), on random inputs.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { segmentSumInto } from '../../../src/ml/kernels/unsorted-segment-sum.ts';

type Run = () => tf.Tensor | tf.Tensor[];

/** Runs `fn` on a backend and returns its outputs as plain arrays; checks nothing leaks. */
async function on(backend: 'wasm' | 'cpu', fn: Run): Promise<Float32Array[]> {
  await initBackend(backend, testBackendOptions());
  const before = tf.memory();
  const outs = tf.tidy(fn);
  const list = Array.isArray(outs) ? outs : [outs];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  const after = tf.memory();
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numDataBuffers).toBe(before.numDataBuffers);
  return values;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomArray(n: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, r);
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomArray(tf.util.sizeFromShape(shape), seed), shape);
}

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThan(tol);
}

async function sameOnBoth(fn: Run, tol = 1e-4): Promise<void> {
  const wasm = await on('wasm', fn);
  const cpu = await on('cpu', fn);
  expect(wasm.length).toBe(cpu.length);
  wasm.forEach((w, i) => expectClose(w, cpu[i], tol));
}

beforeAll(async () => {
  await initBackend('wasm', testBackendOptions());
});

describe('UnsortedSegmentSum', () => {
  const ids = [3, 0, 3, 7, -1, 9, 0, 3, 12]; // -1 and 12 are out of range: dropped
  const numSegments = 10;
  const oneHotSum = (x: tf.Tensor2D) => tf.matMul(tf.oneHot(tf.tensor1d(ids, 'int32'), numSegments), x, true, false);

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`equals oneHot(ids)ᵀ·x on ${backend}`, async () => {
      const [ours, maths] = await on(backend, () => {
        const x = rand([ids.length, 6], 1) as tf.Tensor2D;
        return [tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), numSegments), oneHotSum(x)];
      });
      expectClose(ours, maths, 1e-6);
    });

    it(`sums int32 rows with 1-d ids on ${backend}`, async () => {
      const [ours] = await on(backend, () =>
        tf.unsortedSegmentSum(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [4, 1, 2], 'int32'), tf.tensor1d([1, 0, 1, 2], 'int32'), 3),
      );
      expect(Array.from(ours)).toEqual([3, 4, 1 + 5, 2 + 6, 7, 8]);
    });
  }

  it('segmentSumInto matches a hand-computed example', () => {
    const out = new Float32Array(4);
    segmentSumInto(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 1, -1], 2, 2, out);
    expect(Array.from(out)).toEqual([0, 0, 4, 6]);
  });
});

describe('gradient through tf.gather (embedding)', () => {
  const vocab = 50;
  const dim = 8;
  const tokens = [
    [4, 7, 4, 0],
    [49, 7, 1, 1],
  ];
  const grads: Run = () => {
    const table = rand([vocab, dim], 2);
    const w = rand([2, 4, dim], 3);
    const ids = tf.tensor2d(tokens, [2, 4], 'int32');
    const viaGather = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, ids), w)))(table);
    const viaOneHot = tf.grad((e: tf.Tensor) =>
      tf.sum(tf.mul(tf.reshape(tf.matMul(tf.oneHot(tf.reshape(ids, [-1]), vocab), e as tf.Tensor2D), [2, 4, dim]), w)),
    )(table);
    return [viaGather, viaOneHot];
  };

  it('equals the one-hot formulation on wasm and cpu', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const [gather, oneHot] = await on(backend, grads);
      expectClose(gather, oneHot, 1e-5);
    }
  });
});

describe('wasm matMul on the XNNPACK path', () => {
  const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { name: '2d NN', a: [33, 20], b: [20, 17], ta: false, tb: false },
    { name: '2d TN (dB = Aᵀ·dY)', a: [20, 33], b: [20, 17], ta: true, tb: false },
    { name: '2d NT (dA = dY·Bᵀ)', a: [33, 20], b: [17, 20], ta: false, tb: true },
    { name: '2d TT', a: [20, 33], b: [17, 20], ta: true, tb: true },
    { name: '2d NT with few rows, computed as (B·Aᵀ)ᵀ', a: [3, 40], b: [30, 40], ta: false, tb: true },
    { name: '2d NT with one row', a: [1, 40], b: [30, 40], ta: false, tb: true },
    { name: '2d TN into a column (dV = Hᵀ·dS)', a: [40, 30], b: [40, 1], ta: true, tb: false },
    { name: '3d batch · shared 2d', a: [4, 9, 20], b: [20, 17], ta: false, tb: false },
    { name: '3d batch transposed · shared 2d transposed', a: [4, 20, 9], b: [17, 20], ta: true, tb: true },
    { name: '3d batch · 3d batch', a: [4, 9, 20], b: [4, 20, 17], ta: false, tb: false },
    { name: '3d batch · 3d batch, both transposed', a: [4, 20, 9], b: [4, 17, 20], ta: true, tb: true },
    { name: 'shared 2d · 3d batch', a: [9, 20], b: [4, 20, 17], ta: false, tb: false },
    { name: 'rank 4', a: [2, 3, 5, 6], b: [2, 3, 7, 6], ta: false, tb: true },
  ];
  for (const c of cases) {
    it(`${c.name} equals cpu`, async () => {
      await sameOnBoth(() => tf.matMul(rand(c.a, 4), rand(c.b, 5), c.ta, c.tb));
    });
  }

  it('fused matMul (bias + relu, transposed, batched) equals cpu', async () => {
    await sameOnBoth(() => [
      tf.fused.matMul({
        a: rand([4, 20, 9], 6),
        b: rand([17, 20], 7),
        transposeA: true,
        transposeB: true,
        bias: rand([17], 8),
        activation: 'relu',
      }),
      tf.fused.matMul({ a: rand([9, 20], 6), b: rand([20, 17], 7), bias: rand([17], 8), activation: 'elu' }),
    ]);
  });

  it('a column vector used as B forward and transposed backward (attention V) keeps its gradient', async () => {
    // the stock kernel caches packed weights by tensor id: the transposed view of v must not reuse it
    await sameOnBoth(() => {
      const h = rand([40, 30], 23);
      const v = rand([30, 1], 24);
      const w = rand([40, 1], 25);
      return tf.grads((hh: tf.Tensor, vv: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(hh, vv)), w)))([h, v]);
    });
    await sameOnBoth(() => {
      const v = rand([30, 1], 24);
      return [tf.matMul(rand([5, 30], 26), v), tf.matMul(rand([7, 1], 27), v, false, true)];
    });
  });

  it('gradients through matMul (dense layer and batched attention product) equal cpu', async () => {
    await sameOnBoth(() => {
      const x = rand([36, 20], 9); // [B·L, D]: tfjs has no gradient for a batch·shared product
      const w = rand([20, 17], 10);
      const keys = rand([4, 9, 17], 11);
      const f = (xx: tf.Tensor, ww: tf.Tensor) => {
        const h = tf.reshape(tf.tanh(tf.matMul(xx, ww)), [4, 9, 17]); // [B, L, U]
        const scores = tf.matMul(h, keys, false, true); // [B, L, L]
        return tf.sum(tf.mul(tf.softmax(scores), scores));
      };
      const [gx, gw] = tf.grads(f)([x, w]);
      return [gx, gw];
    });
  });
});

describe('wasm Tanh through the vectorised sigmoid', () => {
  it('is within 2.5e-7 of tanh over [-12, 12] and near zero, and keeps its gradient', async () => {
    const xs = Float32Array.from({ length: 4001 }, (_, i) => (i - 2000) * 0.006);
    const tiny = Float32Array.from([0, 1e-8, -1e-8, 1e-4, -3e-5, 88, -88, 1e30, -1e30]);
    const [y, yTiny, grad] = await on('wasm', () => [
      tf.tanh(tf.tensor1d(xs)),
      tf.tanh(tf.tensor1d(tiny)),
      tf.grad((x: tf.Tensor) => tf.sum(tf.tanh(x)))(tf.tensor1d(xs)),
    ]);
    const all = [...xs, ...tiny];
    const got = [...y, ...yTiny];
    const worst = Math.max(...all.map((x, i) => Math.abs(got[i] - Math.tanh(x))));
    expect(worst).toBeLessThan(2.5e-7);
    expect(Math.max(...xs.map((x, i) => Math.abs(grad[i] - (1 - Math.tanh(x) ** 2))))).toBeLessThan(5e-7);
  });
});

describe('wasm data movement', () => {
  it('unstack along every axis and the gradient of stack equal cpu', async () => {
    await sameOnBoth(() => {
      const x = rand([3, 4, 5], 12);
      return [0, 1, 2].flatMap((axis) => tf.unstack(x, axis));
    }, 1e-12);
    await sameOnBoth(() => {
      const parts = [rand([3, 5], 13), rand([3, 5], 14), rand([3, 5], 15)];
      const w = rand([3, 3, 5], 16);
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.stack([a, b, c], 1), w)))(parts);
    }, 1e-12);
  });

  it('pad (rank 1–4, any constant) and the gradient of slice equal cpu', async () => {
    await sameOnBoth(
      () => [
        tf.pad(rand([5], 17), [[2, 1]], 0.5),
        tf.pad(rand([3, 4], 18), [
          [0, 2],
          [1, 0],
        ]),
        tf.pad(
          rand([2, 3, 4], 19),
          [
            [1, 1],
            [0, 0],
            [2, 3],
          ],
          -1,
        ),
        tf.pad(rand([2, 1, 3, 2], 20), [
          [0, 1],
          [1, 1],
          [0, 0],
          [1, 0],
        ]),
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.slice(x, [1, 2], [2, 3]), rand([2, 3], 21))))(rand([4, 6], 22)),
      ],
      1e-12,
    );
  });

  it('identity shares the buffer and disposing either side keeps the other readable', async () => {
    await initBackend('wasm', testBackendOptions());
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x); // the Identity kernel
    expect(tf.memory().numDataBuffers).toBe(before + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });
});
