// Bahdanau (additive) attention: score = V · tanh(W1 · features + W2 · hidden), softmax over cells.
// W1 · features (the keys) is computed once per batch; only W2 · hidden changes per step.
import * as tf from '@tensorflow/tfjs';
import { nativeAttentionScores } from '../kernels/native-attention.ts';
import { nativeAttentionWeights } from '../kernels/native-attention-softmax.ts';
import type { ModelWeights } from './weights.ts';

/** features [B, L, E] → keys W1·features + b1 [B, L, U] (once per batch) */
export function attentionKeys(weights: ModelWeights, features: tf.Tensor3D): tf.Tensor3D {
  const [B, L, E] = features.shape;
  const w1 = weights.matrix('attention/W1/kernel'); // [E, U]
  const keys = tf.fused.matMul({ a: features.reshape([B * L, E]), b: w1, bias: weights.get('attention/W1/bias') }); // [B·L, U]
  return keys.reshape([B, L, w1.shape[1]]); // [B, L, U]
}

/**
 * One attention read. `query` is W2·h + b2 [B, U] (computed by the caller together with the GRU's
 * recurrent projection). Returns the context [B, E] and the weights α [B, L].
 */
export function attend(
  v: tf.Tensor2D, // [U, 1]
  features: tf.Tensor3D, // [B, L, E]
  keys: tf.Tensor3D, // [B, L, U]
  query: tf.Tensor2D, // [B, U]
): { context: tf.Tensor2D; alpha: tf.Tensor2D } {
  const [B, L, U] = keys.shape;
  // scores and softmax in one native kernel (and one for their gradient) on wasm+openblas; else the
  // scores alone natively (the 'attention-softmax' part off), else the tfjs ops
  const scores = () =>
    nativeAttentionScores(keys, query, v) ??
    tf.matMul(tf.tanh(tf.add(keys, query.reshape([B, 1, U]))).reshape([B * L, U]), v).reshape([B, L]); // [B, L]
  const alpha = nativeAttentionWeights(keys, query, v) ?? (tf.softmax(scores()) as tf.Tensor2D); // [B, L]
  const context = tf.matMul(alpha.reshape([B, 1, L]), features).reshape([B, features.shape[2]]) as tf.Tensor2D; // [B, E]
  return { context, alpha };
}
