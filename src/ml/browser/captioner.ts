// Captioning in the browser: the worker's decoding (src/ml/decode: greedy, beam, sampling; each word with its
// attention, as captionStream sends them) over a model fetched from its model.json, on the page's backend.
// CNN-encoder models only: a pretrained backbone in the browser is not yet available.
import * as tf from '@tensorflow/tfjs';
import { decodeBatch, decodeStream, freezeStepWeights, type OnToken } from '../decode/index.ts';
import type { EncoderInput } from '../model/captionModel.ts';
import { ModelError } from '../model/model-error.ts';
import type { CaptionResult, DecodeOptions, ModelConfig, TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import { type BackendChoice, type DeviceBackend, pickBackend } from './backend.ts';
import { fetchModel } from './model-files.ts';
import { imagePixels } from './pixels.ts';

/** An image file, or its pixels as the model reads them ([S, S, 3] floats in 0..1, S the model's imageSize). */
export type DeviceImage = Blob | Float32Array;

export interface DeviceCaptioner {
  readonly config: ModelConfig;
  readonly vocab: Vocabulary;
  readonly gridSize: number;
  /** the TF.js backend it runs on */
  readonly backend: DeviceBackend;
  /** milliseconds from the call to a model ready to caption (backend, fetches, weights) */
  readonly loadMs: number;
  /** [S, S, 3] pixels of an image file, as the worker makes them */
  pixels(image: Blob): Promise<Float32Array>;
  caption(image: DeviceImage, opts?: DecodeOptions): Promise<CaptionResult>;
  /** yields each word with its attention as it is decoded; returns the full result */
  stream(image: DeviceImage, opts?: DecodeOptions): AsyncGenerator<TokenEvent, CaptionResult>;
  captionBatch(images: readonly DeviceImage[], opts?: DecodeOptions, onToken?: OnToken): Promise<CaptionResult[]>;
  dispose(): void;
}

export interface DeviceCaptionerOptions extends BackendChoice {
  /** the model's model.json (absolute, or relative to the page) */
  modelUrl: string;
  /** sent with every fetch of the model's files (e.g. authorization) */
  headers?: Record<string, string>;
}

export async function loadDeviceCaptioner(options: DeviceCaptionerOptions): Promise<DeviceCaptioner> {
  const started = performance.now();
  const backend = await pickBackend(options);
  const { model, vocab, config } = await fetchModel(options.modelUrl, options.headers);
  if (config.encoder.kind !== 'cnn') {
    model.dispose();
    throw new ModelError('INVALID_CONFIG', 'a model with a pretrained backbone cannot caption in the browser yet (not yet available)');
  }
  const size = config.encoder.imageSize;
  const frozen = freezeStepWeights(model);
  const pixels = (image: Blob) => imagePixels(image, size);
  const inputOf = async (images: readonly DeviceImage[]): Promise<EncoderInput> => {
    const per = size * size * 3;
    const values = new Float32Array(images.length * per);
    const loaded = await Promise.all(images.map((image) => (image instanceof Float32Array ? image : pixels(image))));
    loaded.forEach((v, i) => {
      if (v.length !== per) throw new ModelError('INVALID_CONFIG', `image ${i}: ${v.length} values, expected ${size}×${size}×3`);
      values.set(v, i * per);
    });
    return tf.tensor4d(values, [images.length, size, size, 3]) as unknown as EncoderInput;
  };
  const captionBatch = async (images: readonly DeviceImage[], opts?: DecodeOptions, onToken?: OnToken) => {
    if (images.length === 0) return [];
    const input = await inputOf(images);
    try {
      return await decodeBatch(model, vocab, input, opts, onToken, frozen);
    } finally {
      input.dispose();
    }
  };
  const loadMs = performance.now() - started;
  return {
    config,
    vocab,
    gridSize: config.gridSize,
    backend,
    loadMs,
    pixels,
    captionBatch,
    caption: async (image, opts) => (await captionBatch([image], opts))[0]!,
    async *stream(image, opts) {
      const input = await inputOf([image]);
      try {
        return yield* decodeStream(model, vocab, input, opts, frozen);
      } finally {
        input.dispose();
      }
    },
    dispose: () => {
      frozen.dispose();
      model.dispose();
    },
  };
}
