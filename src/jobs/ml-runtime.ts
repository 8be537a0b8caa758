// Isolation of the ML runtime. A WebAssembly trap ("memory access out of bounds", "unreachable"),
// an Emscripten abort or an allocation failure inside TF.js leaves its heap in an unknown state:
// every later job on the same runtime may fail the same way. The job that hit it fails; then the
// guard marks the runtime broken and calls `onBroken`, and the worker stops taking jobs (the
// worker process exits with EXIT_ML_RUNTIME_BROKEN so that its supervisor starts a fresh one).
//
// Test seam: given a `faultFile` (the worker passes config.testWasmFault, GLIMPSE_TEST_WASM_FAULT, which
// only tests set), a job that starts while that file exists deletes it and executes a real
// out-of-bounds WebAssembly load, which throws the same WebAssembly.RuntimeError an oversized run does.
import { unlinkSync } from 'node:fs';

export { EXIT_ML_RUNTIME_BROKEN } from '../process/exit-codes.ts';

const FATAL_MESSAGE = /memory access out of bounds|^Aborted\(|Cannot enlarge memory|Array buffer allocation failed/;

/** true for errors after which the runtime's memory cannot be trusted */
export function isFatalRuntimeError(error: unknown): boolean {
  if (error instanceof WebAssembly.RuntimeError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'RuntimeError' || FATAL_MESSAGE.test(error.message)) return true;
  return error.cause !== undefined && error.cause !== error && isFatalRuntimeError(error.cause);
}

// (module (memory 1) (func (export "f") (result i32) i32.const -1 i32.load))
const OUT_OF_BOUNDS_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00,
  0x01, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x41, 0x7f, 0x28, 0x02, 0x00, 0x0b,
]);

/** executes a real out-of-bounds load: throws WebAssembly.RuntimeError("memory access out of bounds") */
export function wasmOutOfBounds(): never {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(OUT_OF_BOUNDS_MODULE));
  (instance.exports.f as () => number)();
  throw new Error('the out-of-bounds load did not trap');
}

export interface MlRuntimeGuard {
  /** the error that broke the runtime, once one did */
  readonly broken: Error | undefined;
  /** call before ML work: throws when the runtime is broken (and fires the test fault) */
  beforeWork(): void;
  /** call with the error a job failed with: a fatal one marks the runtime broken */
  failed(error: unknown): void;
}

export function mlRuntimeGuard(onBroken: (error: Error) => void, faultFile?: string): MlRuntimeGuard {
  let broken: Error | undefined;
  const guard: MlRuntimeGuard = {
    get broken() {
      return broken;
    },
    beforeWork() {
      if (broken) throw new Error(`the ML runtime of this worker is broken (${broken.message}); it takes no more jobs`);
      if (!faultFile) return;
      try {
        unlinkSync(faultFile);
      } catch {
        return; // no trigger file: nothing to do
      }
      wasmOutOfBounds();
    },
    failed(error) {
      if (broken || !isFatalRuntimeError(error)) return;
      broken = error as Error;
      onBroken(broken);
    },
  };
  return guard;
}
