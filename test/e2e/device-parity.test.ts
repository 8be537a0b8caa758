// Captions on the user's device equal the worker's: two small models trained here — a CNN model and one on a
// small local pretrained backbone (a TF.js LayersModel on disk, its layer "conv" pooled to the grid, a
// non-default inputRange) — caption 20 images in headless Chromium (src/ml/browser bundled by esbuild, on TF.js's
// wasm backend, the worker's backend family, every external request blocked) and in Node (src/ml's captioner, as
// the worker runs it: the backbone read from its path). Greedy tokens equal, attention within 1e-4, beam captions
// equal; again after the network is cut. The images are 48 px PNGs and the models read 32 px, so the browser's
// decoding (canvas) and the shared resize are part of what is compared. The page gets each model's files as the
// API serves them (src/storage/model-web.ts webModelFiles): the backbone model's from the bytes its training
// read (BackboneAccess.onFile, what the training job stores), its model.json naming them by a relative URL.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { type Captioner, loadCaptioner } from '../../src/ml/captioner.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { saveModel } from '../../src/ml/saved-model.ts';
import { train } from '../../src/ml/train.ts';
import type { CaptionedImage, ModelConfig } from '../../src/ml/types.ts';
import { BackboneFiles } from '../../src/storage/backbone-blob.ts';
import { backboneWebFiles, webModelFiles } from '../../src/storage/model-web.ts';
import type { Asset } from '../../src/web/asset.ts';
import { bundleDevice, WASM_FILES } from '../../src/web/device.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { saveLayersModel } from '../helpers/tfjs-model.ts';
import { shapesImages, tempDir } from '../ml/model/fixtures.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';
import { type StaticServer, serveStatic } from './static-files.ts';

const IMAGES = 20;
const BEAM = { method: 'beam', beamWidth: 3 } as const;

interface Side {
  greedy: { tokens: string[]; attention: number[][] }[];
  beam: string[];
}

const MODELS = ['cnn', 'backbone'] as const;
type ModelName = (typeof MODELS)[number];
/** where the page reads the backbone model's backbone, as the API names it (backbone/<blob hash>) */
const BACKBONE_FOLDER = 'backbone/0123456789abcdef';

let remove: () => Promise<void>;
let images: CaptionedImage[];
const captioners = {} as Record<ModelName, Captioner>;
/** each model's files as served, by URL path */
const served = new Map<string, Buffer>();
let backboneDir: string;
let server: StaticServer;
let chromium: OfflineBrowser;
let page: Page;
const pageErrors: string[] = [];

const TRAIN = { epochs: 12, batchSize: 10, learningRate: 1e-2, learningRateEnd: 1, seed: 3, valFraction: 0 };

/** a model folder's files by name (flat: what saveModel writes) */
async function folderFiles(dir: string): Promise<Map<string, Buffer>> {
  const names = await readdir(dir);
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n))] as const)));
}

/** Trains the CNN model: its served files are the model's own. */
async function cnnModel(dir: string): Promise<Map<string, Buffer>> {
  const result = await train({ images, checkpointDir: path.join(dir, 'cnn-checkpoints'), model: BABY_MODEL_CONFIG, train: TRAIN });
  const modelDir = path.join(dir, 'cnn');
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  captioners.cnn = await loadCaptioner(modelDir);
  return webModelFiles(await folderFiles(modelDir), null)!;
}

/** Trains the model on a small backbone: two convolutions, the first ("conv", 16×16×6 on 32 px) the feature map. */
async function backboneModel(dir: string): Promise<Map<string, Buffer>> {
  const network = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [32, 32, 3],
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: 'conv',
      }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'head' }),
    ],
  });
  backboneDir = path.join(dir, 'backbone-src');
  const url = await saveLayersModel(network, backboneDir);
  network.dispose();
  const config: ModelConfig = {
    ...BABY_MODEL_CONFIG,
    encoder: { kind: 'pretrained', url, layer: 'conv', imageSize: 32, inputRange: [-0.5, 2], cacheDir: path.join(dir, 'features') },
    gridSize: 4,
  };
  // the bytes training read, as the training job records them to store with the model
  const read = new BackboneFiles();
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'backbone-checkpoints'),
    model: config,
    train: TRAIN,
    backboneAccess: { onFile: read.onFile },
  });
  const modelDir = path.join(dir, 'backbone');
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  captioners.backbone = await loadCaptioner(modelDir);
  const backbone = { folder: BACKBONE_FOLDER, files: backboneWebFiles(new Map([...read.files].map(([n, b]) => [n, Buffer.from(b)]))) };
  expect([...backbone.files!.keys()].sort()).toEqual(['model.json', 'weights.bin']);
  return webModelFiles(await folderFiles(modelDir), backbone)!;
}

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  let dir: string;
  ({ dir, remove } = await tempDir('device-parity'));
  images = await shapesImages(dir, IMAGES, 23, 48);
  for (const [name, files] of [
    ['cnn', await cnnModel(dir)],
    ['backbone', await backboneModel(dir)],
  ] as const) {
    for (const [file, body] of files) served.set(`/${name}/${file}`, body);
  }

  const assets = await bundleDevice();
  const byPath = new Map<string, Asset>(Object.values(assets).map((a) => [`/${a.name}`, a]));
  server = await serveStatic((p) => {
    // the page imports the bundle as any page would (vitest rewrites import() inside page.evaluate)
    if (p === '/index.html')
      return Buffer.from(`<!doctype html><script type="module">import * as m from '/${assets.device!.name}'; window.device = m;</script>`);
    if (served.has(p)) return served.get(p);
    if (p.startsWith('/images/')) return images[Number(path.basename(p, '.png'))]?.file;
    return byPath.get(p)?.body;
  });
  chromium = await launchOffline();
  page = await chromium.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => 'device' in window);
  const wasmFiles = Object.fromEntries(WASM_FILES.map((f) => [f, `${server.origin}/${assets[`wasm:${f}`]!.name}`]));
  const loaded = await page.evaluate(
    async ({ wasmFiles, count, models }) => {
      const m = (window as any).device;
      const captioners: Record<string, any> = {};
      for (const name of models)
        captioners[name] = await m.loadDeviceCaptioner({ modelUrl: `/${name}/model.json`, backend: 'wasm', wasmFiles });
      const blobs = await Promise.all(Array.from({ length: count }, (_, i) => fetch(`/images/${i}.png`).then((r) => r.blob())));
      Object.assign(window, { captioners, blobs, liveTensors: m.liveTensors });
      return Object.values(captioners).map((c) => c.backend as string);
    },
    { wasmFiles, count: IMAGES, models: MODELS },
  );
  expect(loaded).toEqual(['wasm', 'wasm']);
}, 360_000);

afterAll(async () => {
  for (const c of Object.values(captioners)) c.dispose();
  await chromium?.close();
  await server?.close();
  await remove?.();
});

async function nodeSide(model: ModelName): Promise<Side> {
  const captioner = captioners[model];
  const greedy = [];
  const beam = [];
  for (const image of images) {
    const result = await captioner.caption(image.file);
    greedy.push({ tokens: result.tokens.map((t) => t.token), attention: result.tokens.map((t) => Array.from(t.attention)) });
    beam.push((await captioner.caption(image.file, BEAM)).caption);
  }
  return { greedy, beam };
}

/** The page's captions: greedy through the stream (word by word, as captionStream sends them), and beam. */
function browserSide(model: ModelName): Promise<Side & { leaked: number }> {
  return page.evaluate(
    async ({ beamOptions, model }) => {
      const w = window as unknown as { captioners: Record<string, any>; blobs: Blob[]; liveTensors: () => number };
      const captioner = w.captioners[model];
      const before = w.liveTensors();
      const greedy = [];
      const beam = [];
      for (const blob of w.blobs) {
        const tokens: string[] = [];
        const attention: number[][] = [];
        for await (const event of captioner.stream(blob)) {
          tokens.push(event.token);
          attention.push(Array.from(event.attention as Float32Array));
        }
        greedy.push({ tokens, attention });
        beam.push((await captioner.caption(blob, beamOptions)).caption as string);
      }
      return { greedy, beam, leaked: w.liveTensors() - before };
    },
    { beamOptions: BEAM, model },
  );
}

function expectSame(device: Side, worker: Side): void {
  expect(device.greedy.map((g) => g.tokens.join(' '))).toEqual(worker.greedy.map((g) => g.tokens.join(' ')));
  let worst = 0;
  device.greedy.forEach((g, i) =>
    g.attention.forEach((row, t) =>
      row.forEach((a, l) => {
        worst = Math.max(worst, Math.abs(a - worker.greedy[i]!.attention[t]![l]!));
      }),
    ),
  );
  expect(worst).toBeLessThan(1e-4);
  expect(device.beam).toEqual(worker.beam);
}

describe.skipIf(browserMissing)('captions on the device (Chromium, wasm) equal the worker’s', () => {
  it('serves the backbone model with its backbone beside it, no server path', () => {
    const modelJson = served.get('/backbone/model.json')!.toString();
    expect(JSON.parse(modelJson).modelTopology.config.encoder.url).toBe(`${BACKBONE_FOLDER}/model.json`);
    expect(modelJson).not.toContain(backboneDir);
    expect(modelJson).not.toMatch(/cacheDir|\/tmp\//);
  });

  it.each(MODELS)(
    '%s model: greedy token for token with attention within 1e-4, beam equal, no tensor leaked, nothing external',
    async (model) => {
      const worker = await nodeSide(model);
      // the model learned something: not every image gets the same caption
      expect(new Set(worker.greedy.map((g) => g.tokens.join(' '))).size).toBeGreaterThan(1);
      const device = await browserSide(model);
      expectSame(device, worker);
      expect(device.leaked).toBe(0);
      expect(chromium.external).toEqual([]);
      expect(pageErrors).toEqual([]);
    },
    120_000,
  );

  it('the same with the network cut after the models loaded', async () => {
    const worker = { cnn: await nodeSide('cnn'), backbone: await nodeSide('backbone') };
    const requested = server.requested.length;
    await chromium.context.setOffline(true);
    try {
      for (const model of MODELS) expectSame(await browserSide(model), worker[model]);
    } finally {
      await chromium.context.setOffline(false);
    }
    expect(server.requested.length).toBe(requested);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
