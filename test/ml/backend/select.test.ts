import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BackendError, backendInfo, initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';

const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** wasm, or wasm with the native GEMM where native/ is built (native-gemm.test.ts) */
const WASM = /^wasm(\+openblas)?$/;

describe('backend selection', () => {
  it('backendInfo() before initBackend() is a typed error', () => {
    expect(() => backendInfo()).toThrowError(expect.objectContaining({ code: 'BACKEND_NOT_INITIALIZED' }));
  });

  it('falls back past missing tfjs-node(-gpu) with notes, and is idempotent', async () => {
    const info = await initBackend(undefined, testBackendOptions());
    if (installed('@tensorflow/tfjs-node-gpu')) {
      expect(info.name).toBe('tensorflow-gpu');
      return;
    }
    expect(info.notes).toContain('tfjs-node-gpu unavailable: not installed');
    if (!installed('@tensorflow/tfjs-node')) {
      expect(info.name).toMatch(WASM);
      expect(info.notes).toContain('tfjs-node unavailable: not installed');
      expect(tf.getBackend()).toBe('wasm');
      expect(info.threads).toBeGreaterThanOrEqual(1);
    }
    expect(await initBackend()).toBe(info);
    expect(await initBackend(undefined)).toBe(info);
    expect(backendInfo()).toEqual(info);
  });

  it('an explicit preferred backend starts the chain there', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', threads: 1, notes: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(backendInfo().name).toBe('cpu');
    const wasm = await initBackend('wasm', testBackendOptions());
    expect(wasm.name).toMatch(WASM);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an unknown preferred name rejects with BACKEND_UNKNOWN and keeps the current backend', async () => {
    const before = tf.getBackend();
    const err = await initBackend('tpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe('BACKEND_UNKNOWN');
    expect((err as BackendError).message).toContain('tpu');
    expect(tf.getBackend()).toBe(before);
  });

  it('a missing optional binding asked for explicitly falls back with its reason', async () => {
    if (installed('@tensorflow/tfjs-node')) return;
    const info = await initBackend('tensorflow', testBackendOptions());
    expect(info.name).toMatch(WASM);
    expect(info.notes[0]).toBe('tfjs-node unavailable: not installed');
  });
});
