// The whole decoding step as one native kernel (native/decode_step.c through
// src/ml/kernels/native-decode-step.ts): its log-probabilities, attention weights and new state equal
// the tfjs ops' (decoderStep and logSoftmax with the native kernels off: XNNPACK) to a relative error
// ≤ 1e-5 over a sweep of shapes, with and without the deep output, with rows reading their image and
// state by index (its products on native/few_rows.h whatever the rows: weights packed by packPanels);
// it refuses weights not packed; the addon refuses bad regions and indices without writing; greedy and beam search
// decode the same tokens and attention as with the native kernels off and with the step unfused, in
// one native call per step and no leaked tensors. Skipped where the addon is not built.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { freezeStepWeights, prepare } from '../../../src/ml/decode/frozen.ts';
import { CaptionModel, type CaptionResult, decodeBatch, type ModelConfig, Vocabulary } from '../../../src/ml/index.ts';
import { DECODE_STEP, nativeDecodeStep } from '../../../src/ml/kernels/native-decode-step.ts';
import { setNativeKernels, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { NATIVE_PARAMS } from '../../../src/ml/kernels/native-params.ts';
import { decoderStep } from '../../../src/ml/model/decoder.ts';
import { countCalls, expectRefusals, nativeForTests, relErr } from './native.ts';

const native = nativeForTests();
const CHANNELS = 20;

function config(o: { grid: number; E: number; D: number; U: number; V: number; deep: boolean }): ModelConfig {
  return {
    encoder: { kind: 'pretrained', url: 'file:///unused', imageSize: 64 },
    gridSize: o.grid,
    encoderDim: o.E,
    embeddingDim: o.D,
    units: o.U,
    vocabSize: o.V,
    maxLength: 10,
    attentionLambda: 0.5,
    ...(o.deep ? { deepOutput: true } : {}),
  };
}

// one cell, odd sizes (not multiples of the 16 lanes), the deep output, a larger grid and vocabulary
const SWEEP = [
  { grid: 1, E: 5, D: 3, U: 8, V: 7, deep: false },
  { grid: 3, E: 24, D: 16, U: 17, V: 40, deep: true },
  { grid: 4, E: 24, D: 16, U: 48, V: 40, deep: false },
  { grid: 8, E: 64, D: 32, U: 128, V: 500, deep: true },
];

function vocabulary(V: number): Vocabulary {
  return Vocabulary.fromJSON({
    words: ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: V - 4 }, (_, i) => `w${i}`)],
    maxLength: 10,
  });
}

describe.skipIf(native == null)('native decoding step', () => {
  beforeAll(async () => {
    await initBackend('wasm', { nativeKernels: true });
  });
  afterEach(() => {
    setNativeKernels(true);
    setNativePart('decode-step', true);
  });

  it('equals decoderStep + logSoftmax of the tfjs ops (relative error ≤ 1e-5), rows by index included', () => {
    const before = tf.memory().numTensors;
    for (const [i, shape] of SWEEP.entries()) {
      const model = CaptionModel.create(config(shape), 30 + i, CHANNELS);
      const L = shape.grid ** 2;
      const images = 3;
      const input = tf.randomNormal([images, L, CHANNELS], 0, 1, 'float32', 40 + i) as tf.Tensor3D;
      const prepared = prepare(model, input);
      const states = 4;
      const h = tf.randomNormal([states, shape.U], 0, 0.5, 'float32', 50 + i) as tf.Tensor2D;
      for (const N of [1, 3, 5, 70]) {
        // 1: one row; 3, 5: a block of few_rows.h's 6 rows partly filled; 70: 11 blocks and 4 rows
        const tokens = Int32Array.from({ length: N }, (_, n) => (n * 7 + 1) % shape.V);
        const imageRows = Int32Array.from({ length: N }, (_, n) => (2 * n + 1) % images);
        const stateRows = Int32Array.from({ length: N }, (_, n) => (3 * n + 2) % states);
        const direct = N === images; // also the plain layout: row n reads image n and state n
        const layouts = direct ? [true, false] : [false];
        for (const plain of layouts) {
          const stateIn = plain ? (tf.slice(h, 0, N) as tf.Tensor2D) : h;
          const got = nativeDecodeStep(prepared.native!, {
            tokens,
            keys: prepared.images.keys,
            features: prepared.images.features,
            h: stateIn,
            ...(plain ? {} : { imageRows, stateRows }),
          });
          expect(got).not.toBeNull();
          setNativeKernels(false);
          const ref = tf.tidy(() => {
            const rowsOf = (t: tf.Tensor, rows: Int32Array) => (plain ? t : tf.gather(t, tf.tensor1d(rows, 'int32')));
            const step = decoderStep(
              model.weights,
              prepared.step,
              {
                features: rowsOf(prepared.images.features, imageRows) as tf.Tensor3D,
                keys: rowsOf(prepared.images.keys, imageRows) as tf.Tensor3D,
              },
              tf.tensor1d(tokens, 'int32'),
              rowsOf(stateIn, stateRows) as tf.Tensor2D,
            );
            return [tf.logSoftmax(step.logits), step.alpha, step.h];
          });
          setNativeKernels(true);
          const what = `${JSON.stringify(shape)} N=${N} ${plain ? 'plain' : 'by index'}`;
          expect(got!.logProbs.shape).toEqual([N, shape.V]);
          expect(got!.alpha.shape).toEqual([N, L]);
          expect(got!.h.shape).toEqual([N, shape.U]);
          [got!.logProbs, got!.alpha, got!.h].forEach((t, k) => {
            expect(relErr(t.dataSync(), ref[k].dataSync()), `${what} output ${k}`).toBeLessThanOrEqual(1e-5);
          });
          tf.dispose([got!.logProbs, got!.alpha, got!.h, ...ref]);
          if (plain) stateIn.dispose();
        }
      }
      tf.dispose([input, h]);
      prepared.release();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('equals the tfjs ops where the attention saturates (|keys + q| past 9, where its tanh clamps)', () => {
    const shape = SWEEP[1];
    const model = CaptionModel.create(config(shape), 12, CHANNELS);
    const L = shape.grid ** 2;
    const input = tf.randomNormal([5, L, CHANNELS], 0, 300, 'float32', 13) as tf.Tensor3D;
    const prepared = prepare(model, input);
    const keys = prepared.images.keys.dataSync() as Float32Array;
    expect(keys.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeGreaterThan(20);
    const h = tf.randomNormal([5, shape.U], 0, 0.5, 'float32', 14) as tf.Tensor2D;
    const tokens = Int32Array.of(1, 5, 9, 13, 17);
    const got = nativeDecodeStep(prepared.native!, { tokens, keys: prepared.images.keys, features: prepared.images.features, h });
    setNativeKernels(false);
    const ref = tf.tidy(() => {
      const step = decoderStep(model.weights, prepared.step, prepared.images, tf.tensor1d(tokens, 'int32'), h);
      return [tf.logSoftmax(step.logits), step.alpha, step.h];
    });
    setNativeKernels(true);
    [got!.logProbs, got!.alpha, got!.h].forEach((t, k) => {
      expect(relErr(t.dataSync(), ref[k].dataSync()), `output ${k}`).toBeLessThanOrEqual(1e-5);
    });
    tf.dispose([got!.logProbs, got!.alpha, got!.h, ...ref, input, h]);
    prepared.release();
    model.dispose();
  });

  it('throws on a token or row index out of range, and on inconsistent shapes', () => {
    const shape = SWEEP[2];
    const model = CaptionModel.create(config(shape), 3, CHANNELS);
    const input = tf.randomNormal([2, 16, CHANNELS], 0, 1, 'float32', 4) as tf.Tensor3D;
    const prepared = prepare(model, input);
    const h = tf.zeros([2, shape.U]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const step = (over: Partial<Parameters<typeof nativeDecodeStep>[1]>) => () =>
      nativeDecodeStep(prepared.native!, {
        tokens: Int32Array.of(1, 2),
        keys: prepared.images.keys,
        features: prepared.images.features,
        h,
        ...over,
      });
    expect(step({ tokens: Int32Array.of(1, shape.V) })).toThrow(/token lies outside/);
    expect(step({ tokens: Int32Array.of(-1, 1) })).toThrow(/token lies outside/);
    expect(step({ imageRows: Int32Array.of(0, 2) })).toThrow(/image row lies outside/);
    expect(step({ stateRows: Int32Array.of(0, -1) })).toThrow(/state row lies outside/);
    expect(step({ tokens: Int32Array.of(1, 2, 3) })).toThrow(/must be the 3 rows/);
    expect(step({ h: prepared.images.keys as unknown as tf.Tensor2D })).toThrow(DECODE_STEP);
    // weights as the model holds them, not packed
    const unpacked = { ...prepared.native!, fc2: model.weights.matrix('decoder/fc2/kernel') as unknown as tf.Tensor3D };
    expect(() =>
      nativeDecodeStep(unpacked, { tokens: Int32Array.of(1, 2), keys: prepared.images.keys, features: prepared.images.features, h }),
    ).toThrow(/fc2 must be packed/);
    expect(tf.memory().numTensors).toBe(before); // the failed calls' outputs released
    tf.dispose([input, h]);
    prepared.release();
    model.dispose();
  });

  it('the addon checks every region and count before writing', () => {
    const addon = native!.addon;
    const [N, images, states, L, U, E, D, F, V] = [2, 2, 3, 4, 8, 5, 3, 8, 11];
    const packed = (K: number, cols: number) => Math.ceil(cols / 16) * K * 16; // packPanels' sizes
    const sizes: Record<string, number> = {
      tokensOff: N,
      embeddingOff: V * D,
      stateKernelOff: packed(U, 4 * U),
      stateBiasOff: 4 * U,
      keysOff: images * L * U,
      featuresOff: images * L * E,
      imageRowsOff: N,
      stateRowsOff: N,
      vOff: U,
      gruKernelOff: packed(E + D, 3 * U),
      inputBiasOff: 3 * U,
      fc1Off: packed(U, F),
      fc1BiasOff: F,
      outContextOff: packed(E, F),
      fc2Off: packed(F, V),
      fc2BiasOff: V,
      hOff: states * U,
      logProbsOff: N * V,
      alphaOff: N * L,
      hNewOff: N * U,
    };
    const names = NATIVE_PARAMS.decodeStep;
    const values: Record<string, number> = { N, images, states, L, U, E, D, F, V };
    let at = 0;
    for (const [name, elems] of Object.entries(sizes)) {
      values[name] = at;
      at += 4 * elems;
    }
    const heap = new Uint8Array(at);
    const floats = new Float32Array(heap.buffer);
    for (let i = 0; i < floats.length; i++) floats[i] = Math.sin(i) * 0.3;
    const ints = new Int32Array(heap.buffer);
    for (const [name, count] of [
      ['tokensOff', V],
      ['imageRowsOff', images],
      ['stateRowsOff', states],
    ] as const)
      for (let n = 0; n < N; n++) ints[values[name] / 4 + n] = (n + 1) % count;
    const good = names.map((n) => values[n]);
    const index = (name: (typeof names)[number]) => names.indexOf(name);
    addon.decodeStep(heap, Float64Array.from(good)); // the good call runs
    const logProbs = floats.subarray(values.logProbsOff / 4, values.logProbsOff / 4 + N * V);
    for (let n = 0; n < N; n++) {
      const row = Array.from(logProbs.subarray(n * V, (n + 1) * V));
      expect(row.reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 5);
    }
    expectRefusals(addon.decodeStep, heap, good, [
      [index('N'), 0],
      [index('V'), 0.5],
      [index('U'), Number.NaN],
      [index('keysOff'), at], // outside the heap
      [index('fc2Off'), at - 4], // reaches past its end
      [index('hOff'), 2], // misaligned
      [index('logProbsOff'), values.hOff], // an output over an input
      [index('hNewOff'), values.alphaOff], // an output over another
      [index('tokensOff'), values.fc2BiasOff], // floats read as tokens: out of range
      [index('imageRowsOff'), values.fc2BiasOff], // out of range
      [index('states'), 1], // a state row (2) past the states
    ]);
    // without image rows the images must be the rows: 3 images, 2 rows and no index refused
    const noRows = Float64Array.from(good);
    noRows[index('imageRowsOff')] = -1;
    noRows[index('images')] = 3;
    noRows[index('keysOff')] = 0;
    const copy = heap.slice();
    expect(() => addon.decodeStep(heap, noRows)).toThrow(RangeError);
    expect(heap).toEqual(copy);
  });

  it('greedy and beam search decode what the tfjs ops decode, one native call per step', async () => {
    for (const [i, shape] of [SWEEP[2], SWEEP[1]].entries()) {
      const model = CaptionModel.create(config(shape), 5 + i, CHANNELS);
      const vocab = vocabulary(shape.V);
      const B = 16;
      const features = tf.randomNormal([B, shape.grid ** 2, CHANNELS], 0, 1, 'float32', 3) as tf.Tensor3D;
      for (const method of ['greedy', 'beam'] as const) {
        const decode = (mode: 'fused' | 'unfused' | 'off') => {
          setNativeKernels(mode !== 'off');
          setNativePart('decode-step', mode === 'fused');
          return decodeBatch(model, vocab, features, { method, beamWidth: 3, maxLength: 10 });
        };
        const before = tf.memory().numTensors;
        const calls = countCalls(native, 'decodeStep');
        let fused: CaptionResult[];
        try {
          fused = await decode('fused');
        } finally {
          calls.restore();
        }
        expect(tf.memory().numTensors).toBe(before);
        expect(calls.calls(), `${method}: one call per step`).toBeGreaterThan(0);
        expect(calls.calls()).toBeLessThanOrEqual(9);
        for (const mode of ['unfused', 'off'] as const) {
          const ref = await decode(mode);
          const what = `${method} ${mode} ${JSON.stringify(shape)}`;
          expect(
            fused.map((c) => c.caption),
            what,
          ).toEqual(ref.map((c) => c.caption));
          for (const [b, c] of fused.entries()) {
            expect(Math.abs(c.logProb - ref[b].logProb), `${what} ${b}`).toBeLessThan(1e-4);
            c.tokens.forEach((token, t) => {
              expect(relErr(token.attention, ref[b].tokens[t].attention), `${what} ${b} attention ${t}`).toBeLessThanOrEqual(1e-5);
            });
          }
        }
      }
      setNativeKernels(true);
      setNativePart('decode-step', true);
      const frozen = freezeStepWeights(model); // as a served model: no concat of the weights per decode
      const profile = await tf.profile(async () => {
        await decodeBatch(model, vocab, features, { method: 'beam', beamWidth: 3, maxLength: 10 }, undefined, frozen);
      });
      frozen.dispose();
      const names = profile.kernels.map((k) => k.name);
      expect(names.filter((n) => n === DECODE_STEP)).toHaveLength(9);
      // besides the steps: the encoder's products once, no copies of rows (gather, concat)
      expect(names).not.toContain('GatherV2');
      expect(names).not.toContain('Concat');
      tf.dispose(features);
      model.dispose();
    }
  });
});
