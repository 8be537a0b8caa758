// The native addon's own checks (native/gemm.c), called directly on a plain heap: it computes a
// product where asked, refuses every offset or size outside the heap (or misaligned, or an output
// overlapping an input) without touching a byte; and the product works without the addon.
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, nativeGemmFromEnv } from '../../../src/ml/backend.ts';
import { loadNativeGemm, openNativeGemm, chooseOpenBlasCore } from '../../../src/ml/kernels/native-gemm.ts';

const native = loadNativeGemm();
const built = 'gemm' in native;
// CI installs libopenblas-dev so the addon builds: there a missing addon is a failure with its reason, not a skip
if (!built && process.env.CI === 'true') throw new Error(`CI=true but the native GEMM addon is not built: ${JSON.stringify(native)}`);
if (!built) console.warn('native GEMM addon not built (no C toolchain or libopenblas-dev): its tests are skipped');

// [batch, M, N, K, transA, transB, aOff, aBatch, bOff, bBatch, cOff, biasOff, biasLen, activation, leakyAlpha]
function params(over: Partial<Record<string, number>> = {}): Float64Array {
  const p = {
    batch: 1,
    M: 2,
    N: 3,
    K: 4,
    ta: 0,
    tb: 0,
    aOff: 0,
    aBatch: 1,
    bOff: 64,
    bBatch: 1,
    cOff: 128,
    biasOff: -1,
    biasLen: 0,
    act: 0,
    alpha: 0,
    ...over,
  };
  return Float64Array.of(
    p.batch,
    p.M,
    p.N,
    p.K,
    p.ta,
    p.tb,
    p.aOff,
    p.aBatch,
    p.bOff,
    p.bBatch,
    p.cOff,
    p.biasOff,
    p.biasLen,
    p.act,
    p.alpha,
  );
}

describe.skipIf(!built)('native addon: bounds', () => {
  const addon = 'gemm' in native ? native.gemm.addon : null!;

  it('computes C = A·B + bias on a plain heap and writes nothing else', () => {
    const heap = new Uint8Array(256);
    const f = new Float32Array(heap.buffer);
    f.fill(-7);
    f.set([1, 2, 3, 4, 5, 6, 7, 8], 0); // A [2, 4]
    f.set([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], 16); // B [4, 3]
    f.set([10, 20, 30], 48); // bias [3]
    addon.gemm(heap, params({ biasOff: 192, biasLen: 3 }));
    expect([...f.subarray(32, 38)]).toEqual([1 + 4 + 10, 2 + 4 + 20, 3 + 4 + 30, 5 + 8 + 10, 6 + 8 + 20, 7 + 8 + 30]);
    expect([...f.subarray(38, 48)].every((v) => v === -7)).toBe(true);
    expect([...f.subarray(51)].every((v) => v === -7)).toBe(true);
  });

  const bad: [string, Partial<Record<string, number>>][] = [
    ['C past the end', { cOff: 256 - 20 }],
    ['C far past the end', { cOff: 2 ** 40 }],
    ['A past the end', { aOff: 252 }],
    ['B past the end', { bOff: 248 }],
    ['bias past the end', { biasOff: 248, biasLen: 3 }],
    ['a negative offset', { aOff: -4 }],
    ['a misaligned offset', { cOff: 130 }],
    ['a fractional offset', { bOff: 64.5 }],
    ['NaN', { cOff: NaN }],
    ['a zero dimension', { M: 0 }],
    ['a negative dimension', { N: -3 }],
    ['a huge dimension', { M: 2 ** 31 }],
    ['sizes that overflow', { batch: 2 ** 30, aBatch: 2 ** 30, M: 2 ** 30, K: 2 ** 30 }],
    ['a batch the operand does not have', { batch: 2, aBatch: 3 }],
    ['a batched output past the end', { batch: 4, cOff: 192 }],
    ['C overlapping A', { cOff: 16 }],
    ['C overlapping the bias', { biasOff: 136, biasLen: 3 }],
    ['a bias of the wrong length', { biasOff: 192, biasLen: 2 }],
    ['an unknown activation', { act: 9 }],
  ];

  it.each(bad)('refuses %s without writing', (_, over) => {
    const heap = new Uint8Array(256);
    heap.fill(0x5a);
    expect(() => addon.gemm(heap, params(over))).toThrow(RangeError);
    expect(heap.every((v) => v === 0x5a)).toBe(true);
  });

  it('tanh, exp and sumAxes compute in bounds and refuse regions outside the heap without writing', () => {
    const heap = new Uint8Array(256);
    const f = new Float32Array(heap.buffer);
    f.set([0, 1, -1, 2, 3, 4], 0);
    addon.tanh(heap, Float64Array.of(0, 64, 3));
    expect([...f.subarray(16, 19)].map((v) => Number(v.toFixed(6)))).toEqual([0, 0.761594, -0.761594]);
    addon.exp(heap, Float64Array.of(0, 96, 2));
    expect([...f.subarray(24, 26)].map((v) => Number(v.toFixed(6)))).toEqual([1, Number(Math.E.toFixed(6))]);
    addon.sumAxes(heap, Float64Array.of(0, 128, 1, 2, 3)); // [1, 2, 3] over axis 1
    expect([...f.subarray(32, 35)]).toEqual([2, 4, 3]);
    const bad: [keyof typeof addon, number[]][] = [
      ['tanh', [0, 252, 2]],
      ['tanh', [250, 0, 1]],
      ['tanh', [0, 4, 3]],
      ['tanh', [0, 64, -1]],
      ['exp', [0, 252, 2]],
      ['exp', [0, 4, 3]],
      ['sumAxes', [0, 252, 2, 3, 1]],
      ['sumAxes', [200, 0, 1, 20, 1]],
      ['sumAxes', [0, 8, 1, 4, 1]],
      ['sumAxes', [0, 128, 0, 2, 3]],
      ['sumAxes', [0, 128, 2 ** 30, 2 ** 30, 2 ** 30]],
    ];
    for (const [fn, p] of bad) {
      const h = new Uint8Array(256).fill(0x5a);
      expect(() => (addon[fn] as (h: Uint8Array, p: Float64Array) => void)(h, Float64Array.from(p)), `${fn} ${p}`).toThrow(RangeError);
      expect(h.every((v) => v === 0x5a)).toBe(true);
    }
  });

  it('refuses arguments that are not a byte heap and 15 float64 parameters', () => {
    const heap = new Uint8Array(256);
    expect(() => addon.gemm(new Float32Array(64) as unknown as Uint8Array, params())).toThrow(RangeError);
    expect(() => addon.gemm(heap, new Float64Array(14))).toThrow(RangeError);
    expect(() => addon.gemm(heap, Float32Array.from(params()) as unknown as Float64Array)).toThrow(RangeError);
    expect(() => (addon.gemm as (...args: unknown[]) => void)(heap)).toThrow(RangeError);
    expect(() => addon.setThreads(0)).toThrow(RangeError);
  });
});

describe('without the addon', () => {
  it('a missing or broken addon is a reason, not an error', () => {
    const missing = openNativeGemm(path.join(os.tmpdir(), 'no-such-dir', 'glimpse_blas.node'));
    expect(missing).toEqual({ reason: expect.stringContaining('native GEMM not built') });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-addon-'));
    const broken = path.join(dir, 'glimpse_blas.node');
    writeFileSync(broken, 'not a shared object');
    expect(openNativeGemm(broken)).toEqual({ reason: expect.stringContaining('native GEMM failed to load') });
  });

  it('GLIMPSE_NATIVE_GEMM accepts on/off only', () => {
    expect(nativeGemmFromEnv(undefined)).toBe(true);
    expect(nativeGemmFromEnv('on')).toBe(true);
    expect(nativeGemmFromEnv('off')).toBe(false);
    expect(() => nativeGemmFromEnv('no')).toThrowError(expect.objectContaining({ code: 'BACKEND_UNKNOWN' }));
  });

  it('a malformed GLIMPSE_NATIVE_GEMM fails initBackend instead of falling back to cpu', async () => {
    const before = process.env.GLIMPSE_NATIVE_GEMM;
    process.env.GLIMPSE_NATIVE_GEMM = 'yes';
    try {
      await expect(initBackend('wasm')).rejects.toMatchObject({ code: 'BACKEND_UNKNOWN' });
    } finally {
      if (before == null) delete process.env.GLIMPSE_NATIVE_GEMM;
      else process.env.GLIMPSE_NATIVE_GEMM = before;
    }
  });

  it('names an AVX-512 or AVX2 OpenBLAS core only where the environment names none', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-cpuinfo-'));
    const file = (flags: string) => {
      const p = path.join(dir, `${flags.length}`);
      writeFileSync(p, `processor\t: 0\nflags\t\t: ${flags}\n`);
      return p;
    };
    const env: NodeJS.ProcessEnv = {};
    expect(chooseOpenBlasCore(env, file('fpu sse2 avx2 fma avx512f avx512vl avx512bw avx512dq'))).toContain('SkylakeX');
    expect(env.OPENBLAS_CORETYPE).toBe('SkylakeX');
    const env2: NodeJS.ProcessEnv = {};
    expect(chooseOpenBlasCore(env2, file('fpu sse2 avx avx2 fma'))).toContain('Haswell');
    expect(chooseOpenBlasCore({}, file('fpu sse2'))).toBeNull();
    const set: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Zen' };
    expect(chooseOpenBlasCore(set, file('avx512f avx512vl avx512bw avx512dq'))).toContain('set by the environment');
    expect(set.OPENBLAS_CORETYPE).toBe('Zen');
  });

  it('GLIMPSE_NATIVE_GEMM=off: the backend is plain wasm and trains on XNNPACK', () => {
    const script = `
      import * as tf from '@tensorflow/tfjs';
      import { initBackend } from './src/ml/backend.ts';
      const info = await initBackend('wasm');
      const g = tf.grad((x) => tf.matMul(x, tf.ones([3, 2])).sum())(tf.ones([4, 3]));
      console.log(JSON.stringify({ name: info.name, notes: info.notes, g: Array.from(g.dataSync()) }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env: { ...process.env, GLIMPSE_NATIVE_GEMM: 'off' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { name: string; notes: string[]; g: number[] };
    expect(out.name).toBe('wasm');
    expect(out.notes.some((n) => n.includes('native GEMM'))).toBe(false);
    expect(out.g).toEqual(Array(12).fill(2));
  });
});
