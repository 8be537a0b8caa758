// Image side of the model: the end-to-end CNN (pixels → [B, L, C] grid) and the dense + ReLU
// projection of any feature grid (CNN or pretrained backbone) to encoderDim.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import { poolingStages } from './config.ts';
import { conv3x3Relu } from './conv.ts';
import type { ModelWeights } from './weights.ts';

/** pixels [B, S, S, 3] in 0..1 → raw feature grid [B, G·G, C] */
export function cnnFeatures(weights: ModelWeights, config: ModelConfig, pixels: tf.Tensor4D): tf.Tensor3D {
  if (config.encoder.kind !== 'cnn') throw new Error('cnnFeatures needs a cnn encoder config');
  const stages = poolingStages(config);
  let x = tf.sub(tf.mul(pixels, 2), 1) as tf.Tensor4D; // [B, S, S, 3] in -1..1
  config.encoder.channels.forEach((_, i) => {
    x = conv3x3Relu(x, weights.matrix(`encoder/conv${i}/kernel`), weights.vector(`encoder/conv${i}/bias`)); // [B, s, s, C_i]
    if (i < stages) x = tf.maxPool(x, 2, 2, 'valid'); // [B, s/2, s/2, C_i]
  });
  const [B, G, , C] = x.shape;
  return x.reshape([B, G * G, C]); // [B, L, C]
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
