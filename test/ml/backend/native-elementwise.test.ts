// Native Tanh, Exp and Sum (native/elementwise.c through src/ml/kernels/native-elementwise.ts) against
// the maths and against wasm's own kernels in the same process. Skipped without the addon (not in CI).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { sumLayout } from '../../../src/ml/kernels/native-elementwise.ts';
import { setNativeKernels } from '../../../src/ml/kernels/native-kernel.ts';
import { countCalls, nativeForTests } from './native.ts';

const native = nativeForTests();

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), (s / 2 ** 32 - 0.5) * scale);
  return tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, next), shape);
}

/** fn with the native kernels (counting addon calls of `name`), then with wasm's own. */
function both(name: 'tanh' | 'exp' | 'sumAxes', fn: () => tf.Tensor): { native: tf.Tensor; wasm: tf.Tensor; calls: number } {
  const counter = countCalls(native, name);
  try {
    setNativeKernels(true);
    const n = fn();
    counter.restore();
    setNativeKernels(false);
    return { native: n, wasm: fn(), calls: counter.calls() };
  } finally {
    counter.restore();
    setNativeKernels(true);
  }
}

beforeAll(async () => {
  await initBackend('wasm', { nativeKernels: true });
});

describe('sumLayout', () => {
  it('views adjacent axes as [outer, reduce, inner] and refuses the rest', () => {
    expect(sumLayout([16, 64, 512], [1])).toEqual([16, 64, 512]);
    expect(sumLayout([2, 3, 4, 5], [2, 1])).toEqual([2, 12, 5]);
    expect(sumLayout([7, 3], [0, 1])).toEqual([1, 21, 1]);
    expect(sumLayout([2, 3, 4], [0, 2])).toBeNull();
    expect(sumLayout([2, 3], [])).toBeNull();
  });
});

describe.skipIf(native == null)('native Tanh, Exp and Sum', () => {
  it('tanh is within 2.5e-7 of the maths and 4e-7 of wasm, NaN and infinities included', () => {
    const special = [
      0,
      -0,
      1e-8,
      -1e-8,
      1e-4,
      0.5,
      -0.5,
      0.6249,
      0.625,
      -0.625,
      1,
      3,
      5.77455,
      -5.77455,
      7.9,
      8,
      10,
      -10,
      88,
      -1e30,
      Infinity,
      -Infinity,
      NaN,
    ];
    for (const x of [rand([16, 64, 512], 1, 20), rand([7], 2, 4), tf.tensor1d(special)]) {
      const r = both('tanh', () => tf.tanh(x));
      expect(r.calls).toBe(1);
      const [xs, n, w] = [x.dataSync(), r.native.dataSync(), r.wasm.dataSync()];
      let worst = 0;
      let worstWasm = 0;
      for (let i = 0; i < xs.length; i++) {
        if (Number.isNaN(xs[i])) {
          expect(n[i]).toBeNaN();
          continue;
        }
        worst = Math.max(worst, Math.abs(n[i] - Math.tanh(xs[i])));
        worstWasm = Math.max(worstWasm, Math.abs(n[i] - w[i]));
      }
      expect(worst).toBeLessThanOrEqual(2.5e-7);
      expect(worstWasm).toBeLessThanOrEqual(4e-7);
      tf.dispose([x, r.native, r.wasm]);
    }
  });

  it('exp is within 2 ulp of the maths (relative 2.4e-7), subnormals, overflow, ±∞ and NaN included', () => {
    const special = [
      0,
      -0,
      1e-8,
      -1e-8,
      1,
      -1,
      10,
      -10,
      80,
      88.5,
      88.72,
      88.73,
      89,
      100,
      -87,
      -87.5,
      -95,
      -100,
      -103,
      -104,
      -110,
      Infinity,
      -Infinity,
      NaN,
    ];
    for (const x of [rand([133, 5000], 5, 40), rand([9], 6, 200), tf.tensor1d(special)]) {
      const r = both('exp', () => tf.exp(x));
      expect(r.calls).toBe(1);
      const [xs, n] = [x.dataSync(), r.native.dataSync()];
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = Math.fround(Math.exp(xs[i]));
        if (Number.isNaN(xs[i])) expect(n[i]).toBeNaN();
        else if (!Number.isFinite(want) || want === 0) expect(n[i], `exp(${xs[i]})`).toBe(want);
        else if (want < 1.2e-38)
          expect(Math.abs(n[i] - want), `exp(${xs[i]})`).toBeLessThanOrEqual(2 ** -149 * 2); // subnormal: absolute
        else worst = Math.max(worst, Math.abs(n[i] - want) / want);
      }
      expect(worst).toBeLessThanOrEqual(2.4e-7);
      tf.dispose([x, r.native, r.wasm]);
    }
  });

  it('softmax through the native Exp and Sum equals wasm', () => {
    const x = rand([133, 5000], 7, 30);
    const r = both('exp', () => tf.logSoftmax(x));
    expect(r.calls).toBeGreaterThan(0);
    const [n, w] = [r.native.dataSync(), r.wasm.dataSync()];
    let worst = 0;
    for (let i = 0; i < n.length; i++) worst = Math.max(worst, Math.abs(n[i] - w[i]));
    expect(worst).toBeLessThanOrEqual(2e-5);
    tf.dispose([x, r.native, r.wasm]);
  });

  const SUMS: [number[], number | number[], boolean][] = [
    [[5], 0, false],
    [[1], 0, true],
    [[7, 3], 0, false],
    [[7, 3], 1, true],
    [[7, 3], [0, 1], false],
    [[16, 64, 512], 1, false],
    [[1024, 256], 0, false],
    [[133, 5000], -1, true],
    [[2, 3, 4, 5], [1, 2], true],
    [[2, 3, 4, 5], [2, 3], false],
    [[2, 3, 4, 5], [0, 1], false],
    [[3, 1, 17], 1, false],
  ];

  it.each(SUMS)('sum of %j over %j (keepDims %s) equals wasm', (shape, axis, keepDims) => {
    const x = rand(shape, 3, 2);
    const r = both('sumAxes', () => tf.sum(x, axis, keepDims));
    expect(r.calls).toBe(1);
    expect(r.native.shape).toEqual(r.wasm.shape);
    const [n, w] = [r.native.dataSync(), r.wasm.dataSync()];
    const scale = Math.max(1e-30, ...w.map(Math.abs));
    expect(Math.max(...n.map((v, i) => Math.abs(v - w[i]))) / scale).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, r.native, r.wasm]);
  });

  it('sums over non-adjacent axes and int32 sums stay on wasm', () => {
    const x = rand([2, 3, 4], 4);
    const r = both('sumAxes', () => tf.sum(x, [0, 2]));
    expect(r.calls).toBe(0);
    expect(r.native.dataSync()).toEqual(r.wasm.dataSync());
    const i = tf.tensor2d(
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
      'int32',
    );
    const ri = both('sumAxes', () => tf.sum(i, 0));
    expect(ri.calls).toBe(0);
    expect([...ri.native.dataSync()]).toEqual([4, 6]);
    tf.dispose([x, i, r.native, r.wasm, ri.native, ri.wasm]);
  });
});
