// What a training run needs in memory, estimated from its settings alone (no TensorFlow.js): the API
// refuses a run whose estimate exceeds the worker's budget before it is queued, and the worker checks
// again before it builds the model. Pure arithmetic: the API may load this file.
//
// The estimate counts float32 values: parameters × 5 (weights, gradients, Adam's two moments, one
// transient copy while clipping) and, per example of a batch, what a training step holds at its peak
// (forward activations kept for backpropagation and the gradients built from them). The coefficients
// were measured with tf.profile() on wasm by varying one size at a time: per example and time step
// ≈ 24 × L·U (the attention's [L, U] tensors and their gradients), 3 × L·D (the context), 14 × V
// (logits, softmax, their gradients); the CNN ≈ 14 × its conv outputs. A 1.1× margin on top.
// test/ml/settings/memory.test.ts checks the estimate against the measured peak.
import { DEFAULT_BACKBONE_IMAGE_SIZE, DEFAULT_CNN_IMAGE_SIZE, MAX_CAPTION_TOKENS, SPECIAL_TOKENS, type RunSettings } from './training.ts';

/** Feature depth assumed for a pretrained backbone (unknown until it is loaded): InceptionV3's, the largest common one. */
export const BACKBONE_CHANNELS_ESTIMATE = 2048;
const FLOAT = 4;
const MARGIN = 1.1;

export interface MemoryEstimate {
  parameters: number;
  /** bytes of parameters, gradients and optimizer state */
  parameterBytes: number;
  /** bytes of one training step's activations */
  activationBytes: number;
  totalBytes: number;
}

type Sizes = Pick<
  RunSettings,
  'batchSize' | 'embeddingDim' | 'units' | 'vocabSize' | 'maxLength' | 'imageSize' | 'gridSize' | 'channels' | 'encoderDim'
> & {
  backbone?: string;
};

export function estimateTrainingMemory(s: Sizes): MemoryEstimate {
  const V = s.vocabSize + SPECIAL_TOKENS;
  const T = s.maxLength ?? MAX_CAPTION_TOKENS;
  const { embeddingDim: E, units: U, encoderDim: D, batchSize: B } = s;
  const L = s.gridSize * s.gridSize;
  const size = s.imageSize ?? (s.backbone ? DEFAULT_BACKBONE_IMAGE_SIZE : DEFAULT_CNN_IMAGE_SIZE);

  let cnnParams = 0;
  let cnnActivations = 0;
  let C = BACKBONE_CHANNELS_ESTIMATE;
  if (!s.backbone) {
    let previous = 3;
    let side = size;
    cnnActivations = 3 * side * side * 3;
    for (const c of s.channels ?? []) {
      cnnParams += 9 * previous * c + c;
      cnnActivations += 14 * side * side * c; // conv, relu, pool and their gradients
      side = Math.max(1, side / 2);
      previous = c;
    }
    C = previous;
  }
  const decoderParams =
    C * D +
    D + // feature projection
    D * U +
    U * U +
    U +
    2 * U + // attention W1, W2, V and biases
    V * E + // embedding
    3 * (E + D) * U +
    3 * U * U +
    6 * U + // GRU
    U * U +
    U +
    U * V +
    V; // fc1, fc2
  const parameters = cnnParams + decoderParams;
  const perStep = 24 * L * U + 3 * L * D + 14 * V + 4 * E + 10 * U;
  const perExample = cnnActivations + 3 * L * C + 3 * L * D + T * perStep;
  const parameterBytes = parameters * 5 * FLOAT;
  const activationBytes = Math.ceil(B * perExample * FLOAT * MARGIN);
  return { parameters, parameterBytes, activationBytes, totalBytes: parameterBytes + activationBytes };
}

/**
 * The sizes a run will really have on a dataset (its caption statistics; null: unknown): the vocabulary
 * cannot exceed the distinct words, the captions not the longest one (nor the MAX_CAPTION_TOKENS cap).
 */
export function sizesOnDataset<S extends Sizes>(run: S, stats: { words: number | null; maxTokens: number | null }): S {
  const longest = Math.min(stats.maxTokens ?? MAX_CAPTION_TOKENS, MAX_CAPTION_TOKENS);
  return {
    ...run,
    vocabSize: Math.min(run.vocabSize, stats.words ?? run.vocabSize),
    maxLength: Math.min(run.maxLength ?? longest, longest),
  };
}

/** "1.5 GiB", "300 MiB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Steps a run will take, from a dataset's counts alone (the API's figure before the worker has read the
 * captions; the worker then stores the exact one). Exact when every image has the same number of
 * captions (synthetic sets); the split keeps round(images × valFraction) images out, at least one of two.
 */
export function estimateTotalSteps(
  run: { epochs: number; batchSize: number; valFraction: number },
  dataset: { imageCount: number; captionCount: number },
): number | null {
  const { imageCount: images, captionCount: captions } = dataset;
  if (images <= 0 || captions <= 0) return null;
  let val = Math.round(images * run.valFraction);
  if (run.valFraction > 0 && images >= 2) val = Math.min(Math.max(val, 1), images - 1);
  const trainCaptions = Math.round((captions * (images - val)) / images);
  return run.epochs * Math.ceil(trainCaptions / run.batchSize);
}
