// wasm's GatherV2 (src/ml/kernels/wasm-gather.ts: whole rows along axis 0 copied on the heap)
// equals the cpu backend's and wasm's stock kernel over ranks 1–4, repeated and unordered indices,
// index tensors of rank 0–2, empty index lists, int32 values; the cases it leaves to the stock
// kernel (another axis, batch dimensions, bool) still work; out-of-range indices are refused as the
// stock kernel refuses them; and its gradient (UnsortedSegmentSum) is unchanged.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { setFastGather } from '../../../src/ml/kernels/wasm-gather.ts';
import { testBackendOptions } from '../../helpers/backend.ts';

interface Case {
  shape: number[];
  indices: number[];
  indicesShape: number[];
  axis?: number;
  batchDims?: number;
}

const CASES: Case[] = [
  { shape: [7], indices: [2, 0, 6, 2], indicesShape: [4] },
  { shape: [704, 512], indices: [703, 0, 5, 5, 17, 400], indicesShape: [6] }, // the loss's real rows
  { shape: [5000, 256], indices: [1, 4999, 3, 1, 2, 2, 0, 7], indicesShape: [2, 4] }, // embedding of [B, T] tokens
  { shape: [3, 4, 5], indices: [2, 0], indicesShape: [2] },
  { shape: [2, 3, 4, 5], indices: [1], indicesShape: [1] },
  { shape: [6, 3], indices: [4], indicesShape: [] }, // a scalar index
  { shape: [6, 3], indices: [], indicesShape: [0] }, // nothing gathered
  { shape: [5, 1], indices: [4, 3, 2, 1, 0], indicesShape: [5] },
  { shape: [3, 4, 5], indices: [3, 0, 1], indicesShape: [3], axis: 1 }, // stock: another axis
  { shape: [3, 4, 5], indices: [4, 0], indicesShape: [2], axis: -1 },
  { shape: [2, 4, 3], indices: [3, 0, 1, 1], indicesShape: [2, 2], axis: 1, batchDims: 1 }, // stock: batch dims
];

async function gathered(backend: 'wasm' | 'cpu', dtype: 'float32' | 'int32' | 'bool', fast = true): Promise<unknown[]> {
  await initBackend(backend, testBackendOptions());
  setFastGather(fast);
  return CASES.map(({ shape, indices, indicesShape, axis = 0, batchDims = 0 }) =>
    tf.tidy(() => {
      const n = tf.util.sizeFromShape(shape);
      const values = Array.from({ length: n }, (_, i) => i * 1.5 - 7);
      const x =
        dtype === 'bool'
          ? tf.tensor(
              values.map((_, i) => i % 3 === 0),
              shape,
              'bool',
            )
          : tf.tensor(values, shape, dtype);
      const y = tf.gather(x, tf.tensor(indices, indicesShape, 'int32'), axis, batchDims);
      return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
    }),
  );
}

describe('wasm GatherV2', () => {
  afterAll(() => setFastGather(true));

  it('equals the cpu backend and the stock wasm kernel', async () => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const cpu = await gathered('cpu', dtype);
      expect(await gathered('wasm', dtype), dtype).toEqual(cpu);
      expect(await gathered('wasm', dtype, false), `${dtype}, stock`).toEqual(cpu);
    }
  });

  it('refuses an index out of range as the stock kernel does', async () => {
    await initBackend('wasm', testBackendOptions());
    for (const fast of [true, false]) {
      setFastGather(fast);
      for (const bad of [6, -1]) {
        const before = tf.memory().numTensors;
        expect(() => tf.tidy(() => tf.gather(tf.ones([6, 3]), tf.tensor1d([0, bad], 'int32')))).toThrow(
          `GatherV2: the index value ${bad} is not in [0, 5]`,
        );
        expect(tf.memory().numTensors).toBe(before);
      }
    }
  });

  it('its gradient equals the cpu backend', async () => {
    const grad = async (backend: 'wasm' | 'cpu') => {
      await initBackend(backend, testBackendOptions());
      setFastGather(true);
      return tf.tidy(() => {
        const x = tf.tensor(
          Array.from({ length: 60 }, (_, i) => i / 7),
          [12, 5],
        );
        const ids = tf.tensor2d([3, 3, 0, 11, 7, 3], [2, 3], 'int32');
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))(x);
        return Array.from(g.dataSync());
      });
    };
    expect(await grad('wasm')).toEqual(await grad('cpu'));
  });
});
