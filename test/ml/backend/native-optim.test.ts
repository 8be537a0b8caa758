// The native optimiser step (native/optim.c through src/ml/kernels/native-optim.ts): Adam with the
// global-norm clip folded in equals tfjs' Adam after clipByGlobalNorm bit for bit, over variable
// sizes from 1 element up, clip active or not, moments created or loaded; a tensor sharing a
// variable's memory never changes; the addon refuses bad regions without writing; with the native
// kernels off the optimiser is tfjs'. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NativeAddon } from '../../../src/ml/kernels/native-addon.ts';
import { initBackend } from '../../../src/ml/backend.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { nativeOptimizer } from '../../../src/ml/kernels/native-optim.ts';
import { CaptionModel } from '../../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { Adam, clipByGlobalNorm } from '../../../src/ml/optimizer.ts';
import { expectRefusals, nativeForTests } from './native.ts';

const native = nativeForTests();

const SHAPES = [[1], [17], [3, 1], [1, 129], [33, 65], [1000]];
const NAMES = SHAPES.map((_, i) => `w${i}`);

function seeded(shape: number[], seed: number, scale: number): tf.Tensor {
  return tf.randomNormal(shape, 0, scale, 'float32', seed);
}

/** weights, moments and step after `steps` updates; `tfjsAdam`: tfjs' applyGradients after clipByGlobalNorm */
function train(tfjsAdam: boolean, clipNorm: number, gradScale: number, steps = 12, resumeFrom?: Map<string, tf.Tensor>) {
  const vars = tf.tidy(() => SHAPES.map((s, i) => tf.variable(seeded(s, 100 + i, 1))));
  const adam = new Adam(NAMES, vars, 0.003);
  const inner = (adam as unknown as { optimizer: tf.AdamOptimizer }).optimizer;
  return (async () => {
    if (resumeFrom) await adam.load(resumeFrom);
    for (let t = 0; t < steps; t++) {
      tf.tidy(() => {
        const grads = SHAPES.map((s, i) => seeded(s, 1000 * t + i + 1, gradScale));
        if (tfjsAdam) {
          const clipped = clipByGlobalNorm(grads, clipNorm);
          inner.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: clipped[i] })));
        } else {
          adam.apply(grads, clipNorm);
        }
      });
    }
    const state = await adam.withState(async (s) => s.map(({ name, tensor }) => [name, Array.from(tensor.dataSync())] as const));
    const weights = vars.map((v) => Array.from(v.dataSync()));
    adam.dispose();
    tf.dispose(vars);
    return { weights, state, step: adam.step };
  })();
}

describe.skipIf(native == null)('native optimiser', () => {
  const addon = native?.addon as NativeAddon;

  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => setNativeKernels(true));

  it('equals tfjs Adam after clipByGlobalNorm bit for bit (clip active, inactive, off)', async () => {
    const before = tf.memory().numTensors;
    const real = addon.adam;
    let calls = 0;
    addon.adam = (heap, p) => {
      calls++;
      real(heap, p);
    };
    try {
      for (const [clipNorm, gradScale] of [
        [5, 3], // norm ≈ 3·√3300: clipped
        [5, 0.01], // under the limit: scale 1
        [0, 2], // no clipping
      ]) {
        calls = 0;
        const nat = await train(false, clipNorm, gradScale);
        expect(calls, 'native calls').toBe(12 * SHAPES.length);
        const ref = await train(true, clipNorm, gradScale);
        expect(nat.step).toBe(12);
        expect(nat.state).toEqual(ref.state);
        expect(nat.weights, `clip ${clipNorm}, grads ×${gradScale}`).toEqual(ref.weights);
      }
    } finally {
      addon.adam = real;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is not used with the native kernels off (tfjs Adam, same results)', async () => {
    setNativePart('optimizer', false);
    expect(nativeOptimizer()).toBeNull();
    setNativePart('optimizer', true);
    setNativeKernels(false);
    expect(nativeOptimizer()).toBeNull();
    const off = await train(false, 5, 3);
    setNativeKernels(true);
    expect(nativeOptimizer()).not.toBeNull();
    const on = await train(false, 5, 3);
    // the clip's sums differ in order (wasm's Sum vs the native one): equal to float32 rounding
    for (let i = 0; i < on.weights.length; i++) {
      for (let j = 0; j < on.weights[i].length; j++) expect(on.weights[i][j]).toBeCloseTo(off.weights[i][j], 5);
    }
  });

  it('never changes a tensor that shares a variable or moment, and resumes exactly from a loaded state', async () => {
    const uninterrupted = await train(false, 5, 3, 8);
    // 4 steps, save, then 4 more from the loaded state while the saved tensors stay alive (shared)
    const first = await train(false, 5, 3, 4);
    const shapeOf = (name: string) => (name === 'iter' ? [] : SHAPES[NAMES.indexOf(name.split('/')[0])]);
    const saved = new Map(first.state.map(([name, values]) => [name, tf.tensor(values, shapeOf(name))]));
    const snapshot = new Map([...saved].map(([n, t]) => [n, Array.from(t.dataSync())]));
    // weights after 4 steps, then 4 more steps of gradients 4..7
    const vars = tf.tidy(() => first.weights.map((w, i) => tf.variable(tf.tensor(w, SHAPES[i]))));
    const aliases = vars.map((v) => tf.clone(v)); // Identity shares the variable's memory
    const aliasValues = aliases.map((a) => Array.from(a.dataSync()));
    const adam = new Adam(NAMES, vars, 0.003);
    await adam.load(saved);
    for (let t = 4; t < 8; t++) {
      tf.tidy(() =>
        adam.apply(
          SHAPES.map((s, i) => seeded(s, 1000 * t + i + 1, 3)),
          5,
        ),
      );
    }
    expect(vars.map((v) => Array.from(v.dataSync()))).toEqual(uninterrupted.weights);
    expect(aliases.map((a) => Array.from(a.dataSync()))).toEqual(aliasValues);
    for (const [n, t] of saved) expect(Array.from(t.dataSync()), n).toEqual(snapshot.get(n));
    adam.dispose();
    tf.dispose([...vars, ...aliases, ...saved.values()]);
  });

  it('updated weights reach kernels that cache packed weights by tensor id (wasm XNNPACK) outside the tape', () => {
    // regression: an in-place weight update left wasm's cached XNNPACK operators on the old values, so
    // validation and captions during training ran with stale weights (val loss in the hundreds)
    const config = { ...BABY_MODEL_CONFIG, vocabSize: 20 };
    const model = CaptionModel.create(config, 3);
    const pixels = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const captions = tf.tensor2d([1, 5, 6, 7, 2, 1, 8, 9, 2, 0, 1, 10, 11, 12, 2, 1, 13, 2, 0, 0], [4, 5], 'int32');
    const lossOf = (m: CaptionModel) => tf.tidy(() => m.loss(pixels, captions).dataSync()[0]);
    lossOf(model); // the forward outside the tape builds and caches wasm's operators
    const vars = model.weights.list();
    const adam = new Adam(model.weights.names, vars, 0.01);
    for (let t = 0; t < 5; t++) {
      tf.tidy(() => adam.apply(Object.values(tf.variableGrads(() => model.loss(pixels, captions), vars).grads), 5));
    }
    const copy = CaptionModel.fromTensors(
      config,
      model.channels,
      new Map(model.weights.entries().map(([name, v]) => [name, tf.tensor(v.dataSync(), v.shape)])), // fresh memory
    );
    expect(lossOf(model)).toBe(lossOf(copy));
    adam.dispose();
    copy.dispose();
    model.dispose();
    tf.dispose([pixels, captions]);
  });

  it('computes in place on a plain heap and refuses bad regions or scalars without writing', () => {
    const heap = new Uint8Array(256);
    const f = new Float32Array(heap.buffer);
    f.set([1, 2, 3], 0); // w
    f.set([0.5, -1, 2], 16); // g
    // m, v zero at 32 and 48
    const ok = [0, 64, 128, 192, 3, 1, 0.9, 0.1, 0.999, 0.001, 0.1, 0.001, -0.01, 1e-7].map(Math.fround);
    addon.adam(heap, Float64Array.from(ok));
    // the first step moves every weight by −lr·sign(g) (to float32 rounding)
    expect(f[0]).toBeCloseTo(0.99, 6);
    expect(f[1]).toBeCloseTo(2.01, 6);
    expect(f[2]).toBeCloseTo(2.99, 6);
    expect(f[32]).toBeCloseTo(0.05, 7); // m = 0.1·g
    expect(f[48]).toBeCloseTo(0.00025, 9); // v = 0.001·g²
    expect(addon.sumSquares(heap, Float64Array.of(64, 3))).toBeCloseTo(0.25 + 1 + 4, 6);
    expect(addon.sumSquares(heap, Float64Array.of(64, 0))).toBe(0);
    const bad: [number, number][] = [
      [0, 256], // w past the end
      [0, 253], // misaligned
      [0, -4],
      [0, 0.5],
      [1, 250], // g past the end
      [2, 2 ** 53], // m far outside
      [3, 0], // v overlaps w
      [2, 64], // m overlaps g
      [4, 2 ** 31], // n too large
      [4, 100], // regions run past the heap
      [6, 0.9], // not a float32 value
      [13, Number.NaN],
    ];
    expectRefusals(addon.adam, heap, ok, bad);
    expect(() => addon.adam(heap, new Float64Array(13))).toThrow(RangeError);
    expect(() => addon.sumSquares(heap, Float64Array.of(252, 2))).toThrow(RangeError);
    expect(() => addon.sumSquares(heap, Float64Array.of(2, 1))).toThrow(RangeError);
  });
});
