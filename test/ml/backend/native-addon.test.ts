// The native kernels addon itself (native/*.c), called directly on a plain heap: it computes a
// product where asked, refuses every offset or size outside the heap (or misaligned, or an output
// overlapping an input) without touching a byte; its ABI version and parameter layouts agree with
// the TypeScript side (native-addon.ts, native-params.ts) and with native/kernels.h; an addon
// that does not is refused; and the backend works without it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configWarnings } from '../../../src/config/index.ts';
import { nativeBackendOptions, nativeConfig, prepareOpenBlasCore } from '../../../src/jobs/native-env.ts';
import { chooseOpenBlasCore, NATIVE_ABI_VERSION, type NativeAddon, openNativeKernels } from '../../../src/ml/kernels/native-addon.ts';
import { NATIVE_PARAMS, type NativeParams, packParams } from '../../../src/ml/kernels/native-params.ts';
import { nativeForTests } from './native.ts';

const native = nativeForTests();
const ROOT = path.resolve(import.meta.dirname, '../../..');

function params(over: Partial<NativeParams<'gemm'>> = {}): Float64Array {
  const p: NativeParams<'gemm'> = {
    ...{ batch: 1, m: 2, n: 3, k: 4, transA: 0, transB: 0, aOff: 0, aBatch: 1, bOff: 64, bBatch: 1, cOff: 128 },
    ...{ biasOff: -1, biasLen: 0, activation: 0, leakyAlpha: 0 },
    ...over,
  };
  return Float64Array.from(packParams('gemm', p)); // a copy: packParams reuses its buffer
}

describe.skipIf(native == null)('native addon: bounds', () => {
  const addon = native?.addon as NativeAddon;

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

  const bad: [string, Partial<NativeParams<'gemm'>>][] = [
    ['C past the end', { cOff: 256 - 20 }],
    ['C far past the end', { cOff: 2 ** 40 }],
    ['A past the end', { aOff: 252 }],
    ['B past the end', { bOff: 248 }],
    ['bias past the end', { biasOff: 248, biasLen: 3 }],
    ['a negative offset', { aOff: -4 }],
    ['a misaligned offset', { cOff: 130 }],
    ['a fractional offset', { bOff: 64.5 }],
    ['NaN', { cOff: Number.NaN }],
    ['a zero dimension', { m: 0 }],
    ['a negative dimension', { n: -3 }],
    ['a huge dimension', { m: 2 ** 31 }],
    ['sizes that overflow', { batch: 2 ** 30, aBatch: 2 ** 30, m: 2 ** 30, k: 2 ** 30 }],
    ['a batch the operand does not have', { batch: 2, aBatch: 3 }],
    ['a batched output past the end', { batch: 4, cOff: 192 }],
    ['C overlapping A', { cOff: 16 }],
    ['C overlapping the bias', { biasOff: 136, biasLen: 3 }],
    ['a bias of the wrong length', { biasOff: 192, biasLen: 2 }],
    ['an unknown activation', { activation: 9 }],
    // each once an unchecked double → int conversion (undefined behaviour past int's range)
    ['an activation past int', { activation: 2 ** 40 }],
    ['a negative activation', { activation: -1 }],
    ['a fractional activation', { activation: 1.5 }],
    ['a NaN activation', { activation: Number.NaN }],
  ];

  it.each(bad)('refuses %s without writing', (_, over) => {
    const heap = new Uint8Array(256);
    heap.fill(0x5a);
    expect(() => addon.gemm(heap, params(over))).toThrow(RangeError);
    expect(heap.every((v) => v === 0x5a)).toBe(true);
  });

  it('names the region and the kernel in what it refuses', () => {
    const heap = new Uint8Array(256);
    expect(() => addon.gemm(heap, params({ cOff: 16 }))).toThrow('gemm: C overlaps A');
    expect(() => addon.gemm(heap, params({ bOff: 250 }))).toThrow('gemm: B lies outside the heap (or is misaligned)');
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
    const bad: ['tanh' | 'exp' | 'sumAxes', number[]][] = [
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
      expect(() => addon[fn](h, Float64Array.from(p)), `${fn} ${p}`).toThrow(RangeError);
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
    expect(() => addon.setThreads(2, -1)).toThrow(RangeError); // parallelMin below 0
  });

  it("reports this code's ABI version and the parameter layout of native-params.ts", () => {
    expect(addon.abiVersion()).toBe(NATIVE_ABI_VERSION);
    expect(addon.layout()).toEqual(NATIVE_PARAMS);
  });
});

describe('the C and TypeScript sides agree', () => {
  const header = readFileSync(path.join(ROOT, 'native/kernels.h'), 'utf8').replace(/\\\n/g, ' ');

  it('native/kernels.h lists the parameters of native-params.ts, in order, and its ABI version', () => {
    const lists = new Map(
      [...header.matchAll(/#define (\w+)_PARAMS\(X\)\s+((?:X\(\w+, \w+\)\s*)+)/g)].map((m) => [
        `${m[1]}_PARAMS`,
        [...m[2].matchAll(/X\(\w+, (\w+)\)/g)].map((x) => x[1]),
      ]),
    );
    const entries = [...header.matchAll(/X\((\w+), \w+, (\w+_PARAMS)\)/g)].map((m) => [m[1], lists.get(m[2])]);
    expect(Object.fromEntries(entries)).toEqual(NATIVE_PARAMS);
    expect(Number(/#define KERNELS_ABI_VERSION (\d+)/.exec(header)?.[1])).toBe(NATIVE_ABI_VERSION);
  });

  it('an addon of another ABI version, without one, or with another layout is refused as out of date', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-addon-'));
    const fake = (name: string, abi: string, layout = JSON.stringify(NATIVE_PARAMS)) => {
      const file = path.join(dir, `${name}.cjs`);
      const fns = [...Object.keys(NATIVE_PARAMS), 'setThreads', 'getThreads', 'getThreadState', 'config']
        .map((n) => `${n}: () => 1`)
        .join(', ');
      writeFileSync(file, `module.exports = { ${fns}, ${abi} layout: () => (${layout}) };`);
      return openNativeKernels(file);
    };
    expect(fake('old', '')).toEqual({ reason: expect.stringContaining('out of date: npm run build:native (its ABI none') });
    expect(fake('next', `abiVersion: () => ${NATIVE_ABI_VERSION + 1},`)).toEqual({
      reason: expect.stringContaining(`out of date: npm run build:native (its ABI ${NATIVE_ABI_VERSION + 1}`),
    });
    const swapped = { ...NATIVE_PARAMS, gemm: [...NATIVE_PARAMS.gemm].reverse() };
    expect(fake('drift', `abiVersion: () => ${NATIVE_ABI_VERSION},`, JSON.stringify(swapped))).toEqual({
      reason: expect.stringContaining('the parameters of gemm differ'),
    });
    expect(fake('current', `abiVersion: () => ${NATIVE_ABI_VERSION},`)).toMatchObject({ kernels: { threads: 1 } });
  });
});

describe('without the addon', () => {
  it('a missing or broken addon is a reason, not an error', () => {
    const missing = openNativeKernels(path.join(os.tmpdir(), 'no-such-dir', 'glimpse_kernels.node'));
    expect(missing).toEqual({ reason: expect.stringContaining('native kernels not built') });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-addon-'));
    const broken = path.join(dir, 'glimpse_kernels.node');
    writeFileSync(broken, 'not a shared object');
    expect(openNativeKernels(broken)).toEqual({ reason: expect.stringContaining('native kernels failed to load') });
  });

  it('GLIMPSE_NATIVE_KERNELS (or its old name GLIMPSE_NATIVE_GEMM) accepts on/off only', () => {
    const on = (env: NodeJS.ProcessEnv) => nativeConfig(env).nativeKernels;
    expect(on({})).toBe(true);
    expect(on({ GLIMPSE_NATIVE_KERNELS: 'on' })).toBe(true);
    expect(on({ GLIMPSE_NATIVE_KERNELS: 'off' })).toBe(false);
    expect(on({ GLIMPSE_NATIVE_KERNELS: 'off', GLIMPSE_NATIVE_GEMM: 'on' })).toBe(false);
    expect(on({ GLIMPSE_NATIVE_GEMM: 'off' })).toBe(false);
    expect(configWarnings({ GLIMPSE_NATIVE_GEMM: 'off' })[0]).toContain('deprecated');
    expect(() => nativeBackendOptions({ GLIMPSE_NATIVE_KERNELS: 'yes' })).toThrowError(/GLIMPSE_NATIVE_KERNELS: must be "on" or "off"/);
    expect(() => on({ GLIMPSE_NATIVE_GEMM: 'no' })).toThrowError(/GLIMPSE_NATIVE_GEMM: must be "on" or "off"/);
  });

  it('names an AVX-512 or AVX2 OpenBLAS core from the CPU flags, set only where the environment names none', () => {
    const cpuinfo = (flags: string) => `processor\t: 0\nflags\t\t: ${flags}\n`;
    expect(chooseOpenBlasCore(cpuinfo('fpu sse2 avx2 fma avx512f avx512vl avx512bw avx512dq'))).toBe('SkylakeX');
    expect(chooseOpenBlasCore(cpuinfo('fpu sse2 avx avx2 fma'))).toBe('Haswell');
    expect(chooseOpenBlasCore(cpuinfo('fpu sse2'))).toBeNull();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-cpuinfo-'));
    const file = path.join(dir, 'cpuinfo');
    writeFileSync(file, cpuinfo('avx512f avx512vl avx512bw avx512dq'));
    const env: NodeJS.ProcessEnv = {};
    expect(prepareOpenBlasCore(env, file)).toContain('from the CPU flags');
    expect(env.OPENBLAS_CORETYPE).toBe('SkylakeX');
    const set: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Zen' };
    expect(prepareOpenBlasCore(set, file)).toContain('set by the environment');
    expect(set.OPENBLAS_CORETYPE).toBe('Zen');
    const off: NodeJS.ProcessEnv = { GLIMPSE_NATIVE_KERNELS: 'off' };
    expect(nativeBackendOptions(off, file)).toEqual({ nativeKernels: false, nativeNotes: [] });
    expect(off.OPENBLAS_CORETYPE).toBeUndefined(); // nothing prepared for kernels that will not load
    expect(nativeBackendOptions({ OPENBLAS_CORETYPE: 'Zen', OMP_NUM_THREADS: '3' }, file)).toEqual({
      nativeKernels: true,
      blasThreads: 3,
      nativeNotes: ['OPENBLAS_CORETYPE=Zen (set by the environment)', 'OpenBLAS threads 3 (from the environment)'],
    });
  });

  it('GLIMPSE_NATIVE_KERNELS=off: the backend is plain wasm and trains on XNNPACK', () => {
    const script = `
      import * as tf from '@tensorflow/tfjs';
      import { nativeBackendOptions } from './src/jobs/native-env.ts';
      import { initBackend } from './src/ml/backend.ts';
      const info = await initBackend('wasm', nativeBackendOptions());
      const g = tf.grad((x) => tf.matMul(x, tf.ones([3, 2])).sum())(tf.ones([4, 3]));
      console.log(JSON.stringify({ name: info.name, notes: info.notes, g: Array.from(g.dataSync()) }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, GLIMPSE_NATIVE_KERNELS: 'off' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { name: string; notes: string[]; g: number[] };
    expect(out.name).toBe('wasm');
    expect(out.notes.some((n) => n.includes('native kernels'))).toBe(false);
    expect(out.g).toEqual(Array(12).fill(2));
  });
});
