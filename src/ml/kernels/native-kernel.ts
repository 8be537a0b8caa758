// A native kernel declared once: which tfjs kernel it is, which entry point of the addon computes
// it, when it declines (then the kernel registered before it runs), and how its outputs and
// parameters follow from the inputs. One wrapper does the rest for every kernel: allocate the
// outputs on the wasm heap (makeOutput), read every offset after the allocations (allocating may
// grow the heap: offsets stay, the buffer changes), call the addon on the current heap, release
// the outputs if anything throws.
//
// Also the switch that turns every native kernel on or off at run time (tests and benches
// compare both in one process) and the addon whose kernels are installed.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeKernels } from './native-addon.ts';
import { type NativeEntry, type NativeParams, packParams } from './native-params.ts';
import { kernelBefore } from './registry.ts';

/** What a kernel function receives: inputs, backend, attributes. */
type KernelArgs = Parameters<tf.KernelFunc>[0];

/** What one call of a native kernel computes. */
export interface NativeCall<E extends NativeEntry> {
  /** the float32 outputs' shapes, allocated in this order */
  outputs: number[][];
  /**
   * the entry point's parameters, given the heap offset of any tensor and of each output (in the
   * order of `outputs`); null when every output is all zeros (empty inputs): no call
   */
  params: ((offset: (t: tf.TensorInfo) => number, outs: number[]) => NativeParams<E>) | null;
}

export interface NativeKernelDecl<E extends NativeEntry> {
  kernelName: string;
  /** the addon's function that computes it */
  entry: E;
  /**
   * 'previous': the kernel registered before this one (stock or ours) takes what this one
   * declines; 'none': a kernel wasm does not have, which throws where it declines
   */
  fallback: 'previous' | 'none';
  /** returns its outputs as a list (a kernel of several outputs), not the single output */
  list?: boolean;
  /** a switch of this kernel alone, besides the global one */
  enabled?: () => boolean;
  /** The call for these arguments, or null where this kernel declines them (the fallback condition). */
  plan(args: KernelArgs): NativeCall<E> | null;
}

let enabled = true;
let installed: NativeKernels | null = null;

/** Turns the native kernels (and the native optimiser and attention) on or off at run time. */
export function setNativeKernels(on: boolean): void {
  enabled = on;
}

/**
 * Parts of the native layer that can be switched alone (benches compare them in one process);
 * 'conv2d' (the forward conv and its input gradient) runs where 'conv' is on too.
 */
export type NativePart =
  | 'conv'
  | 'conv2d'
  | 'optimizer'
  | 'attention'
  | 'attention-softmax'
  | 'gru'
  | 'recurrence'
  | 'decode-step'
  | 'cross-entropy';

const partsOff = new Set<NativePart>();

/** Turns one part on or off (it runs where the native kernels are on too). */
export function setNativePart(part: NativePart, on: boolean): void {
  if (on) partsOff.delete(part);
  else partsOff.add(part);
}

/** The addon while the native kernels and `part` are on, else null. */
export function activeNativePart(part: NativePart): NativeKernels | null {
  return partsOff.has(part) ? null : activeNativeKernels();
}

/** Whether `part` is switched on (the global switch aside). */
export function nativePartOn(part: NativePart): boolean {
  return !partsOff.has(part);
}

/** Records the addon whose kernels are registered on wasm (native-install.ts). */
export function setInstalledNativeKernels(kernels: NativeKernels): void {
  installed = kernels;
}

/** The addon whose kernels are installed on wasm, while they are enabled. */
function activeNativeKernels(): NativeKernels | null {
  return enabled ? installed : null;
}

/** The current bytes of the wasm memory (it may have grown, and been replaced, since the last call). */
export function heapBytes(wasm: BackendWasm): Uint8Array {
  const module = wasm.wasm as unknown as { wasmMemory?: WebAssembly.Memory; HEAPU8: Uint8Array };
  return module.wasmMemory != null ? new Uint8Array(module.wasmMemory.buffer) : module.HEAPU8;
}

/** Allocates the call's outputs, fills them through the addon, returns them; releases them if anything throws. */
function run<E extends NativeEntry>(entry: E, kernels: NativeKernels, wasm: BackendWasm, call: NativeCall<E>): tf.TensorInfo[] {
  const outs: tf.TensorInfo[] = [];
  try {
    for (const shape of call.outputs) outs.push(wasm.makeOutput(shape, 'float32'));
    if (call.params == null) {
      for (const out of outs) wasm.typedArrayFromHeap(out).fill(0);
    } else {
      const values = call.params(
        (t) => wasm.getMemoryOffset(t.dataId),
        outs.map((o) => wasm.getMemoryOffset(o.dataId)),
      );
      // looked up per call: tests wrap the addon's functions to count calls
      const fn = kernels.addon[entry] as (heap: Uint8Array, params: Float64Array) => unknown;
      fn(heapBytes(wasm), packParams(entry, values));
    }
    return outs;
  } catch (err) {
    for (const out of outs) wasm.disposeData(out.dataId);
    throw err;
  }
}

/** A declared native kernel: its wasm KernelConfig over a loaded addon (made before registering it: it looks up its fallback). */
export interface NativeKernel {
  kernelName: string;
  config(kernels: NativeKernels): tf.KernelConfig;
}

/** Declares a native kernel (registered with the others by native-install.ts). */
export function nativeKernel<E extends NativeEntry>(decl: NativeKernelDecl<E>): NativeKernel {
  const config = (kernels: NativeKernels): tf.KernelConfig => {
    const fallback = decl.fallback === 'previous' ? kernelBefore(decl.kernelName, 'wasm') : null;
    const kernelFunc: tf.KernelFunc = (args) => {
      const on = enabled && (decl.enabled?.() ?? true);
      const call = on ? decl.plan(args) : null;
      if (call == null) {
        if (fallback != null) return fallback.kernelFunc(args);
        throw new Error(
          on
            ? `${decl.kernelName} on wasm: the native kernel does not take these inputs`
            : `${decl.kernelName} on wasm needs the native addon (native kernels are off)`,
        );
      }
      const outs = run(decl.entry, kernels, args.backend as BackendWasm, call);
      return decl.list ? outs : outs[0];
    };
    // the stock kernel's setup (run when the backend initialises) and disposal stay with it
    return { ...fallback, kernelName: decl.kernelName, backendName: 'wasm', kernelFunc };
  };
  return { kernelName: decl.kernelName, config };
}
