// Keras-style weight initialisers, computed in JS from a seeded Rng so a seed gives the same
// weights on every backend.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.ts';

/** Glorot uniform; fans as Keras computes them (receptive field × channels for conv kernels). */
export function glorotUniform(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * limit;
  return tf.tensor(values, shape);
}

/** Orthogonal [rows, cols] (Keras: QR of a normal matrix, sign-corrected), by modified Gram–Schmidt. */
export function orthogonal(rows: number, cols: number, rng: Rng): tf.Tensor2D {
  // Orthonormalise the k = min(rows, cols) vectors of length n = max(rows, cols).
  const n = Math.max(rows, cols);
  const k = Math.min(rows, cols);
  const q = Array.from({ length: k }, () => Float64Array.from({ length: n }, () => rng.normal()));
  for (let i = 0; i < k; i++) {
    const qi = q[i];
    for (let j = 0; j < i; j++) {
      const qj = q[j];
      let dot = 0;
      for (let x = 0; x < n; x++) dot += qi[x] * qj[x];
      for (let x = 0; x < n; x++) qi[x] -= dot * qj[x];
    }
    let norm = 0;
    for (let x = 0; x < n; x++) norm += qi[x] * qi[x];
    norm = Math.sqrt(norm);
    for (let x = 0; x < n; x++) qi[x] /= norm;
  }
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // rows < cols: the k vectors are the rows; otherwise they are the columns
      values[r * cols + c] = rows < cols ? q[r][c] : q[c][r];
    }
  }
  return tf.tensor2d(values, [rows, cols]);
}
