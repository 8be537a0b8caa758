// GRU decoder with Bahdanau attention. One step: attention on the previous state, GRU on
// [context ⊕ embedding(token)], then fc1 → fc2 → vocabulary logits.
//
// The step is split so teacher forcing can batch everything that does not feed the recurrence:
// the embedding lookup and its share of the GRU input projection run once over all time steps,
// fc1/fc2 run once over all states, W2·h and the GRU's recurrent projection share one matMul.
// Only attention and the GRU cell run per step. Decoding uses the same functions with T = 1.
// On wasm with the native kernels, teacher forcing runs its whole recurrence (all T steps) in one
// native call and its gradient in another (src/ml/kernels/native-recurrence.ts); the step-by-step
// ops below remain the reference and the path everywhere else.
import * as tf from '@tensorflow/tfjs';
import { nativeRecurrence, nativeRecurrenceOn } from '../kernels/native-recurrence.ts';
import { attend, attentionKeys } from './attention.ts';
import { gruCell } from './gru.ts';
import { StepProducts } from './step-products.ts';
import { OUTPUT_CONTEXT_KERNEL, type ModelWeights } from './weights.ts';

/** Per-batch view of the weights, arranged for the fused step (build inside the tape). */
export interface StepWeights {
  /** [U, U + 3U]: W2 and the GRU recurrent kernel side by side */
  stateKernel: tf.Tensor2D;
  /** [U + 3U] */
  stateBias: tf.Tensor1D;
  /** context rows of the GRU input kernel [E, 3U] */
  contextKernel: tf.Tensor2D;
  /** embedding rows of the GRU input kernel [D, 3U] */
  embeddingKernel: tf.Tensor2D;
  /** GRU input bias [3U] */
  inputBias: tf.Tensor1D;
  /** attention V [U, 1] */
  v: tf.Tensor2D;
  /** teacher forcing: the state (0) and context (1) products, their weight gradients once over all steps */
  products?: StepProducts;
  /** the output layer's context rows [E, U] (models with deepOutput; else absent) */
  outputContextKernel?: tf.Tensor2D;
}

function requireContexts(contexts: tf.Tensor2D | undefined): tf.Tensor2D {
  if (!contexts) throw new Error('outputLogits: this model reads the attention context in its output layer; pass the contexts');
  return contexts;
}

/** Encoded images: projected features and their attention keys, both computed once. */
export interface EncodedImages {
  features: tf.Tensor3D; // [B, L, E]
  keys: tf.Tensor3D; // [B, L, U]
}

/** The step's weights other than the state projection (shared by the step-by-step and the native recurrence). */
function inputWeights(weights: ModelWeights): Omit<StepWeights, 'stateKernel' | 'stateBias' | 'products'> {
  const gruKernel = weights.matrix('decoder/gru/kernel'); // [E + D, 3U]
  const E = weights.matrix('encoder/proj/kernel').shape[1];
  const [rows, threeU] = gruKernel.shape;
  return {
    contextKernel: gruKernel.slice([0, 0], [E, threeU]), // [E, 3U]
    embeddingKernel: gruKernel.slice([E, 0], [rows - E, threeU]), // [D, 3U]
    inputBias: weights.vector('decoder/gru/input_bias'), // [3U]
    v: weights.matrix('attention/V/kernel'), // [U, 1]
    ...(weights.has(OUTPUT_CONTEXT_KERNEL) ? { outputContextKernel: weights.matrix(OUTPUT_CONTEXT_KERNEL) } : {}),
  };
}

export function stepWeights(weights: ModelWeights): StepWeights {
  return {
    stateKernel: tf.concat([weights.matrix('attention/W2/kernel'), weights.matrix('decoder/gru/recurrent')], 1), // [U, 4U]
    stateBias: tf.concat([weights.vector('attention/W2/bias'), weights.vector('decoder/gru/recurrent_bias')]), // [4U]
    ...inputWeights(weights),
  };
}

export function encodeForAttention(weights: ModelWeights, features: tf.Tensor3D): EncodedImages {
  return { features, keys: attentionKeys(weights, features) };
}

/** tokens [N] → embedding share of the GRU input projection, bias included [N, 3U] */
export function embedTokens(
  weights: ModelWeights,
  step: Pick<StepWeights, 'embeddingKernel' | 'inputBias'>,
  tokens: tf.Tensor1D,
): tf.Tensor2D {
  const embedded = tf.gather(weights.matrix('decoder/embedding'), tokens) as tf.Tensor2D; // [N, D]
  return tf.fused.matMul({ a: embedded, b: step.embeddingKernel, bias: step.inputBias }) as tf.Tensor2D; // [N, 3U]
}

/** One recurrent step given the token's input projection xEmb [B, 3U] and state h [B, U]. */
export function recurrentStep(
  step: StepWeights,
  images: EncodedImages,
  xEmb: tf.Tensor2D, // [B, 3U]
  h: tf.Tensor2D, // [B, U]
  keep?: tf.Tensor2D, // [B, 1]: context dropout's scale into the GRU (training only)
): { h: tf.Tensor2D; alpha: tf.Tensor2D; context: tf.Tensor2D } {
  const [B, U] = h.shape;
  const projected = step.products?.product(0, h) ?? tf.fused.matMul({ a: h, b: step.stateKernel, bias: step.stateBias }); // [B, 4U]
  const query = tf.slice(projected, [0, 0], [B, U]) as tf.Tensor2D; // [B, U]
  const recurrent = tf.slice(projected, [0, U], [B, 3 * U]); // [B, 3U]
  const { context, alpha } = attend(step.v, images.features, images.keys, query); // [B, E], [B, L]
  const gruContext = keep ? (tf.mul(context, keep) as tf.Tensor2D) : context; // the output layer always reads it whole
  const x = tf.add(step.products?.product(1, gruContext) ?? tf.matMul(gruContext, step.contextKernel), xEmb) as tf.Tensor2D; // [B, 3U]
  return { h: gruCell(x, recurrent as tf.Tensor2D, h), alpha, context: context as tf.Tensor2D };
}

/**
 * states [N, U] → fc2(fc1(h)) logits [N, V]; with deepOutput (the paper's deep output) fc1 also
 * reads the step's attention context [N, E]: fc2(h·W + context·Wc + b).
 */
export function outputLogits(weights: ModelWeights, states: tf.Tensor2D, contexts?: tf.Tensor2D): tf.Tensor2D {
  const fc1 = weights.matrix('decoder/fc1/kernel');
  const bias = weights.vector('decoder/fc1/bias');
  const hidden = weights.has(OUTPUT_CONTEXT_KERNEL)
    ? tf.add(tf.matMul(states, fc1), tf.fused.matMul({ a: requireContexts(contexts), b: weights.matrix(OUTPUT_CONTEXT_KERNEL), bias }))
    : tf.fused.matMul({ a: states, b: fc1, bias }); // [N, U]
  return tf.fused.matMul({ a: hidden, b: weights.matrix('decoder/fc2/kernel'), bias: weights.vector('decoder/fc2/bias') }) as tf.Tensor2D; // [N, V]
}

export function initialState(batch: number, units: number): tf.Tensor2D {
  return tf.zeros([batch, units]);
}

/**
 * The recurrence of teacher forcing over inputs [B, T] (tokens fed at each step) from a zero state:
 * the states [B·T, U] (row b·T + t) and attention weights [B, T, L], before the output layers.
 */
export function teacherForcedStates(
  weights: ModelWeights,
  images: EncodedImages,
  inputs: tf.Tensor2D,
  keep?: tf.Tensor2D[], // T × [B, 1]: context dropout into the GRU (training only)
): { states: tf.Tensor2D; alphas: tf.Tensor3D; contexts: tf.Tensor2D | undefined } {
  const fused = nativeTeacherForcedStates(weights, images, inputs, keep);
  if (fused) return fused;
  const [B, T] = inputs.shape;
  const weightsOfStep = stepWeights(weights);
  const products = new StepProducts([{ w: weightsOfStep.stateKernel, bias: weightsOfStep.stateBias }, { w: weightsOfStep.contextKernel }]);
  const step: StepWeights = { ...weightsOfStep, products };
  const U = step.stateKernel.shape[0];
  const xEmbAll = embedTokens(weights, step, inputs.reshape([B * T]) as tf.Tensor1D).reshape([B, T, 3 * U]); // [B, T, 3U]
  const xEmbSteps = tf.unstack(xEmbAll, 1) as tf.Tensor2D[]; // T × [B, 3U]
  let h = products.anchor(initialState(B, U)); // [B, U]
  const states: tf.Tensor2D[] = [];
  const alphas: tf.Tensor2D[] = [];
  const contexts: tf.Tensor2D[] = [];
  for (const [t, xEmb] of xEmbSteps.entries()) {
    const out = recurrentStep(step, images, xEmb, h, keep?.[t]);
    h = out.h;
    states.push(h);
    alphas.push(out.alpha);
    if (step.outputContextKernel) contexts.push(out.context);
  }
  const E = images.features.shape[2];
  return {
    states: tf.stack(states, 1).reshape([B * T, U]) as tf.Tensor2D, // [B·T, U]
    alphas: tf.stack(alphas, 1) as tf.Tensor3D, // [B, T, L]
    contexts: step.outputContextKernel ? (tf.stack(contexts, 1).reshape([B * T, E]) as tf.Tensor2D) : undefined, // [B·T, E]
  };
}

/** teacherForcedStates in one native call over all steps (and one for its gradient), or null where not available. */
function nativeTeacherForcedStates(
  weights: ModelWeights,
  images: EncodedImages,
  inputs: tf.Tensor2D,
  keep?: tf.Tensor2D[],
): { states: tf.Tensor2D; alphas: tf.Tensor3D; contexts: tf.Tensor2D | undefined } | null {
  if (!nativeRecurrenceOn()) return null;
  const [B, T] = inputs.shape;
  const [, L, U] = images.keys.shape;
  const E = images.features.shape[2];
  const step = inputWeights(weights);
  const xEmb = embedTokens(weights, step, inputs.reshape([B * T]) as tf.Tensor1D).reshape([B, T, 3 * U]) as tf.Tensor3D; // [B, T, 3U]
  const out = nativeRecurrence({
    keys: images.keys,
    features: images.features,
    xEmb,
    queryKernel: weights.matrix('attention/W2/kernel'),
    queryBias: weights.vector('attention/W2/bias'),
    recurrentKernel: weights.matrix('decoder/gru/recurrent'),
    recurrentBias: weights.vector('decoder/gru/recurrent_bias'),
    contextKernel: step.contextKernel,
    v: step.v,
    ...(keep ? { keep: tf.stack(keep).reshape([T, B]) as tf.Tensor2D } : {}),
  }); // [B, T, U + L + E]: (state | α | context)
  if (out == null) return null;
  return {
    states: tf.slice(out, [0, 0, 0], [B, T, U]).reshape([B * T, U]) as tf.Tensor2D, // [B·T, U]
    alphas: tf.slice(out, [0, 0, U], [B, T, L]) as tf.Tensor3D, // [B, T, L]
    contexts: step.outputContextKernel ? (tf.slice(out, [0, 0, U + L], [B, T, E]).reshape([B * T, E]) as tf.Tensor2D) : undefined, // [B·T, E]
  };
}

/**
 * Teacher forcing over inputs [B, T] (tokens fed at each step) from a zero state.
 * Returns logits [B, T, V] and attention weights [B, T, L].
 */
export function teacherForced(
  weights: ModelWeights,
  images: EncodedImages,
  inputs: tf.Tensor2D,
): { logits: tf.Tensor3D; alphas: tf.Tensor3D } {
  const [B, T] = inputs.shape;
  const { states, alphas, contexts } = teacherForcedStates(weights, images, inputs);
  const logits = outputLogits(weights, states, contexts); // [B·T, V]
  return { logits: logits.reshape([B, T, logits.shape[1]]), alphas }; // [B, T, V]
}

/** One decoding step for N sequences: previous tokens [N] and state [N, U] → logits, α, new state. */
export function decoderStep(
  weights: ModelWeights,
  step: StepWeights,
  images: EncodedImages,
  tokens: tf.Tensor1D,
  h: tf.Tensor2D,
): { logits: tf.Tensor2D; alpha: tf.Tensor2D; h: tf.Tensor2D } {
  const out = recurrentStep(step, images, embedTokens(weights, step, tokens), h);
  return { logits: outputLogits(weights, out.h, out.context), alpha: out.alpha, h: out.h };
}
