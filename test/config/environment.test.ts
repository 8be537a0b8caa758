// The environment this process hands on: its children's variables, and OPENBLAS_CORETYPE set before the
// native addon loads (OpenBLAS fixes its kernels then).
import { describe, expect, it } from 'vitest';
import { childEnvironment, type Env, loadConfig, prepareNativeEnvironment } from '../../src/config/index.ts';

describe('childEnvironment', () => {
  it("is this process's environment with the extra variables on top", () => {
    const env = childEnvironment({ LC_ALL: 'C', PATH: '/nowhere' });
    expect(env.LC_ALL).toBe('C');
    expect(env.PATH).toBe('/nowhere');
    expect(env.HOME).toBe(process.env.HOME);
    expect(process.env.PATH).not.toBe('/nowhere');
  });
});

describe('prepareNativeEnvironment', () => {
  const chooser = (core: string | null) => {
    const calls: number[] = [];
    const choose = () => {
      calls.push(1);
      return core;
    };
    return { calls, choose };
  };

  it('sets the chosen core where the environment names none, and returns the backend options', () => {
    const env: Env = {};
    const { calls, choose } = chooser('SkylakeX');
    const native = prepareNativeEnvironment(loadConfig(env), choose, env);
    expect(native).toEqual({ nativeKernels: true, notes: ['OPENBLAS_CORETYPE=SkylakeX (from the CPU flags)'] });
    expect(env.OPENBLAS_CORETYPE).toBe('SkylakeX');
    // idle OpenBLAS threads sleep at once instead of spinning on the cores the addon's threads need
    expect(env.OPENBLAS_THREAD_TIMEOUT).toBe('4');
    expect(calls).toHaveLength(1);
  });

  it("keeps the environment's OPENBLAS_THREAD_TIMEOUT", () => {
    const env: Env = { OPENBLAS_THREAD_TIMEOUT: '28' };
    prepareNativeEnvironment(loadConfig(env), chooser('SkylakeX').choose, env);
    expect(env.OPENBLAS_THREAD_TIMEOUT).toBe('28');
  });

  it("keeps the environment's core and reports its threads", () => {
    const env: Env = { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_NUM_THREADS: '2' };
    const { calls, choose } = chooser('SkylakeX');
    const native = prepareNativeEnvironment(loadConfig(env), choose, env);
    expect(native).toEqual({
      nativeKernels: true,
      blasThreads: 2,
      notes: ['OPENBLAS_CORETYPE=Haswell (set by the environment)', 'OpenBLAS threads 2 (from the environment)'],
    });
    expect(env.OPENBLAS_CORETYPE).toBe('Haswell');
    expect(calls).toHaveLength(0);
  });

  it('leaves OpenBLAS to detect the CPU when the chooser knows none', () => {
    const env: Env = {};
    expect(prepareNativeEnvironment(loadConfig(env), chooser(null).choose, env)).toEqual({ nativeKernels: true, notes: [] });
    expect(env).toEqual({ OPENBLAS_THREAD_TIMEOUT: '4' });
  });

  it('touches nothing when the native kernels are off', () => {
    const env: Env = { GLIMPSE_NATIVE_KERNELS: 'off', OPENBLAS_NUM_THREADS: '2' };
    const { calls, choose } = chooser('SkylakeX');
    expect(prepareNativeEnvironment(loadConfig(env), choose, env)).toEqual({ nativeKernels: false, notes: [] });
    expect(env.OPENBLAS_CORETYPE).toBeUndefined();
    expect(env.OPENBLAS_THREAD_TIMEOUT).toBeUndefined();
    expect(calls).toHaveLength(0);
  });
});
