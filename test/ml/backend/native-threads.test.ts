// The native kernels on tfjs' threaded wasm build (its heap is a SharedArrayBuffer) with 2 OpenBLAS
// threads: own file, since the wasm backend initialises once per process. Skipped without the addon
// (not in CI).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { nativeForTests } from './native.ts';

describe.skipIf(nativeForTests() == null)('native kernels on the threaded wasm build', () => {
  it('computes what cpu computes, with 2 wasm and 2 OpenBLAS threads', async () => {
    const info = await initBackend('wasm', { wasmThreads: 2, nativeKernels: true, blasThreads: 2 });
    expect(info.name).toBe('wasm+openblas');
    expect(info.threads).toBe(2);
    expect(info.notes.some((n) => /native kernels: OpenBLAS .*, 2 thread\(s\)/.test(n))).toBe(true);
    const product = () =>
      tf.tidy(() => {
        const a = tf.randomUniform([300, 200], -1, 1, 'float32', 1);
        const b = tf.randomUniform([150, 200], -1, 1, 'float32', 2);
        const bias = tf.randomUniform([150], -1, 1, 'float32', 3);
        return [tf.matMul(a, b, false, true), tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'relu' })].map((t) =>
          t.dataSync(),
        );
      });
    const before = tf.memory().numTensors;
    const native = product();
    expect(tf.memory().numTensors).toBe(before);
    await initBackend('cpu');
    const cpu = product();
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(...cpu[i].map(Math.abs));
      expect(Math.max(...native[i].map((v, j) => Math.abs(v - cpu[i][j]))) / scale).toBeLessThan(1e-5);
    }
  });
});
