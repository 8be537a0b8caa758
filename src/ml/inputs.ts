// What the encoder reads for one image: pixels for the CNN encoder, or backbone features (cached
// on disk) for a pretrained encoder. Training and inference both go through this.
import { loadImage } from './data/images.ts';
import { Backbone } from './model/backbone.ts';
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

/** `featureCache: false`: a pretrained backbone keeps no disk cache of features (for serving). */
export async function createInputSource(config: ModelConfig, { featureCache = true }: { featureCache?: boolean } = {}): Promise<EncoderInputSource> {
  if (config.encoder.kind === 'cnn') return new PixelSource(config.encoder.imageSize);
  return Backbone.load(config.encoder, config.gridSize, { diskCache: featureCache });
}
