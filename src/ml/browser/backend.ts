// The TF.js backend of a page: WebGPU where the browser has it, else WebGL, else wasm (SIMD, single
// thread unless the page is cross-origin isolated), whose .wasm files the page serves itself (no CDN).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// registers the 'webgpu' backend (tfjs registers 'webgl', 'cpu' and, through the import above, 'wasm')
import '@tensorflow/tfjs-backend-webgpu';

export const DEVICE_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type DeviceBackend = (typeof DEVICE_BACKENDS)[number];

/** The .wasm files of @tensorflow/tfjs-backend-wasm, by the name tfjs asks for, → the URL the page serves each at. */
export type WasmFiles = Record<string, string>;

export interface BackendChoice {
  /** try only this backend (a test pins wasm, the family the worker runs on); default: webgpu → webgl → wasm */
  backend?: DeviceBackend;
  /** where the page serves the wasm backend's files; required for wasm */
  wasmFiles?: WasmFiles;
}

/** Makes the first backend that starts current and returns its name, or throws naming each that did not. */
export async function pickBackend({ backend, wasmFiles }: BackendChoice = {}): Promise<DeviceBackend> {
  if (wasmFiles) setWasmPaths(wasmFiles);
  const order: readonly DeviceBackend[] = backend ? [backend] : ['webgpu', 'webgl', 'wasm'];
  const failed: string[] = [];
  for (const name of order) {
    if (name === 'wasm' && !wasmFiles) {
      failed.push('wasm (no wasmFiles given)');
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      failed.push(`${name} (not available here)`);
    } catch (error) {
      failed.push(`${name} (${(error as Error).message})`);
    }
  }
  throw new Error(`no TF.js backend started: ${failed.join(', ')}`);
}
