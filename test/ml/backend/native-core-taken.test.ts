// A core taken (native/threads.c): with 2 OpenBLAS threads, the recurrence's parallel parts measure the
// share of a core each thread gets; with more busy processes than CPUs beside it, a call finds a core
// taken (two calls in a row, after the first 4) and the following calls run on one thread, trying both again
// every 16 parallel-worthy calls; one thread only while the last parallel call found a core taken. The loss and gradients are the same
// on one thread and two. Slow tier: it starts busy child processes. Skipped where the addon is not built.
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import { threadState } from '../../../src/ml/kernels/native-addon.ts';
import { nativeForTests } from './native.ts';

const native = nativeForTests();

// B 16, 8 tokens, an 8×8 grid, 256 units, features 64: 16·7·256·(4·256 + 3·64) ≈ 3.5e7 multiply-adds per
// recurrence, over the 2^22 from which it splits its sequences
const CONFIG: ModelConfig = {
  encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
  gridSize: 8,
  encoderDim: 64,
  embeddingDim: 32,
  units: 256,
  vocabSize: 40,
  maxLength: 8,
  attentionLambda: 0,
  deepOutput: false,
};

const spinners: ChildProcess[] = [];
const stopSpinners = () => {
  for (const s of spinners.splice(0)) s.kill('SIGKILL');
};
afterAll(stopSpinners);

describe.skipIf(native == null)('native threads when another process holds a core', () => {
  it('drops to one thread under load, tries all again every 16 calls, and computes the same', async () => {
    await initBackend('wasm', { nativeKernels: true, blasThreads: 2 });
    const addon = native!.addon;
    const model = CaptionModel.create(CONFIG, 1, 64);
    const features = tf.randomNormal<tf.Rank.R3>([16, 64, 64], 0, 1, 'float32', 2);
    const captions = tf.tensor2d(
      Array.from({ length: 16 * 8 }, (_, i) => (i % 8 === 0 ? 1 : (i * 5 + 3) % 40)),
      [16, 8],
      'int32',
    );
    const vars = model.weights.list();
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(features, captions), vars);
        return [value.dataSync()[0]!, ...grads[vars[0]!.name]!.dataSync().slice(0, 64)];
      });
    const before = tf.memory().numTensors;
    const first = step();
    expect(threadState(addon).parallelCalls).toBeGreaterThan(0);

    // twice as many busy processes as CPUs: every thread of ours gets at most half a core
    const cpus = os.availableParallelism();
    for (let i = 0; i < Math.min(2 * cpus, 64); i++) spinners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    let loaded = threadState(addon);
    for (let i = 0; i < 10 && loaded.now === 2; i++) {
      expect(step()).toEqual(first);
      loaded = threadState(addon);
    }
    expect(loaded.coreTaken).toBeGreaterThanOrEqual(2); // two in a row
    expect(loaded.lowestShare).toBeLessThan(0.8);
    expect(loaded.now).toBe(1);
    // one thread from here; a try with both every 16 parallel-worthy calls (2 per step: forward and gradient)
    const tries = loaded.tries;
    for (let i = 0; i < 17; i++) expect(step()).toEqual(first);
    const later = threadState(addon);
    expect(later.tries).toBeGreaterThanOrEqual(tries + 2);
    // on one thread only after a parallel call that found a core taken (a single one keeps both: two in a row drop)
    if (later.now === 1) expect(later.lowestShare).toBeLessThan(0.8);

    // load gone: after every step, one thread only where the last parallel call found a core taken
    stopSpinners();
    for (let i = 0; i < 20; i++) {
      expect(step()).toEqual(first);
      const s = threadState(addon);
      expect(s.policy).toBe(2);
      if (s.now === 1) expect(s.lowestShare).toBeLessThan(0.8);
    }
    tf.dispose([features, captions]);
    expect(tf.memory().numTensors).toBe(before - 2);
  }, 120_000);
});
