// The static export of a model (src/web/static-export.ts): downloaded as a zip from the API (Model.webFiles.exportZip,
// with the key), unpacked, then served by a plain node:http file server with the API closed — no Glimpse process —
// and opened in headless Chromium (external requests blocked): it captions a picked image, the worker's caption.
// The folder `glimpse model export --web` writes holds the same files. Two models: a CNN one and one on a small
// local pretrained backbone, whose export carries the backbone's files (stored as the training job stores them).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { loadCaptioner } from '../../src/ml/captioner.ts';
import { extractZip } from '../../src/ml/data/unzip.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { saveModel } from '../../src/ml/saved-model.ts';
import { train } from '../../src/ml/train.ts';
import type { ModelConfig } from '../../src/ml/types.ts';
import { BackboneFiles, uploadBackbone } from '../../src/storage/backbone-blob.ts';
import { commitBlob, putDir } from '../../src/storage/index.ts';
import { MAX_WEB_MODEL_BYTES, readModelWebFiles } from '../../src/storage/model-web.ts';
import { webExportFiles, writeWebExport } from '../../src/web/static-export.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { saveLayersModel } from '../helpers/tfjs-model.ts';
import { shapesImages } from '../ml/model/fixtures.ts';
import { browserMissing, launchOffline } from './browser.ts';
import { serveStatic } from './static-files.ts';

const KEY = 'export-key';

let t: TestApi | undefined;
let dir: string;

interface Exported {
  name: 'cnn' | 'backbone';
  modelDir: string;
  modelId: string;
  blobId: string;
  backboneBlobId: string | null;
}
const models: Exported[] = [];

const listFiles = async (root: string): Promise<string[]> =>
  (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();

/** Trains a small model with `config` and stores it as the training job does (its backbone's files too). */
async function storedModel(
  name: Exported['name'],
  config: ModelConfig,
  images: Awaited<ReturnType<typeof shapesImages>>,
): Promise<Exported> {
  const read = new BackboneFiles();
  const result = await train({
    images,
    checkpointDir: path.join(dir, `${name}-checkpoints`),
    model: config,
    train: { epochs: 4, batchSize: 8, learningRate: 1e-2, learningRateEnd: 1, seed: 1, valFraction: 0 },
    backboneAccess: { onFile: read.onFile },
  });
  const modelDir = path.join(dir, name);
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  const prisma = t!.db.prisma;
  const pending = await putDir(prisma, modelDir);
  const backbone = config.encoder.kind === 'pretrained' ? await uploadBackbone(prisma, read, dir) : null;
  const ids = await prisma.$transaction(async (tx) => ({
    blobId: await commitBlob(tx, pending),
    backboneBlobId: backbone ? await commitBlob(tx, backbone) : null,
  }));
  const { cacheDir: _, ...encoder } = config.encoder as { cacheDir?: string };
  const row = await prisma.model.create({
    data: { name: `exported ${name}`, vocabSize: result.vocab.size, config: { ...config, encoder } as object, ...ids },
  });
  return { name, modelDir, modelId: row.id, ...ids };
}

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-static-export-'));
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY });
  const images = await shapesImages(dir, 8, 7, 32);
  models.push(await storedModel('cnn', BABY_MODEL_CONFIG, images));
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
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    ],
  });
  const url = await saveLayersModel(network, path.join(dir, 'backbone-src'));
  network.dispose();
  const encoder = { kind: 'pretrained' as const, url, layer: 'conv', imageSize: 32, inputRange: [-1, 1] as [number, number] };
  models.push(
    await storedModel('backbone', { ...BABY_MODEL_CONFIG, encoder: { ...encoder, cacheDir: path.join(dir, 'features') } }, images),
  );
}, 240_000);

afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Downloads model `m`'s export zip with the key and unpacks it; checks the CLI's folder holds the same files. */
async function downloadExport(api: TestApi, m: Exported): Promise<string> {
  const { data } = await api.gql<{ model: { webFiles: { exportZip: string } } }>(
    'query($id: ID!) { model(id: $id) { webFiles { exportZip } } }',
    { id: m.modelId },
    KEY,
  );
  const zipUrl = new URL(data!.model.webFiles.exportZip, api.api.url);
  expect((await fetch(zipUrl)).status).toBe(401);
  const res = await fetch(zipUrl, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  const zip = path.join(dir, `${m.name}.zip`);
  await writeFile(zip, Buffer.from(await res.arrayBuffer()));
  await extractZip(zip, path.join(dir, `${m.name}-unzipped`));
  const [folder] = await readdir(path.join(dir, `${m.name}-unzipped`));
  const site = path.join(dir, `${m.name}-unzipped`, folder!);

  // the CLI's folder (glimpse model export --web) holds the same files
  const files = await readModelWebFiles(api.db.prisma, m, MAX_WEB_MODEL_BYTES);
  await writeWebExport(path.join(dir, `${m.name}-cli`), await webExportFiles(files!, 'exported'));
  expect(await listFiles(path.join(dir, `${m.name}-cli`))).toEqual(await listFiles(site));
  const backbone = m.backboneBlobId ? `model/backbone/${m.backboneBlobId.slice(0, 16)}` : null;
  expect((await listFiles(site)).filter((f) => f.startsWith('model/'))).toEqual(
    [
      ...(backbone ? [`${backbone}/model.json`, `${backbone}/weights.bin`] : []),
      'model/model.json',
      'model/vocab.json',
      'model/weights.bin',
    ].sort(),
  );
  return site;
}

describe.skipIf(browserMissing)('the static export', () => {
  it('captions an image from a plain static file server, with no Glimpse process (a CNN model and a backbone model)', async () => {
    const api = t!;
    const sites = [];
    for (const m of models) sites.push({ m, site: await downloadExport(api, m) });
    await api.close();
    t = undefined; // no Glimpse process from here on

    const image = await sharp({
      create: { width: 90, height: 60, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 140, sigma: 40 } },
    })
      .png()
      .toBuffer();
    for (const { m, site } of sites) {
      const captioner = await loadCaptioner(m.modelDir);
      const expected = (await captioner.caption(image)).caption;
      captioner.dispose();

      const server = await serveStatic((p) => (p.includes('..') ? undefined : path.join(site, p === '/' ? 'index.html' : p)));
      const chromium = await launchOffline();
      try {
        const page = await chromium.context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${server.origin}/index.html`);
        await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
        await page.locator('#file').setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: image });
        await expect
          .poll(() => page.locator('#status').innerText(), { timeout: 60_000 })
          .toMatch(/^done: \d+ words · backend (webgpu|webgl|wasm)/);
        expect(await page.locator('#caption').innerText(), `${m.name}: ${await page.locator('#status').innerText()}`).toBe(expected);
        expect(errors).toEqual([]);
        expect(chromium.external).toEqual([]);
        // the page asked the static server only for the export's own files (the backbone's among them)
        const served = new Set((await listFiles(site)).map((f) => `/${f}`));
        expect(server.requested.filter((p) => !served.has(p))).toEqual([]);
        if (m.backboneBlobId) expect(server.requested.some((p) => p.startsWith('/model/backbone/'))).toBe(true);
      } finally {
        await chromium.close();
        await server.close();
      }
      // nothing in the export names a server path or host of this machine
      for (const f of await listFiles(site)) {
        if (!f.endsWith('.wasm') && !f.endsWith('.bin')) expect(await readFile(path.join(site, f), 'utf8')).not.toContain(dir);
      }
    }
  }, 360_000);
});
