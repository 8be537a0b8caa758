// The native kernels addon for the tests of test/ml/backend, loaded as the worker loads it (the
// OpenBLAS core chosen from the CPU flags first). Where it is not built, its tests skip with a
// warning; in CI (CI=true: .ci/run builds it with `npm run build:native`) a missing addon fails
// the file instead, with the reason.
import { prepareOpenBlasCore } from '../../../src/jobs/native-env.ts';
import { loadNativeKernels, type NativeKernels } from '../../../src/ml/kernels/native-addon.ts';

export function nativeForTests(): NativeKernels | null {
  prepareOpenBlasCore();
  const native = loadNativeKernels();
  if ('kernels' in native) return native.kernels;
  if (process.env.CI === 'true') throw new Error(`CI=true but the native kernels addon is not loaded: ${native.reason}`);
  console.warn(`${native.reason} (no C toolchain or libopenblas-dev?): the native kernels' tests are skipped`);
  return null;
}
