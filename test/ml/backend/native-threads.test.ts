// The native kernels on tfjs' threaded wasm build (its heap is a SharedArrayBuffer) with 2 OpenBLAS
// threads: own file, since the wasm backend initialises once per process. Skipped without the addon
// (not in CI).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { nativeForTests, relErr } from './native.ts';

describe.skipIf(nativeForTests() == null)('native kernels on the threaded wasm build', () => {
  it('computes what cpu computes, with 2 wasm and 2 OpenBLAS threads', async () => {
    const info = await initBackend('wasm', { wasmThreads: 2, nativeKernels: true, blasThreads: 2 });
    expect(info.name).toBe('wasm+openblas');
    expect(info.threads).toBe(2);
    // products under DEFAULT_BLAS_PARALLEL_MIN multiply-adds run on one thread, larger ones on 2
    expect(info.notes.some((n) => /native kernels: OpenBLAS .*, 2 thread\(s\) for products of ≥ \d+ multiply-adds/.test(n))).toBe(true);
    const product = () =>
      tf.tidy(() => {
        const a = tf.randomUniform([300, 200], -1, 1, 'float32', 1);
        const b = tf.randomUniform([150, 200], -1, 1, 'float32', 2);
        const bias = tf.randomUniform([150], -1, 1, 'float32', 3);
        const big = tf.randomUniform([512, 512], -1, 1, 'float32', 4);
        const wide = tf.randomUniform([512, 300], -1, 1, 'float32', 5);
        return [
          tf.matMul(a, b, false, true),
          tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'relu' }),
          tf.matMul(big, wide), // 7.9e7 multiply-adds: threaded
        ].map((t) => t.dataSync());
      });
    const before = tf.memory().numTensors;
    const native = product();
    expect(tf.memory().numTensors).toBe(before);
    await initBackend('cpu');
    const cpu = product();
    for (let i = 0; i < 3; i++) expect(relErr(native[i], cpu[i]), `product ${i}`).toBeLessThan(1e-5);
  });
});
