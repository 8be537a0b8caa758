// The native Conv2DBackpropFilter and MaxPoolGrad (native/conv.c through
// src/ml/kernels/native-conv.ts) against tfjs' cpu backend kernels and against conv.ts's slice
// formulation, over a sweep of shapes; the addon's range checks; and a few training steps of a
// small CNN model with and without them. Skipped where the addon is not built (not in CI).
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import { nativeConvFilterGradient } from '../../../src/ml/kernels/native-conv.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { conv3x3ExplicitGrad, conv3x3Relu } from '../../../src/ml/model/conv.ts';
import { Adam, clipByGlobalNorm } from '../../../src/ml/optimizer.ts';
import { countCalls, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();
const built = native != null;

function values(shape: number[], seed: number, quantum = 0): Float32Array {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = s / 2 ** 32 - 0.5;
    return quantum > 0 ? Math.round(v / quantum) * quantum : v; // quantised: ties in pooling windows
  };
  return Float32Array.from({ length: tf.util.sizeFromShape(shape) }, next);
}

/** fn's result on the cpu backend (tfjs' reference kernels), then back to wasm */
async function onCpu(fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend('cpu');
  try {
    return tf.tidy(fn).dataSync() as Float32Array;
  } finally {
    await tf.setBackend('wasm');
  }
}

/** fn on `heap` with `ok` but for the edited parameters, as a thunk */
function edited(fn: (heap: Uint8Array, params: Float64Array) => void, heap: Uint8Array, ok: number[]) {
  return (edit: Record<number, number>) => {
    const p = Float64Array.from(ok);
    for (const [k, v] of Object.entries(edit)) p[Number(k)] = v;
    return () => fn(heap, p);
  };
}

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

const CONV_CASES: ConvCase[] = [];
for (const B of [1, 2])
  for (const hw of [1, 2, 3, 5, 7])
    for (const cin of [1, 3, 16])
      for (const cout of [1, 16]) CONV_CASES.push({ x: [B, hw, hw, cin], f: [3, 3, cin, cout], strides: 1, pad: 'same' });
CONV_CASES.push(
  { x: [1, 3, 9, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same' },
  { x: [2, 9, 7, 4], f: [5, 5, 4, 6], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 5], strides: 1, pad: 'valid' },
  { x: [1, 9, 8, 2], f: [2, 3, 2, 3], strides: [2, 1], pad: 'valid' },
  { x: [3, 6, 6, 5], f: [1, 1, 5, 7], strides: 1, pad: 'same' },
  { x: [4, 34, 34, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same' }, // more rows than one im2col block
);

function filterGrad(c: ConvCase, xv: Float32Array, dyv: Float32Array, dyShape: number[]): tf.Tensor {
  const x = tf.tensor4d(xv, c.x);
  const dy = tf.tensor(dyv, dyShape);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f };
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
}

beforeAll(async () => {
  await initBackend('wasm', { nativeKernels: true });
});

afterEach(() => {
  setNativeKernels(true);
  setNativePart('conv', true);
});

describe('conv3x3Relu on wasm (fused forward, own gradient)', () => {
  it('value and gradients equal the cpu backend, native kernels on and off; no input gradient when asked', async () => {
    const shape: [number, number, number, number] = [2, 9, 7, 5];
    const cout = 6;
    const xv = values(shape, 900);
    const kv = values([9 * shape[3], cout], 901);
    const bv = values([cout], 902).map((v) => v * 0.2);
    const wv = values([...shape.slice(0, 3), cout], 903);
    const run = (inputGradient: boolean) => () => {
      const [x, k, b] = [tf.tensor4d(xv, shape), tf.tensor2d(kv, [9 * shape[3], cout]), tf.tensor1d(bv)];
      const w = tf.tensor4d(wv, [shape[0], shape[1], shape[2], cout]);
      const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(conv3x3Relu(a as tf.Tensor4D, c as tf.Tensor2D, d as tf.Tensor1D, { inputGradient }), w));
      const { value, grads } = tf.valueAndGrads(f)([x, k, b]);
      return tf.concat([value.reshape([1]), ...grads.map((g) => g.reshape([-1]))]);
    };
    const n = tf.util.sizeFromShape(shape);
    const expected = await onCpu(run(true));
    for (const on of built ? [true, false] : [false]) {
      setNativeKernels(on);
      const full = tf.tidy(run(true)).dataSync() as Float32Array;
      expect(relErr(full, expected), `native ${on}`).toBeLessThanOrEqual(1e-5);
      const noDx = tf.tidy(run(false)).dataSync() as Float32Array;
      expect(noDx.subarray(1, 1 + n).every((v) => v === 0)).toBe(true);
      expect(relErr(noDx.subarray(1 + n), expected.subarray(1 + n)), `native ${on}`).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe.skipIf(!built)('native Conv2DBackpropFilter', () => {
  it('equals the cpu backend over a sweep of shapes, strides and paddings (relative error ≤ 1e-5)', async () => {
    const counter = countCalls(native, 'convFilterGrad');
    try {
      for (const [i, c] of CONV_CASES.entries()) {
        const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad);
        const xv = values(c.x, 100 + i);
        const dyv = values(info.outShape, 200 + i);
        const expected = await onCpu(() => filterGrad(c, xv, dyv, info.outShape));
        const before = counter.calls();
        const actual = tf.tidy(() => filterGrad(c, xv, dyv, info.outShape)).dataSync() as Float32Array;
        expect(counter.calls(), JSON.stringify(c)).toBe(before + 1);
        expect(relErr(actual, expected), JSON.stringify(c)).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      counter.restore();
    }
  });

  it("conv.ts's gradients natively equal the slice formulation and the rotated-kernel conv", () => {
    for (const [i, [x, cout]] of (
      [
        [[2, 16, 16, 3], 16],
        [[1, 5, 7, 16], 1],
        [[3, 8, 8, 16], 32],
      ] as [[number, number, number, number], number][]
    ).entries()) {
      const xv = tf.tensor4d(values(x, 300 + i), x);
      const k = tf.tensor2d(values([9 * x[3], cout], 400 + i), [9 * x[3], cout]);
      const w = tf.tensor4d(values([...x.slice(0, 3), cout], 500 + i), [x[0], x[1], x[2], cout]);
      const grads = () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv3x3ExplicitGrad(a as tf.Tensor4D, b as tf.Tensor2D), w)))([xv, k]);
      setNativeKernels(true);
      expect(nativeConvFilterGradient()).toBe(true);
      const [dxN, dkN] = grads().map((t) => t.dataSync() as Float32Array);
      setNativeKernels(false);
      expect(nativeConvFilterGradient()).toBe(false);
      const [dxS, dkS] = grads().map((t) => t.dataSync() as Float32Array);
      setNativeKernels(true);
      expect(relErr(dkN, dkS)).toBeLessThanOrEqual(1e-5);
      expect(relErr(dxN, dxS)).toBeLessThanOrEqual(1e-5); // the native Conv2DBackpropInput against the rotated-kernel conv
      tf.dispose([xv, k, w]);
    }
  });

  it('the addon refuses regions outside the heap, misaligned, overlapping or oversized', () => {
    if (native == null) throw new Error('addon not built');
    const fn = native.addon.convFilterGrad;
    const heap = new Uint8Array(4096);
    // x [1, 4, 4, 2] at 0 (128 B), dy [1, 4, 4, 3] at 256 (192 B), dK [3, 3, 2, 3] at 1024 (216 B)
    const ok = [0, 256, 1024, 1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
    const call = edited(fn, heap, ok);
    expect(call({})).not.toThrow();
    expect(call({ 0: 4000 })).toThrow(/x lies outside/);
    expect(call({ 1: 4095 - 100 })).toThrow(/dy lies outside/);
    expect(call({ 2: 4096 - 200 })).toThrow(/dK lies outside/);
    expect(call({ 2: 1026 })).toThrow(/misaligned/);
    expect(call({ 2: -4 })).toThrow(/dK lies outside/);
    expect(call({ 2: 64 })).toThrow(/overlaps/);
    expect(call({ 2: 300 })).toThrow(/overlaps/);
    expect(call({ 3: 0 })).toThrow(/dimensions/);
    expect(call({ 6: 2.5 })).toThrow(/dimensions/);
    expect(call({ 3: 2 ** 31 - 1, 4: 2 ** 31 - 1 })).toThrow(/overflows|outside/);
    expect(call({ 16: 0.5 })).toThrow(/pads/);
    expect(() => fn(heap, new Float64Array(17))).toThrow(/params/);
    expect(() => fn(new Float32Array(1024) as unknown as Uint8Array, Float64Array.from(ok))).toThrow(/heap/);
  });
});

interface PoolCase {
  x: [number, number, number, number];
  size: number;
  strides: number;
  pad: 'same' | 'valid';
}

const POOL_CASES: PoolCase[] = [];
for (const B of [1, 2])
  for (const hw of [2, 3, 4, 5, 7, 8])
    for (const c of [1, 3, 16]) POOL_CASES.push({ x: [B, hw, hw, c], size: 2, strides: 2, pad: 'valid' });
POOL_CASES.push(
  { x: [1, 1, 1, 3], size: 2, strides: 2, pad: 'same' },
  { x: [2, 5, 6, 3], size: 2, strides: 2, pad: 'same' },
  { x: [2, 7, 7, 4], size: 3, strides: 2, pad: 'same' },
  { x: [1, 6, 5, 2], size: 2, strides: 1, pad: 'valid' },
  { x: [1, 5, 5, 3], size: 3, strides: 1, pad: 'same' },
  { x: [2, 9, 8, 16], size: 2, strides: 2, pad: 'valid' },
);

describe.skipIf(!built)('native MaxPoolGrad', () => {
  it('equals the cpu backend (first maximum of each window, ties included) over a sweep of shapes', async () => {
    const counter = countCalls(native, 'maxPoolGrad');
    try {
      for (const [i, c] of POOL_CASES.entries()) {
        const xv = values(c.x, 600 + i, 0.25); // few distinct values: many ties
        const outShape = tf.backend_util.computePool2DInfo(c.x, c.size, c.strides, 1, c.pad).outShape;
        const wv = values(outShape, 700 + i);
        const grad = () => {
          const w = tf.tensor(wv, outShape);
          return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad), w)))(tf.tensor4d(xv, c.x));
        };
        const expected = await onCpu(grad);
        const before = counter.calls();
        const actual = tf.tidy(grad).dataSync() as Float32Array;
        expect(counter.calls(), JSON.stringify(c)).toBe(before + 1);
        expect(relErr(actual, expected), JSON.stringify(c)).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      counter.restore();
    }
  });

  it('the addon refuses regions outside the heap, misaligned or overlapping', () => {
    if (native == null) throw new Error('addon not built');
    const fn = native.addon.maxPoolGrad;
    const heap = new Uint8Array(4096);
    // x [1, 4, 4, 2] at 0 (128 B), dy [1, 2, 2, 2] at 256 (32 B), dx at 1024 (128 B)
    const ok = [0, 256, 1024, 1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 0, 0];
    const call = edited(fn, heap, ok);
    expect(call({})).not.toThrow();
    expect(call({ 0: 4000 })).toThrow(/x lies outside/);
    expect(call({ 1: 4080 })).toThrow(/dy lies outside/);
    expect(call({ 2: 4000 })).toThrow(/dx lies outside/);
    expect(call({ 2: 1025 })).toThrow(/misaligned/);
    expect(call({ 2: 64 })).toThrow(/overlaps/);
    expect(call({ 2: 256 })).toThrow(/overlaps/);
    expect(call({ 4: 0 })).toThrow(/dimensions/);
    expect(call({ 13: Number.NaN })).toThrow(/pads/);
    expect(() => fn(heap, new Float64Array(14))).toThrow(/params/);
  });
});

describe.skipIf(!built)('a small CNN model with the native conv kernels', () => {
  it('gives the same losses over a few training steps (≤ 1e-4) as without them', () => {
    const config: ModelConfig = {
      encoder: { kind: 'cnn', imageSize: 16, channels: [4, 8, 8] },
      gridSize: 4,
      encoderDim: 16,
      embeddingDim: 16,
      units: 24,
      vocabSize: 40,
      maxLength: 8,
      attentionLambda: 0.5,
    };
    const pixels = tf.tensor4d(
      values([4, 16, 16, 3], 800).map((v) => v + 0.5),
      [4, 16, 16, 3],
    );
    const captions = tf.tensor2d(
      Array.from({ length: 4 }, (_, r) => [1, ...Array.from({ length: 6 }, (_, t) => (t < 3 + r ? 4 + ((r * 7 + t * 5) % 36) : 0)), 0]),
      [4, 8],
      'int32',
    );
    const counter = countCalls(native, 'convFilterGrad');
    // the conv kernels alone switched (the other native kernels stay on: their own tests compare them)
    const curve = (on: boolean): number[] => {
      setNativePart('conv', on);
      const model = CaptionModel.create(config, 5);
      const vars = model.weights.list();
      const adam = new Adam(model.weights.names, vars, 3e-3);
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        losses.push(
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => model.loss(pixels, captions), vars);
            adam.apply(
              clipByGlobalNorm(
                vars.map((v) => grads[v.name]),
                5,
              ),
            );
            return value.dataSync()[0];
          }),
        );
      }
      adam.dispose();
      model.dispose();
      return losses;
    };
    try {
      const before = tf.memory().numTensors;
      const nat = curve(true);
      expect(counter.calls()).toBe(6 * 3); // every conv layer's filter gradient, every step
      const ref = curve(false);
      expect(counter.calls()).toBe(6 * 3);
      expect(tf.memory().numTensors).toBe(before);
      expect(nat[nat.length - 1]).toBeLessThan(nat[0]);
      for (let i = 0; i < nat.length; i++) expect(Math.abs(nat[i] - ref[i]), `step ${i}`).toBeLessThanOrEqual(1e-4);
    } finally {
      setNativePart('conv', true);
      counter.restore();
      tf.dispose([pixels, captions]);
    }
  });
});
