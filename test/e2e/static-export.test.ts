// The static export of a model (src/web/static-export.ts): downloaded as a zip from the API (Model.webFiles.exportZip,
// with the key), unpacked, then served by a plain node:http file server with the API closed — no Glimpse process —
// and opened in headless Chromium (external requests blocked): it captions a picked image, the worker's caption.
// The folder `glimpse model export --web` writes holds the same files.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { loadCaptioner } from '../../src/ml/captioner.ts';
import { extractZip } from '../../src/ml/data/unzip.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { saveModel } from '../../src/ml/saved-model.ts';
import { train } from '../../src/ml/train.ts';
import { commitBlob, putDir } from '../../src/storage/index.ts';
import { MAX_WEB_MODEL_BYTES, readModelWebFiles } from '../../src/storage/model-web.ts';
import { webExportFiles, writeWebExport } from '../../src/web/static-export.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { shapesImages } from '../ml/model/fixtures.ts';
import { browserMissing, launchOffline } from './browser.ts';
import { serveStatic } from './static-files.ts';

const KEY = 'export-key';

let t: TestApi | undefined;
let dir: string;
let modelDir: string;
let modelId: string;
let blobId: string;

const listFiles = async (root: string): Promise<string[]> =>
  (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-static-export-'));
  const result = await train({
    images: await shapesImages(dir, 8, 7, 32),
    checkpointDir: path.join(dir, 'checkpoints'),
    model: BABY_MODEL_CONFIG,
    train: { epochs: 4, batchSize: 8, learningRate: 1e-2, learningRateEnd: 1, seed: 1, valFraction: 0 },
  });
  modelDir = path.join(dir, 'model');
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY });
  const pending = await putDir(t.db.prisma, modelDir);
  blobId = await t.db.prisma.$transaction((tx) => commitBlob(tx, pending));
  modelId = (
    await t.db.prisma.model.create({ data: { name: 'exported', vocabSize: result.vocab.size, config: { ...BABY_MODEL_CONFIG }, blobId } })
  ).id;
}, 180_000);

afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(browserMissing)('the static export', () => {
  it('captions an image from a plain static file server, with no Glimpse process', async () => {
    const api = t!;
    const { data } = await api.gql<{ model: { webFiles: { exportZip: string } } }>(
      'query($id: ID!) { model(id: $id) { webFiles { exportZip } } }',
      { id: modelId },
      KEY,
    );
    const zipUrl = new URL(data!.model.webFiles.exportZip, api.api.url);
    expect((await fetch(zipUrl)).status).toBe(401);
    const res = await fetch(zipUrl, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    await writeFile(path.join(dir, 'export.zip'), Buffer.from(await res.arrayBuffer()));
    await extractZip(path.join(dir, 'export.zip'), path.join(dir, 'unzipped'));
    const [folder] = await readdir(path.join(dir, 'unzipped'));
    const site = path.join(dir, 'unzipped', folder!);

    // the CLI's folder (glimpse model export --web) holds the same files
    const files = await readModelWebFiles(api.db.prisma, { blobId }, MAX_WEB_MODEL_BYTES);
    await writeWebExport(path.join(dir, 'cli'), await webExportFiles(files!, 'exported'));
    expect(await listFiles(path.join(dir, 'cli'))).toEqual(await listFiles(site));
    expect((await listFiles(site)).filter((f) => f.startsWith('model/'))).toEqual([
      'model/model.json',
      'model/vocab.json',
      'model/weights.bin',
    ]);
    await api.close();
    t = undefined; // no Glimpse process from here on

    const image = await sharp({
      create: { width: 90, height: 60, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 140, sigma: 40 } },
    })
      .png()
      .toBuffer();
    const captioner = await loadCaptioner(modelDir);
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
      expect(await page.locator('#caption').innerText()).toBe(expected);
      expect(errors).toEqual([]);
      expect(chromium.external).toEqual([]);
      // the page asked the static server only for the export's own files
      const served = new Set((await listFiles(site)).map((f) => `/${f}`));
      expect(server.requested.filter((p) => !served.has(p))).toEqual([]);
    } finally {
      await chromium.close();
      await server.close();
    }
    // nothing in the export names a server path or host of this machine
    for (const f of await listFiles(site)) {
      if (!f.endsWith('.wasm') && !f.endsWith('.bin')) expect(await readFile(path.join(site, f), 'utf8')).not.toContain(dir);
    }
  }, 240_000);
});
