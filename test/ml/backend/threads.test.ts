// The threaded wasm build in Node (own test file: the wasm backend initialises once per process).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { withWasmThreads } from '../../../src/ml/kernels/wasm-threads.ts';

describe('wasm threads in Node', () => {
  it('rejects a thread count outside 2..8 with a typed error', async () => {
    const err = await withWasmThreads(1, async () => 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WASM_THREADS_UNAVAILABLE' });
  });

  it('initialises a 2-thread pool, computes what cpu computes, and leaves no globals behind', async () => {
    const info = await initBackend('wasm', { wasmThreads: 2, nativeKernels: false });
    expect(info).toEqual({ name: 'wasm', threads: 2, notes: [] });
    expect((globalThis as { Worker?: unknown }).Worker).toBeUndefined();
    const inputs = () => [tf.randomUniform([300, 200], -1, 1, 'float32', 1), tf.randomUniform([150, 200], -1, 1, 'float32', 2)];
    const product = () =>
      tf.tidy(() => {
        const [a, b] = inputs();
        return tf.tanh(tf.matMul(a, b, false, true)).dataSync();
      });
    const before = tf.memory().numTensors;
    const wasm = product();
    expect(tf.memory().numTensors).toBe(before);
    await initBackend('cpu');
    const cpu = product();
    expect(Math.max(...wasm.map((v, i) => Math.abs(v - cpu[i])))).toBeLessThan(1e-5);
  });
});
