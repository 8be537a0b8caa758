// Image side of the model: the end-to-end CNN (pixels → [B, L, C] grid) and the dense + ReLU
// projection of any feature grid (CNN or pretrained backbone) to encoderDim.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import { poolingStages } from './config.ts';
import { conv3x3Relu } from './conv.ts';
import type { ModelWeights } from './weights.ts';

/** [1, L, 2] each grid cell's centre (x, y) in -1..1, row-major like the grid */
function cellCoordinates(gridSize: number): tf.Tensor3D {
  const values = new Float32Array(gridSize * gridSize * 2);
  for (let r = 0; r < gridSize; r++) {
    for (let c = 0; c < gridSize; c++) {
      values[(r * gridSize + c) * 2] = ((c + 0.5) / gridSize) * 2 - 1;
      values[(r * gridSize + c) * 2 + 1] = ((r + 0.5) / gridSize) * 2 - 1;
    }
  }
  return tf.tensor3d(values, [1, gridSize * gridSize, 2]);
}

/**
 * pixels [B, S, S, 3] in 0..1 → raw feature grid [B, G·G, C] whose last CELL_COORDINATES channels
 * are each cell's (x, y). Convolutions are translation-equivariant and captions name positions
 * ("above", "in the top left"): with coordinates in each cell's feature, the attention context
 * carries where the decoder looks, so positions are read through attention rather than smeared
 * into every cell's receptive field. (A pretrained backbone's grid is used as it comes.)
 */
export function cnnFeatures(weights: ModelWeights, config: ModelConfig, pixels: tf.Tensor4D): tf.Tensor3D {
  if (config.encoder.kind !== 'cnn') throw new Error('cnnFeatures needs a cnn encoder config');
  const stages = poolingStages(config);
  let x = tf.sub(tf.mul(pixels, 2), 1) as tf.Tensor4D; // [B, S, S, 3] in -1..1
  config.encoder.channels.forEach((_, i) => {
    // the first layer reads pixels: no gradient to them
    x = conv3x3Relu(x, weights.matrix(`encoder/conv${i}/kernel`), weights.vector(`encoder/conv${i}/bias`), { inputGradient: i > 0 }); // [B, s, s, C_i]
    if (i < stages) x = tf.maxPool(x, 2, 2, 'valid'); // [B, s/2, s/2, C_i]
  });
  const [B, G, , C] = x.shape;
  const coords = tf.tile(cellCoordinates(G), [B, 1, 1]); // [B, L, 2]
  return tf.concat([x.reshape([B, G * G, C]) as tf.Tensor3D, coords], 2); // [B, L, C_last + 2]
}

/** raw grid [B, L, C] → relu(dense) [B, L, E] */
export function projectFeatures(weights: ModelWeights, raw: tf.Tensor3D): tf.Tensor3D {
  const [B, L, C] = raw.shape;
  const kernel = weights.matrix('encoder/proj/kernel'); // [C, E]
  const projected = tf.fused.matMul({
    a: raw.reshape([B * L, C]),
    b: kernel,
    bias: weights.get('encoder/proj/bias'),
    activation: 'relu',
  }); // [B·L, E]
  return projected.reshape([B, L, kernel.shape[1]]); // [B, L, E]
}
