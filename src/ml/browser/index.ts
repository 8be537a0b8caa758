// The entry of the browser bundle (bundled by esbuild, src/web/device.ts): a trained model captioning on the
// user's device. No Node import anywhere under it (test/architecture.test.ts follows its imports).
import * as tf from '@tensorflow/tfjs';

export { DEVICE_BACKENDS, type DeviceBackend, pickBackend, type WasmFiles } from './backend.ts';
export { type DeviceCaptioner, type DeviceCaptionerOptions, type DeviceImage, loadDeviceCaptioner } from './captioner.ts';
export { fetchModel } from './model-files.ts';
export { decodePixels, imagePixels } from './pixels.ts';

/** tensors alive on the current backend (a page checks that captioning leaks none) */
export const liveTensors = (): number => tf.memory().numTensors;
