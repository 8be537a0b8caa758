// The Show-Attend-Tell model: config + weights, with the encoder and the teacher-forced loss.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import { validateModelConfig } from './config.ts';
import { encodeForAttention, outputLogits, teacherForcedStates, type EncodedImages } from './decoder.ts';
import { cnnFeatures, projectFeatures } from './encoder.ts';
import { attentionPenalty, crossEntropyOfRows, tokenMask } from './loss.ts';
import { featureChannels } from './featureGrid.ts';
import { ModelWeights } from './weights.ts';

/**
 * What the encoder consumes: pixels [B, S, S, 3] in 0..1 for the CNN encoder, or raw backbone
 * features [B, L, C] for a pretrained encoder.
 */
export type EncoderInput = tf.Tensor4D | tf.Tensor3D;

/** T × [B, 1] inverted-dropout scales: 0 with probability `rate`, else 1 / (1 − rate); the same for a seed. */
function dropoutScales(T: number, B: number, rate: number, seed: number): tf.Tensor2D[] {
  const kept = tf.greaterEqual(tf.randomUniform([T, B, 1], 0, 1, 'float32', seed), rate);
  return tf.unstack(tf.div(tf.cast(kept, 'float32'), 1 - rate)) as tf.Tensor2D[];
}

export class CaptionModel {
  private constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    /** C, the depth of the raw feature grid */
    readonly channels: number,
  ) {}

  static create(config: ModelConfig, seed: number, backboneChannels?: number): CaptionModel {
    validateModelConfig(config);
    const channels = featureChannels(config, backboneChannels);
    return new CaptionModel(config, ModelWeights.create(config, channels, seed), channels);
  }

  static fromTensors(config: ModelConfig, channels: number, tensors: Map<string, tf.Tensor>): CaptionModel {
    validateModelConfig(config);
    return new CaptionModel(config, ModelWeights.fromTensors(config, channels, tensors), channels);
  }

  /** input → projected features [B, L, E] and attention keys [B, L, U] */
  encode(input: EncoderInput): EncodedImages {
    const raw = input.rank === 4 ? cnnFeatures(this.weights, this.config, input as tf.Tensor4D) : (input as tf.Tensor3D); // [B, L, C]
    return encodeForAttention(this.weights, projectFeatures(this.weights, raw));
  }

  /**
   * Teacher-forced training loss for captions [B, T+1] (int32, <start> … <end>, 0-padded):
   * inputs are captions[:, :T], targets captions[:, 1:]. The output layers (fc1, fc2, softmax) run
   * only on the real target positions, gathered from the states: the same value and gradients as
   * masking the padded positions' loss (test/ml/model/teacherForcing.test.ts), with less work.
   */
  loss(input: EncoderInput, captions: tf.Tensor2D, training?: { seed: number }): tf.Scalar {
    const [B, T1] = captions.shape;
    const T = T1 - 1;
    const inputs = tf.slice(captions, [0, 0], [B, T]); // [B, T]
    const targets = tf.slice(captions, [0, 1], [B, T]) as tf.Tensor2D; // [B, T]
    const rate = this.config.contextDropout ?? 0;
    const keep = training && rate > 0 ? dropoutScales(T, B, rate, training.seed) : undefined;
    const { states, alphas, contexts } = teacherForcedStates(this.weights, this.encode(input), inputs, keep); // [B·T, U], [B, T, L]
    const ids = targets.dataSync(); // the data, not a parameter: fine to read inside a gradient tape
    const rows: number[] = [];
    ids.forEach((id, row) => id !== 0 && rows.push(row));
    const real = tf.tensor1d(rows, 'int32'); // [N] rows b·T + t with a real target
    const logits = outputLogits(this.weights, tf.gather(states, real), contexts && tf.gather(contexts, real)); // [N, V]
    const crossEntropy = crossEntropyOfRows(
      logits,
      tf.tensor1d(
        rows.map((row) => ids[row]!),
        'int32',
      ),
    );
    if (this.config.attentionLambda <= 0) return crossEntropy;
    return tf.add(crossEntropy, attentionPenalty(alphas, tokenMask(targets), this.config.attentionLambda));
  }

  dispose(): void {
    this.weights.dispose();
  }
}
