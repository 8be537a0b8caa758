// What derives from the variable table beyond loadConfig: the known GLIMPSE_* names, one variable read on
// its own (readVariable, the logger's level), other programs' names and former names of a variable.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configWarnings,
  KNOWN_GLIMPSE,
  loadConfig,
  logLevelFromEnv,
  readVariable,
  VARIABLES,
} from '../../src/config/index.ts';

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('the variable table', () => {
  it("knows every GLIMPSE_* name it lists, former names included, and no other program's", () => {
    const listed = Object.keys(VARIABLES).filter((n) => n.startsWith('GLIMPSE_'));
    expect([...KNOWN_GLIMPSE]).toEqual(expect.arrayContaining([...listed, 'GLIMPSE_NATIVE_GEMM']));
    expect(KNOWN_GLIMPSE.size).toBe(listed.length + 1);
    expect(KNOWN_GLIMPSE.has('OMP_NUM_THREADS')).toBe(false);
    expect(() => loadConfig({ OMP_NUM_THREADS: '4,2', GLIMPSE_NATIVE_GEMM: 'on' })).not.toThrow();
  });

  it('the default each variable documents is the one its parser gives', () => {
    let checked = 0;
    for (const [name, v] of Object.entries(VARIABLES)) {
      const literal = /^`([^`]+)`/.exec(v.default)?.[1];
      const unset = v.parse(undefined, name, {});
      // undefined: the code it concerns has its own default (the COCO mirror), which the docs show
      if (literal === undefined || unset === undefined) continue;
      expect(v.parse(literal, name, {}), name).toEqual(unset);
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('reads one variable on its own, with its default, parser and error', () => {
    expect(readVariable('GLIMPSE_BACKEND', {})).toBeUndefined();
    expect(readVariable('GLIMPSE_BACKEND', { GLIMPSE_BACKEND: ' cpu ' })).toBe('cpu');
    expect(readVariable('GLIMPSE_DEBUG', {})).toBe(false);
    expect(readVariable('GLIMPSE_DEBUG', { GLIMPSE_DEBUG: '1' })).toBe(true);
    expect(readVariable('PORT', {})).toBe(4000);
    // only the variable asked for: an unknown or malformed neighbour does not matter here
    expect(readVariable('PORT', { PORT: '81', GLIMPSE_TYPO: 'x', GLIMPSE_PG_PORT: 'no' })).toBe(81);
    const err = errorOf(() => readVariable('GLIMPSE_BACKEND', { GLIMPSE_BACKEND: 'cuda' }));
    expect(err.message).toBe('GLIMPSE_BACKEND: expected one of tensorflow-gpu, tensorflow, wasm, cpu, got "cuda"');
  });

  it("gives the logger a level before the config is loaded: a malformed one is loadConfig's to report", () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ GLIMPSE_LOG_LEVEL: 'warn' })).toBe('warn');
    expect(logLevelFromEnv({ GLIMPSE_LOG_LEVEL: 'loud' })).toBe('info');
    expect(errorOf(() => loadConfig({ GLIMPSE_LOG_LEVEL: 'loud' })).variable).toBe('GLIMPSE_LOG_LEVEL');
  });

  it('GLIMPSE_NATIVE_KERNELS: on by default, its former name still read (after it) and reported', () => {
    expect(loadConfig({}).nativeKernels).toBe(true);
    expect(loadConfig({ GLIMPSE_NATIVE_KERNELS: 'off' }).nativeKernels).toBe(false);
    expect(loadConfig({ GLIMPSE_NATIVE_GEMM: 'off' }).nativeKernels).toBe(false);
    expect(loadConfig({ GLIMPSE_NATIVE_KERNELS: 'on', GLIMPSE_NATIVE_GEMM: 'off' }).nativeKernels).toBe(true);
    const err = errorOf(() => loadConfig({ GLIMPSE_NATIVE_GEMM: 'yes' }));
    expect(err.message).toBe('GLIMPSE_NATIVE_GEMM: must be "on" or "off" (got "yes")');
    expect(configWarnings({ GLIMPSE_NATIVE_GEMM: 'off' })).toEqual([
      'GLIMPSE_NATIVE_GEMM is deprecated (read for one more release): use GLIMPSE_NATIVE_KERNELS',
    ]);
    expect(configWarnings({ GLIMPSE_NATIVE_KERNELS: 'off' })).toEqual([]);
  });

  it("OpenBLAS threads: OpenBLAS's and OpenMP's variables in order, values that are not a positive integer skipped", () => {
    expect(loadConfig({})).not.toHaveProperty('blasThreads');
    expect(loadConfig({ OPENBLAS_NUM_THREADS: '3', OMP_NUM_THREADS: '2' }).blasThreads).toBe(3);
    expect(loadConfig({ GOTO_NUM_THREADS: '4', OMP_NUM_THREADS: '2' }).blasThreads).toBe(4);
    expect(loadConfig({ OPENBLAS_NUM_THREADS: 'many', OMP_NUM_THREADS: '2' }).blasThreads).toBe(2);
    expect(loadConfig({ OMP_NUM_THREADS: '4,2' })).not.toHaveProperty('blasThreads');
    expect(loadConfig({ OPENBLAS_CORETYPE: 'Haswell' }).openBlasCore).toBe('Haswell');
  });

  it('GLIMPSE_TEST_WASM_FAULT reaches the worker as config.testWasmFault, absent otherwise', () => {
    expect(loadConfig({ GLIMPSE_TEST_WASM_FAULT: '/tmp/fault' }).testWasmFault).toBe('/tmp/fault');
    expect(loadConfig({})).not.toHaveProperty('testWasmFault');
  });
});
