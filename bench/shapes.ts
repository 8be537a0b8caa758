// The reference configuration of issue 5 (the seed's full size) and deterministic inputs for it.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../src/ml/types.ts';

export const CELLS = 64; // 8×8 grid
export const BACKBONE_CHANNELS = 2048;
export const CAPTION_TOKENS = 12; // <start> … <end>: 11 teacher-forced steps
export const DECODE_TOKENS = 20;
export const VOCAB = 5000;
export const START = 1;
export const END = 2;

export const REFERENCE_CONFIG: ModelConfig = {
  encoder: { kind: 'pretrained', url: 'file:///dev/null', imageSize: 299 },
  gridSize: 8,
  encoderDim: 256,
  embeddingDim: 256,
  units: 512,
  vocabSize: VOCAB,
  maxLength: DECODE_TOKENS + 2,
  attentionLambda: 0,
};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Backbone features [B, 64, 2048] in 0..1. */
export function features(batch: number, seed: number): tf.Tensor3D {
  const next = lcg(seed);
  return tf.tensor3d(Float32Array.from({ length: batch * CELLS * BACKBONE_CHANNELS }, next), [batch, CELLS, BACKBONE_CHANNELS]);
}

/** Captions [B, 12]: <start>, random words, <end> at a random length ≥ 6, then padding 0. */
export function captions(batch: number, seed: number): tf.Tensor2D {
  const next = lcg(seed);
  const ids = new Int32Array(batch * CAPTION_TOKENS);
  for (let b = 0; b < batch; b++) {
    const length = 6 + Math.floor(next() * (CAPTION_TOKENS - 5)); // 6..12
    for (let t = 0; t < CAPTION_TOKENS; t++) {
      const id = t === 0 ? START : t === length - 1 ? END : t >= length ? 0 : 3 + Math.floor(next() * (VOCAB - 3));
      ids[b * CAPTION_TOKENS + t] = id;
    }
  }
  return tf.tensor2d(ids, [batch, CAPTION_TOKENS], 'int32');
}
