// Pretrained TF.js backbone (LayersModel or GraphModel, from an http(s) URL or a local path): the
// chosen layer's feature map, pooled or resized to the gridSize×gridSize grid → [L, C] per image.
// Features are cached on disk per (backbone, image) hash, so each image is encoded once.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadImage } from '../data/images.ts';
import type { EncoderConfig } from '../types.ts';
import { ModelError } from './errors.ts';

type PretrainedEncoder = Extract<EncoderConfig, { kind: 'pretrained' }>;

const isHttp = (url: string): boolean => /^https?:\/\//i.test(url);

function localPath(url: string): string {
  return url.startsWith('file://') ? new URL(url).pathname : url;
}

async function readModelJson(url: string): Promise<tf.io.ModelJSON> {
  if (isHttp(url)) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    return (await response.json()) as tf.io.ModelJSON;
  }
  return JSON.parse(await readFile(localPath(url), 'utf8')) as tf.io.ModelJSON;
}

/** IOHandler reading model.json and its weight shards from disk (tfjs has none outside tfjs-node). */
function fileHandler(modelPath: string, modelJson: tf.io.ModelJSON): tf.io.IOHandler {
  const dir = path.dirname(modelPath);
  return {
    load: () =>
      tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const buffers = await Promise.all(
          manifest.flatMap((group) => group.paths).map(async (p) => {
            const bytes = await readFile(path.join(dir, p));
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
          }),
        );
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      }),
  };
}

/** pixels [1, S, S, 3] → feature map [1, h, w, C] */
type FeatureFn = (x: tf.Tensor4D) => tf.Tensor4D;

async function loadFeatureFn(encoder: PretrainedEncoder): Promise<{ run: FeatureFn; dispose: () => void }> {
  const modelJson = await readModelJson(encoder.url);
  const source = isHttp(encoder.url) ? encoder.url : fileHandler(localPath(encoder.url), modelJson);
  if (modelJson.format === 'graph-model') {
    const graph = await tf.loadGraphModel(source);
    return {
      run: (x) => (encoder.layer ? graph.execute(x, encoder.layer) : graph.execute(x)) as tf.Tensor4D,
      dispose: () => graph.dispose(),
    };
  }
  const layers = await tf.loadLayersModel(source);
  const model = encoder.layer ? tf.model({ inputs: layers.inputs, outputs: layers.getLayer(encoder.layer).output }) : layers;
  return { run: (x) => model.predict(x) as tf.Tensor4D, dispose: () => layers.dispose() };
}

export class Backbone {
  /** cache statistics since load */
  hits = 0;
  misses = 0;

  private constructor(
    private readonly encoder: PretrainedEncoder,
    private readonly gridSize: number,
    private readonly run: FeatureFn,
    private readonly release: () => void,
    readonly channels: number,
    /** null: no disk cache (features are computed for every image) */
    private readonly cacheDir: string | null,
    private readonly key: string,
  ) {}

  get shape(): readonly number[] {
    return [this.gridSize * this.gridSize, this.channels];
  }

  /**
   * Loads the backbone. `diskCache: false` computes every image's features without reading or
   * writing the cache (serving: images are rarely seen twice, and a cache would grow with traffic).
   */
  static async load(encoder: PretrainedEncoder, gridSize: number, { diskCache = true }: { diskCache?: boolean } = {}): Promise<Backbone> {
    let fn: Awaited<ReturnType<typeof loadFeatureFn>>;
    try {
      fn = await loadFeatureFn(encoder);
    } catch (cause) {
      throw new ModelError('BACKBONE_LOAD_FAILED', `cannot load backbone ${encoder.url}: ${(cause as Error).message}`, { cause });
    }
    const probe = tf.tidy(() => fn.run(tf.zeros([1, encoder.imageSize, encoder.imageSize, 3])));
    const [, h, w, channels] = probe.shape;
    probe.dispose();
    if (!(h >= 1 && w >= 1 && channels >= 1)) {
      fn.dispose();
      throw new ModelError('BACKBONE_LOAD_FAILED', `backbone ${encoder.url}: output [${probe.shape}] is not a [1, h, w, C] feature map`);
    }
    const key = createHash('sha256')
      .update(JSON.stringify([encoder.url, encoder.layer ?? '', encoder.imageSize, encoder.inputRange ?? [-1, 1], gridSize]))
      .digest('hex')
      .slice(0, 16);
    const cacheDir = diskCache ? (encoder.cacheDir ?? path.join(os.tmpdir(), 'glimpse-features')) : null;
    if (cacheDir !== null) await mkdir(path.join(cacheDir, key), { recursive: true });
    return new Backbone(encoder, gridSize, fn.run, fn.dispose, channels, cacheDir, key);
  }

  /** image (path or bytes) → features [L · C], from the disk cache when present (and enabled) */
  async load(image: string | Buffer, name?: string): Promise<Float32Array> {
    const pixels = await loadImage(image, { size: this.encoder.imageSize, name });
    if (this.cacheDir === null) {
      this.misses++;
      return this.extract(pixels);
    }
    const hash = createHash('sha256').update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');
    const file = path.join(this.cacheDir, this.key, `${hash}.f32`);
    const expected = this.gridSize * this.gridSize * this.channels;
    try {
      const bytes = await readFile(file);
      if (bytes.byteLength === expected * 4) {
        this.hits++;
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
    } catch {
      // not cached yet
    }
    this.misses++;
    const features = this.extract(pixels);
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, new Uint8Array(features.buffer));
    await rename(temp, file);
    return features;
  }

  private extract(pixels: Float32Array): Float32Array {
    const { imageSize: S, inputRange = [-1, 1] } = this.encoder;
    const G = this.gridSize;
    return tf.tidy(() => {
      const x = tf.tensor4d(pixels, [1, S, S, 3]); // [1, S, S, 3] in 0..1
      const scaled = tf.add(tf.mul(x, inputRange[1] - inputRange[0]), inputRange[0]) as tf.Tensor4D;
      const map = this.run(scaled); // [1, h, w, C]
      const [, h, w] = map.shape;
      const grid =
        h % G === 0 && w % G === 0
          ? tf.avgPool(map, [h / G, w / G], [h / G, w / G], 'valid') // [1, G, G, C]
          : tf.image.resizeBilinear(map, [G, G]); // [1, G, G, C]
      return grid.dataSync() as Float32Array;
    });
  }

  dispose(): void {
    this.release();
  }
}
