// Training objective: cross-entropy masked on padding (id 0) and normalised by the number of real
// tokens, plus the optional doubly stochastic attention penalty λ · Σ_cells (1 − Σ_t α)².
import * as tf from '@tensorflow/tfjs';
import { nativeCrossEntropyRows } from '../kernels/native-cross-entropy.ts';

/** Non-padding mask of targets [B, T] as float32 [B, T]. */
export function tokenMask(targets: tf.Tensor2D): tf.Tensor2D {
  return tf.cast(tf.notEqual(targets, 0), 'float32') as tf.Tensor2D;
}

/** logits [B, T, V], targets [B, T] (int32, 0 = padding) → mean over real tokens of −log p(target) (the reference formulation; training uses crossEntropyOfRows) */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const V = logits.shape[2];
  const logProbs = tf.logSoftmax(logits); // [B, T, V]
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(targets, V)), 2); // [B, T]
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.maximum(tf.sum(mask), 1));
}

/**
 * The same loss from the logits of the real (non-padding) positions only: logits [N, V] and their
 * targets [N] → mean of −log p(target). Padding contributes nothing to the masked loss, so its
 * output layers need not run at all. On wasm with the native kernels, −log p(target) per row and its
 * gradient are one fused kernel each (src/ml/kernels/native-cross-entropy.ts); the same mean.
 */
export function crossEntropyOfRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [N, V] = logits.shape;
  const rows = nativeCrossEntropyRows(logits, targets); // [N] −log p(target), or null
  if (rows != null) return tf.div(tf.sum(rows), Math.max(N, 1));
  const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, V)), 1); // [N]
  return tf.div(tf.neg(tf.sum(picked)), Math.max(N, 1));
}

/** alphas [B, T, L], mask [B, T] → λ · mean_B Σ_L (1 − Σ_t α)² over real steps */
export function attentionPenalty(alphas: tf.Tensor3D, mask: tf.Tensor2D, lambda: number): tf.Scalar {
  const [B, T] = mask.shape;
  const coverage = tf.sum(tf.mul(alphas, mask.reshape([B, T, 1])), 1); // [B, L]
  return tf.mul(tf.mean(tf.sum(tf.square(tf.sub(1, coverage)), 1)), lambda);
}
