// Pretrained encoder: a small LayersModel saved in tfjs format, served from a local HTTP server
// (and read from a plain path), used as the backbone; features are cached on disk per image. Also a
// GraphModel (the format of TF Hub's converted models), written by hand: Placeholder → Conv2D → Relu.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../../src/ml/saved-model.ts';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { loadCaptioner } from '../../../src/ml/captioner.ts';
import { loadImage } from '../../../src/ml/data/images.ts';
import { Backbone } from '../../../src/ml/model/backbone.ts';
import { train } from '../../../src/ml/train.ts';
import type { CaptionedImage, EncoderConfig } from '../../../src/ml/types.ts';
import { shapesImages, tempDir } from './fixtures.ts';
import { saveLayersModel } from '../../helpers/tfjs-model.ts';

const SIZE = 24;
let dir: string;
let remove: () => Promise<void>;
let server: Server;
let baseUrl: string;
let images: CaptionedImage[];
let network: tf.LayersModel;
const requests: string[] = [];

/** A converter-format graph model: input [-1, S, S, 3] → conv (3×3, 4 filters, SAME) → relu. */
async function saveGraphModel(kernel: Float32Array, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const dims = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
  const text = (value: string) => ({ s: Buffer.from(value).toString('base64') });
  const float = { type: 'DT_FLOAT' };
  const modelTopology = {
    node: [
      { name: 'input', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, SIZE, SIZE, 3) } } },
      { name: 'kernel', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 3, 3, 4) } } } },
      {
        name: 'conv',
        op: 'Conv2D',
        input: ['input', 'kernel'],
        attr: {
          T: float,
          strides: { list: { i: ['1', '1', '1', '1'] } },
          padding: text('SAME'),
          data_format: text('NHWC'),
          dilations: { list: { i: ['1', '1', '1', '1'] } },
        },
      },
      { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: float } },
    ],
    library: {},
    versions: { producer: 1 },
  };
  const weightsManifest = [{ paths: ['weights.bin'], weights: [{ name: 'kernel', shape: [3, 3, 3, 4], dtype: 'float32' }] }];
  await writeFile(path.join(outDir, 'weights.bin'), new Uint8Array(kernel.buffer));
  await writeFile(
    path.join(outDir, 'model.json'),
    JSON.stringify({ format: 'graph-model', generatedBy: 'test', convertedBy: 'test', modelTopology, weightsManifest }),
  );
}
const graphKernel = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 0.5);

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('backbone'));
  images = await shapesImages(dir, 6, 4, SIZE);
  network = tf.sequential({
    layers: [
      // seeded initialisers: the same backbone (and features, and toy model) on every run
      tf.layers.conv2d({
        inputShape: [SIZE, SIZE, 3],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'features',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await saveLayersModel(network, path.join(dir, 'www', 'net'));
  await saveGraphModel(graphKernel, path.join(dir, 'www', 'graph'));
  server = createServer(async (req, res) => {
    requests.push(req.url ?? '');
    try {
      const body = await readFile(path.join(dir, 'www', decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      res.writeHead(200, { 'content-type': req.url?.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  network.dispose();
  await new Promise((resolve) => server.close(resolve));
  await remove();
});

describe('pretrained backbone', () => {
  it('extracts the chosen layer pooled to the grid, encoding each image once (disk cache)', async () => {
    const cacheDir = path.join(dir, 'cache-direct');
    const encoder = { kind: 'pretrained', url: `${baseUrl}/net/model.json`, layer: 'features', imageSize: SIZE, cacheDir } as const;
    const backbone = await Backbone.load(encoder, 4);
    expect(backbone.channels).toBe(6);
    expect(backbone.shape).toEqual([16, 6]);
    expect(requests).toContain('/net/model.json');
    expect(requests).toContain('/net/weights.bin');

    const first = await backbone.load(images[0].file);
    const again = await backbone.load(images[0].file);
    expect([backbone.misses, backbone.hits]).toEqual([1, 1]);
    expect(again).toEqual(first);
    const cached = await readdir(cacheDir, { recursive: true });
    expect(cached.filter((f) => f.endsWith('.f32'))).toHaveLength(1);

    // reference: the in-memory network's layer output, inputs scaled to [-1, 1], 6×6 average pools
    const pixels = await loadImage(images[0].file, { size: SIZE });
    const expected = tf.tidy(() => {
      const features = tf.model({ inputs: network.inputs, outputs: network.getLayer('features').output as tf.SymbolicTensor });
      const x = tf.sub(tf.mul(tf.tensor4d(pixels, [1, SIZE, SIZE, 3]), 2), 1);
      return tf.avgPool(features.predict(x) as tf.Tensor4D, 6, 6, 'valid').dataSync();
    });
    const diff = Math.max(...first.map((v, i) => Math.abs(v - expected[i])));
    expect(diff).toBeLessThan(1e-5);
    backbone.dispose();
  });

  it('runs a GraphModel backbone (output node by default, or a named node), pooled to the grid', async () => {
    const pixels = await loadImage(images[1].file, { size: SIZE });
    // reference: the same ops in tfjs, inputs scaled to [-1, 1], 6×6 average pools
    const reference = (withRelu: boolean) =>
      tf.tidy(() => {
        const x = tf.sub(tf.mul(tf.tensor4d(pixels, [1, SIZE, SIZE, 3]), 2), 1) as tf.Tensor4D;
        const conv = tf.conv2d(x, tf.tensor4d(graphKernel, [3, 3, 3, 4]), 1, 'same');
        return tf.avgPool(withRelu ? tf.relu(conv) : conv, 6, 6, 'valid').dataSync();
      });
    for (const [layer, withRelu] of [
      [undefined, true],
      ['conv', false],
    ] as const) {
      const encoder = {
        kind: 'pretrained',
        url: `${baseUrl}/graph/model.json`,
        ...(layer ? { layer } : {}),
        imageSize: SIZE,
        cacheDir: path.join(dir, `cache-graph-${layer ?? 'out'}`),
      } as const;
      const backbone = await Backbone.load(encoder, 4);
      expect(backbone.shape).toEqual([16, 4]);
      const features = await backbone.load(images[1].file);
      const expected = reference(withRelu);
      expect(Math.max(...features.map((v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-5);
      if (!withRelu) expect(features.some((v) => v < 0)).toBe(true); // the node before the relu
      backbone.dispose();
    }
    expect(requests).toContain('/graph/weights.bin');
  });

  it('trains, saves and captions with a backbone read from a plain path', async () => {
    const cacheDir = path.join(dir, 'cache-train');
    const encoder: EncoderConfig = {
      kind: 'pretrained',
      url: path.join(dir, 'www', 'net', 'model.json'),
      layer: 'features',
      imageSize: SIZE,
      cacheDir,
    };
    const result = await train({
      images,
      checkpointDir: path.join(dir, 'checkpoints'),
      model: { encoder, gridSize: 4, encoderDim: 16, embeddingDim: 16, units: 32 },
      train: { epochs: 3, batchSize: 10, seed: 3, valFraction: 0 },
    });
    expect(result.model.channels).toBe(6);
    // 6 images × 5 captions × 3 epochs, yet each image went through the backbone once
    expect((await readdir(cacheDir, { recursive: true })).filter((f) => f.endsWith('.f32'))).toHaveLength(images.length);
    const modelDir = path.join(dir, 'model');
    await saveModel(modelDir, { model: result.model, vocab: result.vocab });
    result.model.dispose();
    // the saved config names the backbone, not this machine's cache folder
    const modelJson = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8')) as {
      modelTopology: { config: { encoder: Record<string, unknown> } };
    };
    const saved = modelJson.modelTopology.config;
    expect(saved.encoder).toMatchObject({ kind: 'pretrained', url: encoder.kind === 'pretrained' ? encoder.url : '', layer: 'features' });
    expect(saved.encoder).not.toHaveProperty('cacheDir');

    // serving computes each image's features afresh (no cache): exactly what training cached
    const cachedFiles = (await readdir(cacheDir, { recursive: true })).filter((f) => f.endsWith('.f32'));
    const cached = await Promise.all(cachedFiles.map(async (f) => Buffer.from(await readFile(path.join(cacheDir, f))).toString('base64')));
    const fresh = await Backbone.load(encoder as Extract<EncoderConfig, { kind: 'pretrained' }>, 4, { diskCache: false });
    for (const image of images) {
      const features = await fresh.load(image.file);
      expect(cached).toContain(Buffer.from(features.buffer, features.byteOffset, features.byteLength).toString('base64'));
    }
    expect(fresh.misses).toBe(images.length);
    fresh.dispose();

    const captioner = await loadCaptioner(modelDir);
    const caption = await captioner.caption(images[0].file);
    expect(Number.isFinite(caption.logProb) && caption.logProb < 0).toBe(true);
    expect(caption.tokens.length).toBeGreaterThan(0); // deterministic: seeded backbone, data and training
    expect(caption.caption).toBe(caption.tokens.map((t) => t.token).join(' '));
    for (const event of caption.tokens) expect(event.attention).toHaveLength(16);
    // an image never seen in training: captioned from features computed on the fly, nothing cached
    const unseen = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
    const unseenCaption = await captioner.caption(unseen);
    expect(Number.isFinite(unseenCaption.logProb) && unseenCaption.logProb < 0).toBe(true); // decoded (maybe straight to <end>)
    captioner.dispose();
    expect((await readdir(cacheDir, { recursive: true })).filter((f) => f.endsWith('.f32'))).toHaveLength(images.length);
  });
});
