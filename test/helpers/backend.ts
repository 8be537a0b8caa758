// initBackend's options as the worker takes them from the environment, so that the tests that
// start a backend honour GLIMPSE_NATIVE_KERNELS=off (the suites run with and without the native
// kernels) and the OpenBLAS variables. One place to point at src/config once it parses them.
import type { BackendOptions } from '../../src/ml/backend.ts';
import { nativeBackendOptions } from '../../src/jobs/native-env.ts';

export function testBackendOptions(): BackendOptions {
  return nativeBackendOptions();
}
