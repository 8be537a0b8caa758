// The caption page "on this device" in headless Chromium (external requests blocked): the model's files come
// from the API (Model.webFiles, with the key), the caption is computed in the page and equals the worker's for
// the same image; with the network cut after the model loaded, the next image is captioned as well. The status
// names the backend and the time per word.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { loadCaptioner } from '../../src/ml/captioner.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { saveModel } from '../../src/ml/saved-model.ts';
import { train } from '../../src/ml/train.ts';
import { mountWeb } from '../../src/server/web.ts';
import { commitBlob, putDir } from '../../src/storage/index.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { shapesImages } from '../ml/model/fixtures.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

const KEY = 'device-page-key';

let t: TestApi;
let dir: string;
let modelId: string;
let modelDir: string;
let chromium: OfflineBrowser;
let page: Page;

const picture = (mean: number) =>
  sharp({ create: { width: 120, height: 80, channels: 3, background: '#808080', noise: { type: 'gaussian', mean, sigma: 40 } } })
    .png()
    .toBuffer();

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-dashboard-device-'));
  const images = await shapesImages(dir, 8, 5, 32);
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model: BABY_MODEL_CONFIG,
    train: { epochs: 4, batchSize: 8, learningRate: 1e-2, learningRateEnd: 1, seed: 1, valFraction: 0 },
  });
  modelDir = path.join(dir, 'model');
  await saveModel(modelDir, { model: result.model, vocab: result.vocab });
  result.model.dispose();
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY }, { mountWeb });
  const pending = await putDir(t.db.prisma, modelDir);
  const blobId = await t.db.prisma.$transaction((tx) => commitBlob(tx, pending));
  modelId = (
    await t.db.prisma.model.create({ data: { name: 'device', vocabSize: result.vocab.size, config: { ...BABY_MODEL_CONFIG }, blobId } })
  ).id;
  chromium = await launchOffline();
  page = await chromium.context.newPage();
  await page.addInitScript((key) => localStorage.setItem('glimpse.apiKey', key), KEY);
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(browserMissing)('the caption page, on this device', () => {
  it('captions in the page what the worker captions, and again with the network cut', async () => {
    const captioner = await loadCaptioner(modelDir);
    const images = [await picture(150), await picture(90)];
    const expected = await Promise.all(images.map(async (image) => (await captioner.caption(image)).caption));
    captioner.dispose();

    await page.goto(`${t.api.url.replace(/\/graphql$/, '')}/#/caption/${modelId}`);
    await expect.poll(() => page.locator('select[name=model]').inputValue(), { timeout: 20_000 }).toBe(modelId);
    await page.locator('select[name=where]').selectOption('device');
    await page.locator('input[type=file]').setInputFiles({ name: 'a.png', mimeType: 'image/png', buffer: images[0]! });
    const status = page.locator('.caption-status');
    await expect.poll(() => status.innerText(), { timeout: 90_000 }).toMatch(/^done on this device/);
    expect(await status.innerText()).toMatch(
      /backend (webgpu|webgl|wasm) · model loaded in \d+ ms · first word \d+ ms · [\d.]+ ms per word$/,
    );
    // greedy decoding on the backend the page picked (software WebGL here, or wasm): the worker's words
    expect(await page.locator('.caption-final').innerText()).toBe(expected[0]);
    expect(await page.locator('.words .word').count()).toBe(expected[0]!.split(' ').filter(Boolean).length);

    await chromium.context.setOffline(true);
    try {
      await page.locator('input[type=file]').setInputFiles({ name: 'b.png', mimeType: 'image/png', buffer: images[1]! });
      await expect.poll(() => page.locator('.caption-final').innerText(), { timeout: 60_000 }).toBe(expected[1]);
      expect(await status.innerText()).toMatch(/^done on this device/);
    } finally {
      await chromium.context.setOffline(false);
    }
    expect(chromium.external).toEqual([]);
  }, 180_000);
});
