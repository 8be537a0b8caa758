// Kernel registration in one place, tfjs' own way (KernelConfig objects registered in a loop).
// Our kernels replace a backend's stock ones or stand beside them; one that replaces a kernel
// usually defers to it for the inputs it does not take, so it looks that kernel up before
// registering over it.
import * as tf from '@tensorflow/tfjs';

/** The kernel registered now for `kernelName` on `backendName` (the one a new config will replace); throws if none. */
export function kernelBefore(kernelName: string, backendName: string): tf.KernelConfig {
  const config = tf.getKernel(kernelName, backendName);
  if (config == null) throw new Error(`${backendName} kernel ${kernelName} is not registered`);
  return config;
}

/** Registers every config, replacing any kernel registered under the same name and backend. */
export function registerKernels(configs: readonly tf.KernelConfig[]): void {
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, config.backendName) != null) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}
