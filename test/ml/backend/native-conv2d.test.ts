// The native Conv2D, FusedConv2D and Conv2DBackpropInput (native/conv.c through
// src/ml/kernels/native-conv2d.ts) against tfjs' cpu backend kernels over a sweep of shapes,
// strides, paddings, biases and activations; what they leave to wasm's own kernels; the addon's
// range checks; no tensor leaks; and the demo CNN's loss curve with the 'conv' part on and off.
// Skipped where the addon is not built (not in CI).
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { nativeConvInputGradient } from '../../../src/ml/kernels/native-conv2d.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { expectSameLossCurve } from './loss-curve.ts';
import { countCalls, expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();

function values(shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
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

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

interface Case {
  x: [number, number, number, number];
  /** [FH, FW, Cout] (Cin is x's) */
  f: [number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CASES: Case[] = [];
for (const [B, H, W] of [
  [1, 1, 1],
  [2, 5, 7],
  [3, 17, 18],
  [1, 33, 31],
])
  for (const cin of [1, 3, 16]) for (const cout of [1, 7, 32]) CASES.push({ x: [B, H, W, cin], f: [3, 3, cout], strides: 1, pad: 'same' });
CASES.push(
  { x: [2, 9, 7, 4], f: [5, 5, 6], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 5], strides: 1, pad: 'valid' },
  { x: [1, 9, 8, 2], f: [2, 3, 3], strides: [2, 1], pad: 'valid' },
  { x: [2, 10, 11, 5], f: [3, 2, 4], strides: [1, 3], pad: 'same' },
  { x: [3, 6, 6, 5], f: [1, 1, 7], strides: 1, pad: 'same' }, // a plain product
  { x: [2, 7, 9, 6], f: [1, 1, 3], strides: 2, pad: 'valid' }, // 1×1 strided: im2col
  {
    x: [2, 7, 6, 3],
    f: [3, 3, 4],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  { x: [2, 40, 37, 16], f: [3, 3, 32], strides: 1, pad: 'same' }, // many im2col blocks
  { x: [2, 32, 32, 32], f: [3, 3, 16], strides: 1, pad: 'same' }, // the demo's second layer, by its input gradient
);

const filterShape = (c: Case): [number, number, number, number] => [c.f[0], c.f[1], c.x[3], c.f[2]];

/** the case's conv: fused with bias and/or relu, fused with neither, or plain Conv2D */
function forward(c: Case, i: number, kind: 'bias+relu' | 'bias' | 'relu' | 'fused' | 'conv2d'): tf.Tensor {
  const x = tf.tensor4d(values(c.x, 100 + i), c.x);
  const filter = tf.tensor4d(values(filterShape(c), 200 + i), filterShape(c));
  if (kind === 'conv2d') return tf.conv2d(x, filter, c.strides, c.pad);
  const bias = kind.startsWith('bias') ? tf.tensor1d(values([c.f[2]], 300 + i)) : undefined;
  return tf.fused.conv2d({ x, filter, strides: c.strides, pad: c.pad, bias, activation: kind.endsWith('relu') ? 'relu' : 'linear' });
}

function inputGrad(c: Case, i: number): tf.Tensor {
  const outShape = tf.backend_util.computeConv2DInfo(c.x, filterShape(c), c.strides, 1, c.pad).outShape;
  const dy = tf.tensor4d(values(outShape, 400 + i), outShape);
  const filter = tf.tensor4d(values(filterShape(c), 500 + i), filterShape(c));
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

describe.skipIf(native == null)('native Conv2D, FusedConv2D and Conv2DBackpropInput', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('conv', true);
    setNativePart('conv2d', true);
  });

  it('the forward conv equals the cpu backend over the sweep: bias or none, relu or linear (relative error ≤ 1e-5)', async () => {
    const counter = countCalls(native, 'conv2d');
    try {
      for (const [i, c] of CASES.entries()) {
        for (const kind of ['bias+relu', 'bias', 'relu', 'fused', 'conv2d'] as const) {
          const expected = await onCpu(() => forward(c, i, kind));
          const before = counter.calls();
          const actual = tf.tidy(() => forward(c, i, kind)).dataSync() as Float32Array;
          expect(counter.calls(), `${kind} ${JSON.stringify(c)}`).toBe(before + 1);
          expect(relErr(actual, expected), `${kind} ${JSON.stringify(c)}`).toBeLessThanOrEqual(1e-5);
        }
      }
    } finally {
      counter.restore();
    }
  });

  it('the input gradient equals the cpu backend over the sweep (relative error ≤ 1e-5)', async () => {
    const counter = countCalls(native, 'convInputGrad');
    try {
      for (const [i, c] of CASES.entries()) {
        const expected = await onCpu(() => inputGrad(c, i));
        const before = counter.calls();
        const actual = tf.tidy(() => inputGrad(c, i)).dataSync() as Float32Array;
        expect(counter.calls(), JSON.stringify(c)).toBe(before + 1);
        expect(relErr(actual, expected), JSON.stringify(c)).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      counter.restore();
    }
  });

  it("tf.conv2d's gradient through them equals the cpu backend's", async () => {
    const c: Case = { x: [2, 11, 9, 5], f: [3, 3, 6], strides: 2, pad: 'same' };
    const grads = () => {
      const w = tf.tensor4d(values([2, 6, 5, 6], 600), [2, 6, 5, 6]);
      const f = (x: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, c.strides, c.pad)), w));
      const [dx, dk] = tf.grads(f)([tf.tensor4d(values(c.x, 601), c.x), tf.tensor4d(values(filterShape(c), 602), filterShape(c))]);
      return tf.concat([dx.reshape([-1]), dk.reshape([-1])]);
    };
    const expected = await onCpu(grads);
    const input = countCalls(native, 'convInputGrad');
    const fwd = countCalls(native, 'conv2d');
    try {
      expect(relErr(tf.tidy(grads).dataSync(), expected)).toBeLessThanOrEqual(1e-5);
      expect([fwd.calls(), input.calls()]).toEqual([1, 1]);
    } finally {
      input.restore();
      fwd.restore();
    }
  });

  it("leaves what it does not take to wasm's kernels (dilation, prelu, the part or the kernels off), with the same result", async () => {
    const c = CASES[10];
    const x = () => tf.tensor4d(values(c.x, 700), c.x);
    const filter = () => tf.tensor4d(values(filterShape(c), 701), filterShape(c));
    const alpha = () => tf.tensor1d(values([c.f[2]], 702));
    const declined: [string, () => tf.Tensor][] = [
      ['dilation 2', () => tf.conv2d(x(), filter(), 1, 'same', 'NHWC', 2)],
      [
        'prelu',
        () => tf.fused.conv2d({ x: x(), filter: filter(), strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: alpha() }),
      ],
      ['elu', () => tf.fused.conv2d({ x: x(), filter: filter(), strides: 1, pad: 'same', activation: 'elu' })],
    ];
    const counter = countCalls(native, 'conv2d');
    try {
      for (const [name, fn] of declined) {
        const expected = await onCpu(fn);
        expect(relErr(tf.tidy(fn).dataSync(), expected), name).toBeLessThanOrEqual(1e-5);
        expect(counter.calls(), name).toBe(0);
      }
      const expected = await onCpu(() => forward(c, 0, 'bias+relu'));
      const switches = [() => setNativePart('conv', false), () => setNativePart('conv2d', false), () => setNativeKernels(false)];
      for (const off of switches) {
        off();
        expect(nativeConvInputGradient()).toBe(false);
        expect(relErr(tf.tidy(() => forward(c, 0, 'bias+relu')).dataSync(), expected)).toBeLessThanOrEqual(1e-5);
        expect(relErr(tf.tidy(() => inputGrad(c, 0)).dataSync(), await onCpu(() => inputGrad(c, 0)))).toBeLessThanOrEqual(1e-5);
        setNativePart('conv', true);
        setNativePart('conv2d', true);
        setNativeKernels(true);
        expect(nativeConvInputGradient()).toBe(true);
      }
      expect(counter.calls()).toBe(0);
    } finally {
      counter.restore();
    }
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    for (const [i, c] of CASES.slice(0, 12).entries()) {
      // each result kept past its tidy, then disposed: the kernels' own outputs and nothing else remain
      const outs = tf.tidy(() => [forward(c, i, 'bias+relu'), forward(c, i, 'conv2d'), inputGrad(c, i)]);
      expect(tf.memory().numTensors).toBe(before + 3);
      tf.dispose(outs);
    }
    const grads = tf.tidy(() =>
      tf.grads((x: tf.Tensor, k: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same')))([
        tf.ones([1, 4, 4, 2]),
        tf.ones([3, 3, 2, 3]),
      ]),
    );
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the addon refuses regions outside the heap, misaligned, overlapping or oversized, writing nothing', () => {
    if (native == null) throw new Error('addon not built');
    const heap = new Uint8Array(4096);
    new Float32Array(heap.buffer).fill(0.5);
    // x [1, 4, 4, 2] at 0 (128 B), filter [3, 3, 2, 3] at 256 (216 B), bias [3] at 512, y [1, 4, 4, 3] at 1024 (192 B)
    const geometry = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1];
    const conv = [0, 256, 512, 1024, ...geometry, 1];
    expect(() => native.addon.conv2d(heap, Float64Array.from(conv))).not.toThrow();
    const copy = heap.slice();
    expectRefusals(native.addon.conv2d, heap, conv, [
      [0, 4000], // x outside
      [0, -4],
      [1, 4000], // filter outside
      [2, 4092], // bias outside
      [3, 4096 - 100], // y outside
      [3, 1026], // misaligned
      [3, 64], // y overlaps x
      [3, 300], // y overlaps the filter
      [3, 2 ** 53], // far outside
      [0, Number.NaN],
      [4, 0], // a zero dimension
      [7, 2.5], // a fractional dimension
      [4, 2 ** 31], // a dimension past 2^31 - 1
      [10, 2 ** 31 - 1], // sizes past the heap
      [15, 0.5], // a fractional pad
      [16, Number.NaN],
      [17, 2], // an unknown activation
      [17, -1],
    ]);
    expect(heap).toEqual(copy);
    // dy [1, 4, 4, 3] at 0 (192 B), filter [3, 3, 2, 3] at 256, dx [1, 4, 4, 2] at 1024 (128 B)
    const grad = [0, 256, 1024, ...geometry];
    expect(() => native.addon.convInputGrad(heap, Float64Array.from(grad))).not.toThrow();
    expectRefusals(native.addon.convInputGrad, heap, grad, [
      [0, 4000], // dy outside
      [1, 4000], // filter outside
      [2, 4096 - 100], // dx outside
      [2, 1025], // misaligned
      [2, 128], // dx overlaps dy
      [2, 400], // dx overlaps the filter
      [2, -4],
      [3, 0],
      [6, 1.5],
      [3, 2 ** 31 - 1],
      [14, 0.5],
      [15, Number.POSITIVE_INFINITY],
    ]);
    expect(() => native.addon.conv2d(heap, new Float64Array(17))).toThrow(RangeError);
    expect(() => native.addon.convInputGrad(heap, new Float64Array(17))).toThrow(RangeError);
  });

  it('the demo CNN (channels [16, 32, 64], 64-px images) trains to the same losses with these kernels on and off (≤ 1e-4)', () => {
    const counts = (['conv2d', 'convInputGrad'] as const).map((name) => countCalls(native, name));
    try {
      expectSameLossCurve(
        {
          config: {
            encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
            gridSize: 8,
            encoderDim: 32,
            embeddingDim: 16,
            units: 32,
            vocabSize: 24,
            maxLength: 6,
            attentionLambda: 0,
          },
          inputShape: [4, 64, 64, 3],
          feature: (i) => (Math.sin(i * 0.37) + 1) / 2,
          captions: [
            [1, 5, 9, 9, 2, 0],
            [1, 7, 2, 0, 0, 0],
            [1, 19, 3, 12, 20, 2],
            [1, 4, 4, 6, 2, 0],
          ],
          modelSeed: 11,
        },
        'conv2d', // the filter gradients native in both
      );
      // the three layers' forward convs, the last two's input gradients, every step of the curve with the part on
      expect(counts.map((c) => c.calls())).toEqual([12 * 3, 12 * 2]);
    } finally {
      for (const c of counts) c.restore();
    }
  });
});
