// One decoding step (src/ml/model/decoder.ts decoderStep, then the log-softmax) as ONE native kernel
// (native/decode_step.c, decodeStep) on the wasm heap: the embedding lookup, the state product, the
// attention weights and context, the GRU input product and cell, fc1, fc2 and the log-softmax, ~37
// tfjs kernels per step at inference. The products' weights are packed once (packDecodeWeights: column
// chunks of 16, [ceil(N/16), K, 16], what native/few_rows.h streams). Beam search's rows name the image (keys, features) and the
// state row they read, so the step needs no per-row copies of the images nor a gather of the states.
// Inference only (no gradient). Used where the backend is wasm with the native kernels (and their
// 'decode-step' part) on; else null and the caller runs the tfjs ops.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const DECODE_STEP = 'GlimpseDecodeStep';

/**
 * The model's tensors one step reads: variables, and the products' weights packed
 * (packPanels of a [K, N] matrix: [ceil(N/16), K, 16]).
 */
export interface DecodeStepWeights {
  /** [V, D] */
  embedding: tf.Tensor2D;
  /** packed [U, 4U]: W2 and the GRU recurrent kernel side by side */
  stateKernel: tf.Tensor3D;
  /** [4U] */
  stateBias: tf.Tensor1D;
  /** attention V [U, 1] */
  v: tf.Tensor2D;
  /** packed GRU input kernel [E + D, 3U]: context rows, then embedding rows */
  gruKernel: tf.Tensor3D;
  /** [3U] */
  inputBias: tf.Tensor1D;
  /** packed [U, F] */
  fc1: tf.Tensor3D;
  /** [F] */
  fc1Bias: tf.Tensor1D;
  /** the deep output's context rows of fc1, packed [E, F], if the model has them */
  outContext?: tf.Tensor3D;
  /** packed [F, V] */
  fc2: tf.Tensor3D;
  /** [V] */
  fc2Bias: tf.Tensor1D;
}

/** columns per packed chunk (native/few_rows.h, PANEL_COLS) */
const PANEL_COLS = 16;

/**
 * w [K, N] → [ceil(N/16), K, 16]: chunk q holds columns 16q..16q+15 of every row (zeros past N), the
 * layout the native step's products stream (native/few_rows.h). A copy: build it once per served model.
 */
export function packPanels(w: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [K, N] = w.shape;
    const chunks = Math.ceil(N / PANEL_COLS);
    const padded =
      chunks * PANEL_COLS === N
        ? w
        : tf.pad(w, [
            [0, 0],
            [0, chunks * PANEL_COLS - N],
          ]);
    return tf.transpose(tf.reshape(padded, [K, chunks, PANEL_COLS]), [1, 0, 2]);
  });
}

function checkPacked(t: tf.TensorInfo | undefined, K: number, N: number, what: string): void {
  if (t == null) return;
  const shape = [Math.ceil(N / PANEL_COLS), K, PANEL_COLS];
  if (t.dtype !== 'float32' || t.shape.length !== 3 || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${DECODE_STEP}: ${what} must be packed float32 [${shape}] (packPanels of [${K}, ${N}]), got ${t.dtype} [${t.shape}]`);
  }
}

function check(t: tf.TensorInfo | undefined, shape: number[], what: string, dtype: 'float32' | 'int32' = 'float32'): void {
  if (t == null) return;
  if (t.dtype !== dtype || tf.util.sizeFromShape(t.shape) !== tf.util.sizeFromShape(shape) || t.shape.length === 0) {
    throw new Error(`${DECODE_STEP}: ${what} must be ${dtype} of shape [${shape}], got ${t.dtype} [${t.shape}]`);
  }
}

const stepKernel = nativeKernel({
  kernelName: DECODE_STEP,
  entry: 'decodeStep',
  fallback: 'none',
  list: true,
  plan({ inputs }) {
    const t = (name: string) => required(inputs, name);
    const tokens = t('tokens');
    const keys = t('keys');
    const features = t('features');
    const h = t('h');
    const fc1 = t('fc1');
    const fc2 = t('fc2');
    const embedding = t('embedding');
    const fc1Bias = t('fc1Bias');
    const { imageRows, stateRows, outContext } = inputs;
    const N = tokens.shape[0];
    const [images, L, U] = keys.shape;
    const E = features.shape[2];
    const states = h.shape[0];
    const [V, D] = embedding.shape;
    const F = fc1Bias.shape[0];
    check(tokens, [N], 'tokens', 'int32');
    check(features, [images, L, E], 'features');
    check(h, [states, U], 'h');
    check(imageRows, [N], 'imageRows', 'int32');
    check(stateRows, [N], 'stateRows', 'int32');
    checkPacked(t('stateKernel'), U, 4 * U, 'stateKernel');
    check(t('stateBias'), [4 * U], 'stateBias');
    check(t('v'), [U, 1], 'v');
    checkPacked(t('gruKernel'), E + D, 3 * U, 'gruKernel');
    check(t('inputBias'), [3 * U], 'inputBias');
    checkPacked(fc1, U, F, 'fc1');
    check(fc1Bias, [F], 'fc1Bias');
    checkPacked(outContext, E, F, 'outContext');
    checkPacked(fc2, F, V, 'fc2');
    check(t('fc2Bias'), [V], 'fc2Bias');
    if ((imageRows == null && images !== N) || (stateRows == null && states !== N)) {
      throw new Error(`${DECODE_STEP}: without row indices the images (${images}) and states (${states}) must be the ${N} rows`);
    }
    return {
      outputs: [
        [N, V],
        [N, L],
        [N, U],
      ], // log-probabilities, α, h'
      params: (offset, [logProbs, alpha, hNew]) => ({
        tokensOff: offset(tokens),
        embeddingOff: offset(embedding),
        stateKernelOff: offset(t('stateKernel')),
        stateBiasOff: offset(t('stateBias')),
        keysOff: offset(keys),
        featuresOff: offset(features),
        imageRowsOff: imageRows != null ? offset(imageRows) : -1,
        stateRowsOff: stateRows != null ? offset(stateRows) : -1,
        vOff: offset(t('v')),
        gruKernelOff: offset(t('gruKernel')),
        inputBiasOff: offset(t('inputBias')),
        fc1Off: offset(fc1),
        fc1BiasOff: offset(fc1Bias),
        outContextOff: outContext != null ? offset(outContext) : -1,
        fc2Off: offset(fc2),
        fc2BiasOff: offset(t('fc2Bias')),
        hOff: offset(h),
        logProbsOff: logProbs,
        alphaOff: alpha,
        hNewOff: hNew,
        N,
        images,
        states,
        L,
        U,
        E,
        D,
        F,
        V,
      }),
    };
  },
});

/** The fused decoding step: a kernel of its own (no fallback: callers check first). */
export const NATIVE_DECODE_STEP_KERNELS: NativeKernel[] = [stepKernel];

/** Whether nativeDecodeStep runs here (wasm, the native kernels and their 'decode-step' part on). */
export function nativeDecodeStepAvailable(): boolean {
  return tf.getBackend() === 'wasm' && activeNativePart('decode-step') != null;
}

export interface DecodeStepInput {
  /** previous tokens [N] */
  tokens: Int32Array;
  /** attention keys [images, L, U] */
  keys: tf.Tensor3D;
  /** projected features [images, L, E] */
  features: tf.Tensor3D;
  /** state [states, U] */
  h: tf.Tensor2D;
  /** the image of each row (absent: row n reads image n, images = N) */
  imageRows?: Int32Array;
  /** the state row of each row (absent: row n reads state n, states = N) */
  stateRows?: Int32Array;
}

/**
 * One decoding step natively: log-probabilities [N, V], attention α [N, L] and the new state [N, U],
 * or null where not available (see nativeDecodeStepAvailable). Throws on tensors of inconsistent
 * shapes and (from the addon) on a token or row index out of range.
 */
export function nativeDecodeStep(
  weights: DecodeStepWeights,
  input: DecodeStepInput,
): { logProbs: tf.Tensor2D; alpha: tf.Tensor2D; h: tf.Tensor2D } | null {
  if (!nativeDecodeStepAvailable()) return null;
  const uploaded = [tf.tensor1d(input.tokens, 'int32')];
  const inputs: tf.NamedTensorMap = {
    ...(weights as unknown as tf.NamedTensorMap),
    tokens: uploaded[0],
    keys: input.keys,
    features: input.features,
    h: input.h,
  };
  if (input.imageRows) uploaded.push((inputs.imageRows = tf.tensor1d(input.imageRows, 'int32')));
  if (input.stateRows) uploaded.push((inputs.stateRows = tf.tensor1d(input.stateRows, 'int32')));
  if (weights.outContext == null) delete inputs.outContext;
  try {
    const [logProbs, alpha, h] = tf.engine().runKernel(DECODE_STEP, inputs, {}) as tf.Tensor2D[];
    return { logProbs, alpha, h };
  } finally {
    tf.dispose(uploaded);
  }
}

/**
 * Copies a float32 tensor of the wasm backend (a native step's output) into `into` from its start
 * and returns that part of it: dataSync without its fresh buffer (a decode's 20 steps at batch 16
 * allocated 6.4 MB of them, and V8 answered that external memory with a full GC every few decodes).
 * `into` must hold the tensor's size.
 */
export function copyFromHeap(t: tf.Tensor, into: Float32Array): Float32Array {
  const view = (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  into.set(view);
  return into.subarray(0, view.length);
}
