// wasm's Slice (src/ml/kernels/wasm-copies.ts: copies straight from the heap) equals the cpu
// backend's over ranks 1–5, begins and sizes (-1 included), whole and partial inner dimensions,
// empty slices and int32/bool; and under a gradient tape.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';

const CASES: [number[], number[], number[]][] = [
  [[7], [2], [3]],
  [
    [512, 1536],
    [0, 0],
    [256, 1536],
  ], // the GRU kernel's context rows: one run
  [
    [512, 1536],
    [256, 0],
    [-1, -1],
  ],
  [
    [16, 2048],
    [0, 512],
    [16, 1536],
  ], // a step's projection: one run per row
  [
    [16, 1024],
    [0, 0],
    [16, 512],
  ],
  [
    [3, 4, 5],
    [1, 0, 2],
    [2, 4, 3],
  ],
  [
    [3, 4, 5],
    [0, 1, 0],
    [3, 2, 5],
  ],
  [
    [2, 3, 4, 5],
    [1, 1, 1, 1],
    [1, 2, 3, 4],
  ],
  [
    [2, 3, 4, 5, 2],
    [0, 1, 0, 2, 0],
    [2, 2, 4, 3, 2],
  ],
  [
    [4, 1],
    [3, 0],
    [1, 1],
  ],
  [
    [4, 6],
    [2, 3],
    [0, 2],
  ], // empty
];

async function sliced(backend: 'wasm' | 'cpu', dtype: 'float32' | 'int32' | 'bool'): Promise<unknown[]> {
  await initBackend(backend, testBackendOptions());
  return CASES.map(([shape, begin, size]) =>
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
      const y = tf.slice(x, begin, size);
      return { shape: y.shape, values: Array.from(y.dataSync()) };
    }),
  );
}

describe('wasm Slice', () => {
  it('equals the cpu backend', async () => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const cpu = await sliced('cpu', dtype);
      expect(await sliced('wasm', dtype), dtype).toEqual(cpu);
    }
  });

  it('its gradient (PadV2) equals the cpu backend', async () => {
    const grad = async (backend: 'wasm' | 'cpu') => {
      await initBackend(backend, testBackendOptions());
      return tf.tidy(() => {
        const x = tf.tensor(
          Array.from({ length: 60 }, (_, i) => i / 7),
          [3, 4, 5],
        );
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.slice(t, [1, 0, 2], [2, 4, 3]))))(x);
        return Array.from(g.dataSync());
      });
    };
    expect(await grad('wasm')).toEqual(await grad('cpu'));
  });
});
