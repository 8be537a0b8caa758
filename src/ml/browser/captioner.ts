// Captioning in the browser: the worker's decoding (src/ml/decode: greedy, beam, sampling; each word with its
// attention, as captionStream sends them) over a model fetched from its model.json, on the page's backend.
// A CNN model reads the image's pixels; a model with a pretrained backbone reads the backbone's feature grid,
// made as the worker makes it (src/ml/model/backbone-features.ts) from the backbone's files that the served
// model.json names by a relative URL (src/storage/model-web.ts).
import * as tf from '@tensorflow/tfjs';
import { decodeBatch, decodeStream, freezeStepWeights, type OnToken } from '../decode/index.ts';
import { BackboneSourceError, featureGrid, loadFeatureFn, probeFeatureMap } from '../model/backbone-features.ts';
import type { EncoderInput } from '../model/captionModel.ts';
import { ModelError } from '../model/model-error.ts';
import type { CaptionResult, DecodeOptions, ModelConfig, TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import { type BackendChoice, type DeviceBackend, pickBackend } from './backend.ts';
import { fetchModel, fetchOk } from './model-files.ts';
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

/** The backbone of a pretrained-encoder model: pixels [S, S, 3] → its feature grid [L · C], as the worker makes it. */
async function loadBackbone(config: ModelConfig, modelUrl: URL, headers: Record<string, string>) {
  const encoder = config.encoder;
  if (encoder.kind !== 'pretrained') return null;
  const url = new URL(encoder.url, modelUrl);
  // model.json (name null), then each weight file relative to it, with the model's headers
  const read = async (name: string | null) => {
    try {
      return await (await fetchOk(name === null ? url : new URL(name, url), headers)).arrayBuffer();
    } catch (cause) {
      throw new BackboneSourceError((cause as Error).message, { cause });
    }
  };
  let network: Awaited<ReturnType<typeof loadFeatureFn>>;
  try {
    network = await loadFeatureFn(encoder, read);
  } catch (cause) {
    throw new ModelError('BACKBONE_LOAD_FAILED', `cannot load the backbone ${url.href}: ${(cause as Error).message}`, { cause });
  }
  const probe = probeFeatureMap(network.run, encoder.imageSize);
  if ('error' in probe) {
    network.dispose();
    throw new ModelError('BACKBONE_LOAD_FAILED', `the backbone ${url.href}: ${probe.error}`, { cause: probe.cause });
  }
  return {
    perImage: config.gridSize * config.gridSize * probe.channels,
    shape: [config.gridSize * config.gridSize, probe.channels] as const,
    features: (pixels: Float32Array) => featureGrid(network.run, pixels, encoder, config.gridSize),
    dispose: network.dispose,
  };
}

export async function loadDeviceCaptioner(options: DeviceCaptionerOptions): Promise<DeviceCaptioner> {
  const started = performance.now();
  const backend = await pickBackend(options);
  const headers = options.headers ?? {};
  const { model, vocab, config } = await fetchModel(options.modelUrl, headers);
  let backbone: Awaited<ReturnType<typeof loadBackbone>>;
  try {
    backbone = await loadBackbone(config, new URL(options.modelUrl, globalThis.location?.href), headers);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const size = config.encoder.imageSize;
  const frozen = freezeStepWeights(model);
  const pixels = (image: Blob) => imagePixels(image, size);
  const inputOf = async (images: readonly DeviceImage[]): Promise<EncoderInput> => {
    const per = size * size * 3;
    const loaded = await Promise.all(images.map((image) => (image instanceof Float32Array ? image : pixels(image))));
    loaded.forEach((v, i) => {
      if (v.length !== per) throw new ModelError('INVALID_CONFIG', `image ${i}: ${v.length} values, expected ${size}×${size}×3`);
    });
    if (backbone) {
      // one image at a time through the backbone, as the worker encodes them
      const values = new Float32Array(images.length * backbone.perImage);
      loaded.forEach((v, i) => values.set(backbone!.features(v), i * backbone!.perImage));
      return tf.tensor3d(values, [images.length, ...backbone.shape]) as unknown as EncoderInput;
    }
    const values = new Float32Array(images.length * per);
    loaded.forEach((v, i) => values.set(v, i * per));
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
      backbone?.dispose();
      frozen.dispose();
      model.dispose();
    },
  };
}
