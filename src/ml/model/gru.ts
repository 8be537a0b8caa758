// GRU cell with Keras semantics (reset_after=true, sigmoid recurrent activation, tanh activation,
// gate order z, r, h). Inputs arrive already projected so callers can batch the projections.
import * as tf from '@tensorflow/tfjs';
import { nativeGruCell } from '../kernels/native-gru.ts';

/**
 * x: input projection x·Wx + b_in [B, 3U]; r: recurrent projection h·Wh + b_rec [B, 3U];
 * h: previous state [B, U]. Returns the new state [B, U].
 */
export function gruCell(x: tf.Tensor2D, r: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  // one native kernel (and one for its gradient) on wasm+openblas, else the tfjs ops
  const fused = nativeGruCell(x, r, h);
  if (fused != null) return fused;
  const [B, U] = h.shape;
  const zr = tf.sigmoid(tf.add(tf.slice(x, [0, 0], [B, 2 * U]), tf.slice(r, [0, 0], [B, 2 * U]))); // [B, 2U]
  const z = tf.slice(zr, [0, 0], [B, U]); // [B, U] update gate
  const reset = tf.slice(zr, [0, U], [B, U]); // [B, U] reset gate
  const candidate = tf.tanh(tf.add(tf.slice(x, [0, 2 * U], [B, U]), tf.mul(reset, tf.slice(r, [0, 2 * U], [B, U])))); // [B, U]
  return tf.add(candidate, tf.mul(z, tf.sub(h, candidate))) as tf.Tensor2D; // z·h + (1−z)·ĥ  [B, U]
}
