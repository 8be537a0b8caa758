// The decoder's step weights built once per model (frozen) or per decode, the encoded images a
// decode keeps, and one batched decoder step.
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel, EncoderInput } from '../model/captionModel.ts';
import {
  copyFromHeap,
  type DecodeStepWeights,
  nativeDecodeStep,
  nativeDecodeStepAvailable,
  packPanels,
} from '../kernels/native-decode-step.ts';
import { decoderStep, stepWeights, type EncodedImages, type StepWeights } from '../model/decoder.ts';
import { OUTPUT_CONTEXT_KERNEL } from '../model/weights.ts';

/** The step weights of one model (views and concats of its variables), with their disposal. */
export interface FrozenStepWeights {
  readonly step: StepWeights;
  /**
   * The native step's tensors (its products' weights packed: built with the rest where the native
   * step runs, else at the first call), or null where the native step does not run now.
   */
  native(): DecodeStepWeights | null;
  /** disposes the tensors built from the variables (not the variables) */
  dispose(): void;
}

/**
 * Builds the decoder's step weights (the fused [W2 | GRU recurrent] kernel and the GRU input
 * kernel's slices) once. A served model whose variables no longer change passes them to every
 * decode: each decode then skips the ~4 ms of concats and XNNPACK packs the fused kernels once,
 * not at every decode's first step (~5–10 ms at the reference size); with the native step, the
 * packed copies of its products' weights (~20 ms) are built once too. Stale once the variables
 * change (training): build them again then.
 */
export function freezeStepWeights(model: CaptionModel): FrozenStepWeights {
  const built = tf.tidy(() => {
    const s = stepWeights(model.weights);
    return [s.stateKernel, s.stateBias, s.contextKernel, s.embeddingKernel, s.inputBias, s.v];
  });
  const [stateKernel, stateBias, contextKernel, embeddingKernel, inputBias, v] = built;
  const step: StepWeights = {
    stateKernel: stateKernel as tf.Tensor2D,
    stateBias: stateBias as tf.Tensor1D,
    contextKernel: contextKernel as tf.Tensor2D,
    embeddingKernel: embeddingKernel as tf.Tensor2D,
    inputBias: inputBias as tf.Tensor1D, // a variable
    v: v as tf.Tensor2D, // a variable
  };
  // packed now where the native step runs (a served model's tensors all built at load), else at first use
  let native = nativeDecodeStepAvailable() ? nativeStepWeights(model, step) : null;
  return {
    step,
    native: () => {
      if (!nativeDecodeStepAvailable()) return null;
      native ??= nativeStepWeights(model, step);
      return native.weights;
    },
    dispose: () => tf.dispose([stateKernel!, stateBias!, contextKernel!, embeddingKernel!, ...(native?.packed ?? [])]),
  };
}

/** Encoded images and the step weights, kept for a whole decode (dispose with release()). */
export interface Prepared {
  images: EncodedImages;
  step: StepWeights;
  /** the tensors of the native decoding step, where it runs (chosen once per decode); else null */
  native: DecodeStepWeights | null;
  /** host buffers the native step's outputs are copied into, reused step after step (this decode's own) */
  host: { logProbs: Float32Array; alphas: Float32Array };
  release(): void;
}

/**
 * The tensors the native step reads: the model's variables and biases, and its products' weights
 * packed (copies, ~18 MB at the reference size: native/few_rows.h streams them ~2× faster).
 */
function nativeStepWeights(model: CaptionModel, step: StepWeights): { weights: DecodeStepWeights; packed: tf.Tensor[] } {
  const w = model.weights;
  const pack = (t: tf.Tensor2D) => tf.keep(packPanels(t)); // kept by FrozenStepWeights, whatever scope builds them
  const stateKernel = pack(step.stateKernel);
  const gruKernel = pack(w.matrix('decoder/gru/kernel'));
  const fc1 = pack(w.matrix('decoder/fc1/kernel'));
  const fc2 = pack(w.matrix('decoder/fc2/kernel'));
  const outContext = w.has(OUTPUT_CONTEXT_KERNEL) ? pack(w.matrix(OUTPUT_CONTEXT_KERNEL)) : undefined;
  const weights: DecodeStepWeights = {
    embedding: w.matrix('decoder/embedding'),
    stateKernel,
    stateBias: step.stateBias,
    v: step.v,
    gruKernel,
    inputBias: step.inputBias,
    fc1,
    fc1Bias: w.vector('decoder/fc1/bias'),
    ...(outContext ? { outContext } : {}),
    fc2,
    fc2Bias: w.vector('decoder/fc2/bias'),
  };
  return { weights, packed: [stateKernel, gruKernel, fc1, fc2, ...(outContext ? [outContext] : [])] };
}

export function prepare(model: CaptionModel, input: EncoderInput, frozen?: FrozenStepWeights): Prepared {
  const images = tf.tidy(() => {
    const encoded = model.encode(input);
    return [encoded.features, encoded.keys];
  });
  const weights = frozen ?? freezeStepWeights(model); // built for this decode unless given
  return {
    images: { features: images[0] as tf.Tensor3D, keys: images[1] as tf.Tensor3D },
    step: weights.step,
    native: weights.native(),
    host: { logProbs: new Float32Array(0), alphas: new Float32Array(0) },
    release: () => {
      tf.dispose(images);
      if (weights !== frozen) weights.dispose();
    },
  };
}

/** Node's setImmediate; a browser has none, and a zero timeout lets its event loop turn as well */
const nextTurn: (fn: () => void) => unknown = typeof setImmediate === 'function' ? setImmediate : (fn) => setTimeout(fn, 0);

export const yieldToEventLoop = (): Promise<void> => new Promise((resolveFn) => nextTurn(resolveFn));

/**
 * What one step gives the search: log-probabilities [N·V], attention [N·L] on the host (from the
 * native step: valid until the decode's next step), the new state.
 */
export interface StepOutput {
  logProbs: Float32Array;
  alphas: Float32Array;
  h: tf.Tensor2D;
}

function readBack(out: { logProbs: tf.Tensor; alpha: tf.Tensor; h: tf.Tensor2D }): StepOutput {
  const logProbs = out.logProbs.dataSync() as Float32Array;
  const alphas = out.alpha.dataSync() as Float32Array;
  tf.dispose([out.logProbs, out.alpha]);
  return { logProbs, alphas, h: out.h };
}

/**
 * One native decoding step (prepared.native non-null): row n reads the image imageRows[n] of the
 * prepared images and the state row stateRows[n] of h (absent: row n). Its log-probabilities and
 * attention land in prepared.host's buffers (grown when a step has more rows), overwritten by the
 * next step.
 */
export function runNativeStep(
  prepared: Prepared,
  tokens: Int32Array,
  h: tf.Tensor2D,
  imageRows?: Int32Array,
  stateRows?: Int32Array,
): StepOutput {
  const { native, images, host } = prepared;
  const out =
    native == null ? null : nativeDecodeStep(native, { tokens, keys: images.keys, features: images.features, h, imageRows, stateRows });
  if (out == null) throw new Error('the native decoding step was switched off during a decode');
  try {
    if (host.logProbs.length < out.logProbs.size) host.logProbs = new Float32Array(out.logProbs.size);
    if (host.alphas.length < out.alpha.size) host.alphas = new Float32Array(out.alpha.size);
    return { logProbs: copyFromHeap(out.logProbs, host.logProbs), alphas: copyFromHeap(out.alpha, host.alphas), h: out.h };
  } finally {
    tf.dispose([out.logProbs, out.alpha]);
  }
}

/** One batched step: previous tokens → log-probabilities [N·V], attention [N·L], new state. */
export function runStep(model: CaptionModel, prepared: Prepared, images: EncodedImages, tokens: Int32Array, h: tf.Tensor2D): StepOutput {
  if (prepared.native != null) return runNativeStep(prepared, tokens, h);
  const out = tf.tidy(() => {
    const step = decoderStep(model.weights, prepared.step, images, tf.tensor1d(tokens, 'int32'), h);
    return { logProbs: tf.logSoftmax(step.logits), alpha: step.alpha, h: step.h };
  });
  return readBack(out);
}
