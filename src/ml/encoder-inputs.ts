// What the encoder reads for one image: pixels for the CNN encoder, or backbone features (cached
// on disk) for a pretrained encoder. Training and inference both go through this.
import { loadImage } from './data/images.ts';
import { Backbone, type BackboneAccess } from './model/backbone.ts';
import type { ModelConfig } from './types.ts';

export interface EncoderInputSource {
  /** shape of one image's input: [S, S, 3] pixels or [L, C] features */
  readonly shape: readonly number[];
  /** raw feature depth C when known up front (pretrained), for building the weights */
  readonly channels?: number;
  load(image: string | Buffer, name?: string): Promise<Float32Array>;
  dispose(): void;
}

class PixelSource implements EncoderInputSource {
  readonly shape: readonly number[];

  constructor(private readonly size: number) {
    this.shape = [size, size, 3];
  }

  load(image: string | Buffer, name?: string): Promise<Float32Array> {
    return loadImage(image, { size: this.size, name });
  }

  dispose(): void {}
}

export interface InputSourceOptions {
  /** false: a pretrained backbone keeps no disk cache of features (for serving); default true */
  featureCache?: boolean;
  /** how a pretrained backbone's files are read (default: fetch and fs) */
  backboneAccess?: BackboneAccess;
  /** stops a backbone download */
  signal?: AbortSignal;
}

export async function createInputSource(config: ModelConfig, options: InputSourceOptions = {}): Promise<EncoderInputSource> {
  if (config.encoder.kind === 'cnn') return new PixelSource(config.encoder.imageSize);
  const { featureCache = true, backboneAccess, signal } = options;
  return Backbone.load(config.encoder, config.gridSize, {
    diskCache: featureCache,
    ...(backboneAccess ? { access: backboneAccess } : {}),
    ...(signal ? { signal } : {}),
  });
}
