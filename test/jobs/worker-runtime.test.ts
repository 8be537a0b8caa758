// The ML-runtime guard: which errors mean the wasm runtime cannot be trusted, the test fault hook
// (a real WebAssembly trap), and that a broken guard refuses further work.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFatalRuntimeError, mlRuntimeGuard, wasmOutOfBounds } from '../../src/jobs/ml-runtime.ts';

describe('ML runtime guard', () => {
  it('classifies wasm traps and aborts as fatal, ordinary errors not', () => {
    let trap: unknown;
    try {
      wasmOutOfBounds();
    } catch (e) {
      trap = e;
    }
    expect(trap).toBeInstanceOf(WebAssembly.RuntimeError);
    expect((trap as Error).message).toBe('memory access out of bounds');
    expect(isFatalRuntimeError(trap)).toBe(true);
    expect(isFatalRuntimeError(new Error('Aborted(OOM)'))).toBe(true);
    expect(isFatalRuntimeError(new Error('step failed', { cause: trap }))).toBe(true);
    expect(isFatalRuntimeError(new Error('dataset d is FAILED'))).toBe(false);
    expect(isFatalRuntimeError(new Error("Can't reach database server"))).toBe(false);
  });

  it('fires the fault file once, marks itself broken on a fatal error and refuses more work', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'glimpse-runtime-'));
    try {
      const fault = join(dir, 'fault');
      const broken: Error[] = [];
      const guard = mlRuntimeGuard((e) => broken.push(e), fault);
      guard.beforeWork(); // no file: nothing happens
      await writeFile(fault, '');
      let error: unknown;
      try {
        guard.beforeWork();
      } catch (e) {
        error = e;
      }
      await expect(stat(fault)).rejects.toThrow(); // consumed
      guard.failed(new Error('an ordinary failure'));
      expect(guard.broken).toBeUndefined();
      guard.failed(error);
      guard.failed(error);
      expect(broken).toHaveLength(1);
      expect(() => guard.beforeWork()).toThrow(/ML runtime of this worker is broken/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
