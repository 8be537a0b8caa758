// Inference entry point: a saved model directory → caption / stream / batch captioning of image
// files or bytes. Uses the model, decoding and image loading only (no training code path).
import * as tf from '@tensorflow/tfjs';
import { loadModel } from './saved-model.ts';
import { decodeBatch, decodeStream, freezeStepWeights, type OnToken } from './decode/index.ts';
import { createInputSource, type EncoderInputSource } from './encoder-inputs.ts';
import type { BackboneAccess } from './model/backbone.ts';
import type { EncoderInput } from './model/captionModel.ts';
import type { CaptionResult, DecodeOptions, ModelConfig, TokenEvent } from './types.ts';
import type { Vocabulary } from './vocab.ts';

/** An image as a file path or its bytes (JPEG, PNG, WebP). */
export type ImageSource = string | Buffer;

export interface Captioner {
  readonly config: ModelConfig;
  readonly vocab: Vocabulary;
  readonly gridSize: number;
  caption(image: ImageSource, opts?: DecodeOptions): Promise<CaptionResult>;
  /** yields each word as it is decoded; returns the full result */
  stream(image: ImageSource, opts?: DecodeOptions): AsyncGenerator<TokenEvent, CaptionResult>;
  /** decodes the images together (one batched forward per step for greedy/sample) */
  captionBatch(images: readonly ImageSource[], opts?: DecodeOptions, onToken?: OnToken): Promise<CaptionResult[]>;
  dispose(): void;
}

function nameOf(image: ImageSource, index: number): string {
  return typeof image === 'string' ? image : `<image ${index}>`;
}

async function inputsOf(source: EncoderInputSource, images: readonly ImageSource[]): Promise<EncoderInput> {
  const per = source.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(images.length * per);
  const loaded = await Promise.all(images.map((image, i) => source.load(image, nameOf(image, i))));
  loaded.forEach((v, i) => values.set(v, i * per));
  return tf.tensor(values, [images.length, ...source.shape]) as unknown as EncoderInput;
}

export async function loadCaptioner(dir: string, { backboneAccess }: { backboneAccess?: BackboneAccess } = {}): Promise<Captioner> {
  const { model, vocab, config } = await loadModel(dir);
  let source: EncoderInputSource;
  try {
    // captioned images are rarely seen twice: no feature cache on disk (it would grow with traffic)
    source = await createInputSource(config, { featureCache: false, ...(backboneAccess ? { backboneAccess } : {}) });
  } catch (err) {
    model.dispose();
    throw err;
  }
  // a served model does not train: its step weights are built (and packed by XNNPACK) once
  const frozen = freezeStepWeights(model);
  const captionBatch = async (images: readonly ImageSource[], opts?: DecodeOptions, onToken?: OnToken) => {
    if (images.length === 0) return [];
    const input = await inputsOf(source, images);
    try {
      return await decodeBatch(model, vocab, input, opts, onToken, frozen);
    } finally {
      input.dispose();
    }
  };
  return {
    config,
    vocab,
    gridSize: config.gridSize,
    captionBatch,
    caption: async (image, opts) => (await captionBatch([image], opts))[0],
    async *stream(image, opts) {
      const input = await inputsOf(source, [image]);
      try {
        return yield* decodeStream(model, vocab, input, opts, frozen);
      } finally {
        input.dispose();
      }
    },
    dispose: () => {
      source.dispose();
      frozen.dispose();
      model.dispose();
    },
  };
}
