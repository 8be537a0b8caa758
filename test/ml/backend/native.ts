// The native kernels addon for the tests of test/ml/backend, loaded as the worker loads it (the
// OpenBLAS core chosen from the CPU flags first). Where it is not built, its tests skip with a
// warning; in CI (CI=true: .ci/run builds it with `npm run build:native`) a missing addon fails
// the file instead, with the reason. And the helpers those tests share.
import { expect } from 'vitest';
import { prepareOpenBlasCore } from '../../../src/jobs/native-env.ts';
import { loadNativeKernels, type NativeKernels } from '../../../src/ml/kernels/native-addon.ts';
import type { NativeEntry } from '../../../src/ml/kernels/native-params.ts';

export function nativeForTests(): NativeKernels | null {
  prepareOpenBlasCore();
  const native = loadNativeKernels();
  if ('kernels' in native) return native.kernels;
  if (process.env.CI === 'true') throw new Error(`CI=true but the native kernels addon is not loaded: ${native.reason}`);
  console.warn(`${native.reason} (no C toolchain or libopenblas-dev?): the native kernels' tests are skipped`);
  return null;
}

/** max |a − b| / max |b| (arrays of one length) */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

type HeapEntry = Exclude<NativeEntry, 'sumSquares'>;

/** Counts the calls of one of the addon's functions (the kernels look it up per call) until restore(). */
export function countCalls(native: NativeKernels | null, name: HeapEntry): { calls: () => number; restore: () => void } {
  if (native == null) throw new Error('addon not built');
  const { addon } = native;
  const real = addon[name];
  let calls = 0;
  addon[name] = (heap, params) => {
    calls++;
    real(heap, params);
  };
  return { calls: () => calls, restore: () => void (addon[name] = real) };
}

/** `good` with params[i] = value, for each [i, value]: the function throws a RangeError and leaves the heap as it was. */
export function expectRefusals(
  fn: (heap: Uint8Array, params: Float64Array) => unknown,
  heap: Uint8Array,
  good: number[],
  bad: [number, number][],
): void {
  for (const [i, value] of bad) {
    const p = Float64Array.from(good);
    p[i] = value;
    const copy = heap.slice();
    expect(() => fn(heap, p), `param ${i} = ${value}`).toThrow(RangeError);
    expect(heap).toEqual(copy);
  }
}
