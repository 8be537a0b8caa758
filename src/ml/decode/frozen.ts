// The decoder's step weights built once per model (frozen) or per decode, the encoded images a
// decode keeps, and one batched decoder step.
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel, EncoderInput } from '../model/captionModel.ts';
import { decoderStep, stepWeights, type EncodedImages, type StepWeights } from '../model/decoder.ts';

/** The step weights of one model (views and concats of its variables), with their disposal. */
export interface FrozenStepWeights {
  readonly step: StepWeights;
  /** disposes the tensors built from the variables (not the variables) */
  dispose(): void;
}

/**
 * Builds the decoder's step weights (the fused [W2 | GRU recurrent] kernel and the GRU input
 * kernel's slices) once. A served model whose variables no longer change passes them to every
 * decode: each decode then skips the ~4 ms of concats and XNNPACK packs the fused kernels once,
 * not at every decode's first step (~5–10 ms at the reference size). Stale once the variables
 * change (training): build them again then.
 */
export function freezeStepWeights(model: CaptionModel): FrozenStepWeights {
  const built = tf.tidy(() => {
    const s = stepWeights(model.weights);
    return [s.stateKernel, s.stateBias, s.contextKernel, s.embeddingKernel, s.inputBias, s.v];
  });
  const [stateKernel, stateBias, contextKernel, embeddingKernel, inputBias, v] = built;
  return {
    step: {
      stateKernel: stateKernel as tf.Tensor2D,
      stateBias: stateBias as tf.Tensor1D,
      contextKernel: contextKernel as tf.Tensor2D,
      embeddingKernel: embeddingKernel as tf.Tensor2D,
      inputBias: inputBias as tf.Tensor1D, // a variable
      v: v as tf.Tensor2D, // a variable
    },
    dispose: () => tf.dispose([stateKernel!, stateBias!, contextKernel!, embeddingKernel!]),
  };
}

/** Encoded images and the step weights, kept for a whole decode (dispose with release()). */
export interface Prepared {
  images: EncodedImages;
  step: StepWeights;
  release(): void;
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
    release: () => {
      tf.dispose(images);
      if (weights !== frozen) weights.dispose();
    },
  };
}

/** Node's setImmediate; a browser has none, and a zero timeout lets its event loop turn as well */
const nextTurn: (fn: () => void) => unknown = typeof setImmediate === 'function' ? setImmediate : (fn) => setTimeout(fn, 0);

export const yieldToEventLoop = (): Promise<void> => new Promise((resolveFn) => nextTurn(resolveFn));

/** One batched step: previous tokens → log-probabilities [N·V], attention [N·L], new state. */
export function runStep(
  model: CaptionModel,
  prepared: Prepared,
  images: EncodedImages,
  tokens: Int32Array,
  h: tf.Tensor2D,
): { logProbs: Float32Array; alphas: Float32Array; h: tf.Tensor2D } {
  const out = tf.tidy(() => {
    const step = decoderStep(model.weights, prepared.step, images, tf.tensor1d(tokens, 'int32'), h);
    return { logProbs: tf.logSoftmax(step.logits), alpha: step.alpha, h: step.h };
  });
  const logProbs = out.logProbs.dataSync() as Float32Array;
  const alphas = out.alpha.dataSync() as Float32Array;
  tf.dispose([out.logProbs, out.alpha]);
  return { logProbs, alphas, h: out.h };
}
