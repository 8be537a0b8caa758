// Captions on the user's device equal the worker's: a small CNN model trained here captions 20 images in
// headless Chromium (src/ml/browser bundled by esbuild, on TF.js's wasm backend, the worker's backend family,
// every external request blocked) and in Node (src/ml's captioner, as the worker runs it). Greedy tokens equal,
// attention within 1e-4, beam captions equal; again after the network is cut. The images are 48 px PNGs and
// the model reads 32 px, so the browser's decoding (canvas) and the shared resize are part of what is compared.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { type Captioner, loadCaptioner } from '../../src/ml/captioner.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { saveModel } from '../../src/ml/saved-model.ts';
import { train } from '../../src/ml/train.ts';
import type { CaptionedImage } from '../../src/ml/types.ts';
import type { Asset } from '../../src/web/asset.ts';
import { bundleDevice, WASM_FILES } from '../../src/web/device.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { shapesImages, tempDir } from '../ml/model/fixtures.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';
import { type StaticServer, serveStatic } from './static-files.ts';

const IMAGES = 20;
const BEAM = { method: 'beam', beamWidth: 3 } as const;

interface Side {
  greedy: { tokens: string[]; attention: number[][] }[];
  beam: string[];
}

let remove: () => Promise<void>;
let images: CaptionedImage[];
let captioner: Captioner;
let server: StaticServer;
let chromium: OfflineBrowser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  let dir: string;
  ({ dir, remove } = await tempDir('device-parity'));
  images = await shapesImages(dir, IMAGES, 23, 48);
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model: BABY_MODEL_CONFIG,
    train: { epochs: 12, batchSize: 10, learningRate: 1e-2, learningRateEnd: 1, seed: 3, valFraction: 0 },
  });
  const modelDir = path.join(dir, 'model');
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  captioner = await loadCaptioner(modelDir);

  const assets = await bundleDevice();
  const byPath = new Map<string, Asset>(Object.values(assets).map((a) => [`/${a.name}`, a]));
  server = await serveStatic((p) => {
    // the page imports the bundle as any page would (vitest rewrites import() inside page.evaluate)
    if (p === '/index.html')
      return Buffer.from(`<!doctype html><script type="module">import * as m from '/${assets.device!.name}'; window.device = m;</script>`);
    if (p.startsWith('/model/')) return path.join(modelDir, path.basename(p));
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
    async ({ wasmFiles, count }) => {
      const m = (window as any).device;
      const c = await m.loadDeviceCaptioner({ modelUrl: '/model/model.json', backend: 'wasm', wasmFiles });
      const blobs = await Promise.all(Array.from({ length: count }, (_, i) => fetch(`/images/${i}.png`).then((r) => r.blob())));
      Object.assign(window, { captioner: c, blobs, liveTensors: m.liveTensors });
      return { backend: c.backend as string, loadMs: c.loadMs as number };
    },
    { wasmFiles, count: IMAGES },
  );
  expect(loaded.backend).toBe('wasm');
}, 240_000);

afterAll(async () => {
  captioner?.dispose();
  await chromium?.close();
  await server?.close();
  await remove?.();
});

async function nodeSide(): Promise<Side> {
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
function browserSide(): Promise<Side & { leaked: number }> {
  return page.evaluate(async (beamOptions) => {
    const w = window as unknown as { captioner: any; blobs: Blob[]; liveTensors: () => number };
    const before = w.liveTensors();
    const greedy = [];
    const beam = [];
    for (const blob of w.blobs) {
      const tokens: string[] = [];
      const attention: number[][] = [];
      for await (const event of w.captioner.stream(blob)) {
        tokens.push(event.token);
        attention.push(Array.from(event.attention as Float32Array));
      }
      greedy.push({ tokens, attention });
      beam.push((await w.captioner.caption(blob, beamOptions)).caption as string);
    }
    return { greedy, beam, leaked: w.liveTensors() - before };
  }, BEAM);
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
  it('greedy token for token with attention within 1e-4, beam equal, no tensor leaked, nothing external', async () => {
    const worker = await nodeSide();
    // the model learned something: not every image gets the same caption
    expect(new Set(worker.greedy.map((g) => g.tokens.join(' '))).size).toBeGreaterThan(1);
    const device = await browserSide();
    expectSame(device, worker);
    expect(device.leaked).toBe(0);
    expect(chromium.external).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('the same with the network cut after the model loaded', async () => {
    const worker = await nodeSide();
    const served = server.requested.length;
    await chromium.context.setOffline(true);
    try {
      expectSame(await browserSide(), worker);
    } finally {
      await chromium.context.setOffline(false);
    }
    expect(server.requested.length).toBe(served);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
