// The dashboard in headless Chromium (internet blocked) against a real API and a real in-process
// worker: a dataset created on the Datasets page turns READY; a tiny run started from the form draws
// its loss points while it runs; the model it registers shows its metrics; the caption page streams
// an uploaded image's caption word by word and its canvas follows the selected word's attention
// (pixels compared, not only the DOM).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionMap } from '../../src/ml/viz/heatmap.ts';
import { shade } from '../../src/web/dashboard/attention-canvas.ts';
import { mountWeb } from '../../src/server/web.ts';
import type { TestApi } from '../api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';
import { startApiWithWorker, type ApiWithWorker } from './shared.ts';

const API_KEY = 'dashboard-worker-key';

let stack: ApiWithWorker;
let t: TestApi;
let dataDir: string;
let b: OfflineBrowser;
let page: Page;
let datasetId: string;

describe.skipIf(browserMissing)('dashboard with a real worker, in Chromium, offline', () => {
  beforeAll(async () => {
    stack = await startApiWithWorker({ GLIMPSE_API_KEYS: API_KEY }, { mountWeb });
    ({ t, dataDir } = stack);
    b = await launchOffline();
    page = await b.context.newPage();
    await page.addInitScript((key) => localStorage.setItem('glimpse.apiKey', key), API_KEY);
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await stack?.close();
  });

  const origin = () => new URL(t.api.url).origin;
  let runId: string;
  let modelId: string;

  it('creates a synthetic dataset on the Datasets page and follows it to READY', async () => {
    await page.goto(`${origin()}/#/datasets`);
    const form = page.locator('form.dataset-form');
    // the COCO fields show only for the COCO kind
    expect(await form.locator('input[name=annotationsPath]').isVisible()).toBe(false);
    await form.locator('select[name=kind]').selectOption('coco');
    expect(await form.locator('input[name=annotationsPath]').isVisible()).toBe(true);
    expect(await form.locator('input[name=images]').isVisible()).toBe(false);
    await form.locator('select[name=kind]').selectOption('synthetic');
    await form.locator('input[name=images]').fill('16');
    await form.locator('input[name=seed]').fill('5');
    await form.locator('button.create').click(); // no name: the API's BAD_USER_INPUT message is shown
    await expect.poll(() => form.locator('.error').innerText(), { timeout: 10_000 }).toMatch(/name/);
    expect(await t.db.prisma.dataset.count()).toBe(0);
    await form.locator('input[name=name]').fill('tiny-shapes');
    await form.locator('button.create').click();
    const row = page.locator('table.datasets tr', { hasText: 'tiny-shapes' });
    await expect.poll(() => row.locator('.status').innerText(), { timeout: 60_000 }).toBe('READY');
    expect(await row.innerText()).toMatch(/tiny-shapes\s+synthetic\s+READY\s+16\s+80/);
    datasetId = (await t.db.prisma.dataset.findFirstOrThrow({ where: { name: 'tiny-shapes' } })).id;
    expect(b.external).toEqual([]);
  });

  it('starts a tiny run from the form; loss points appear on the chart while it runs', async () => {
    await page.goto(`${origin()}/`);
    const form = page.locator('form.start-form');
    await expect.poll(() => form.locator('select[name=datasetId] option').count(), { timeout: 20_000 }).toBe(1);
    expect(await form.locator('select[name=datasetId] option').innerText()).toMatch(/tiny-shapes \(16 images/);
    const values = { epochs: '4', batchSize: '2', units: '32', embeddingDim: '16', vocabSize: '40', seed: '3' };
    for (const [name, value] of Object.entries(values)) await form.locator(`input[name=${name}]`).fill(value);

    // bad input stays in the page as a message, nothing is started
    await form.locator('input[name=epochs]').fill('1.5');
    await form.locator('button.start').click();
    expect(await form.locator('.error').innerText()).toMatch(/epochs: a whole number/);
    expect(await t.db.prisma.trainingRun.count()).toBe(0);
    await form.locator('input[name=epochs]').fill(values.epochs);
    // the API's validation reaches the page too: a backbone must be an http(s) URL or an absolute path
    await form.locator('input[name=backbone]').fill('models/net.json');
    await form.locator('button.start').click();
    await expect.poll(() => form.locator('.error').innerText(), { timeout: 10_000 }).toMatch(/backbone/);
    expect(await t.db.prisma.trainingRun.count()).toBe(0);
    await form.locator('input[name=backbone]').fill('');

    await form.locator('button.start').click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]+$/, { timeout: 10_000 });
    runId = decodeURIComponent(page.url().split('#/runs/')[1]!);
    // every change of the chart's point count, with the status shown at that moment
    await page.evaluate(() => {
      const seen: { points: number; status: string }[] = ((window as any).chartLog = []);
      new MutationObserver(() => {
        const canvas = document.querySelector('canvas.loss-chart');
        const points = Number(canvas?.getAttribute('data-points') ?? 0);
        const status = document.querySelector('p .status')?.textContent ?? '';
        if (canvas && points !== seen.at(-1)?.points) seen.push({ points, status });
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-points'], childList: true });
    });
    const stored = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
    expect(stored.config).toMatchObject({ epochs: 4, batchSize: 2, units: 32, embeddingDim: 16, vocabSize: 40, seed: 3 });

    await expect.poll(() => page.locator('p .status').innerText(), { timeout: 120_000 }).toBe('SUCCEEDED');
    const run = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { model: true } });
    expect(run.status).toBe('SUCCEEDED');
    await expect
      .poll(() => page.locator('canvas.loss-chart').getAttribute('data-points'), { timeout: 10_000 })
      .toBe(String(run.totalSteps));
    const log = (await page.evaluate(() => (window as any).chartLog)) as { points: number; status: string }[];
    const whileRunning = log.filter((e) => e.status === 'RUNNING' && e.points > 0);
    // points arrived batch by batch during the run, not all at the end
    expect(whileRunning.length).toBeGreaterThanOrEqual(2);
    expect(whileRunning.at(-1)!.points).toBeGreaterThan(whileRunning[0]!.points);
    expect(whileRunning[0]!.points).toBeLessThan(run.totalSteps!);
    modelId = run.model!.id;
    await expect.poll(() => page.locator('a.model-link').getAttribute('href'), { timeout: 10_000 }).toBe(`#/caption/${modelId}`);
    expect(await page.locator('.run-about').innerText()).toMatch(
      /^tiny-shapes · 4 epochs · batch 2 · GRU 32 · embedding 16 · vocabulary 40/,
    );
    expect(b.external).toEqual([]);
  }, 180_000);

  it('lists the model with its metrics and links to the caption page', async () => {
    await page.goto(`${origin()}/#/models`);
    const row = page.locator(`tr[data-model="${modelId}"]`);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    const model = await t.db.prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    const metrics = model.metrics as { valLoss: number; trainLoss: number };
    expect(await row.locator('.val-loss').innerText()).toBe(metrics.valLoss.toFixed(3));
    expect(await row.locator('.train-loss').innerText()).toBe(metrics.trainLoss.toFixed(3));
    await row.locator('a.caption-link').click();
    await page.waitForURL(`**/#/caption/${modelId}`);
    await expect.poll(() => page.locator('select[name=model]').inputValue(), { timeout: 10_000 }).toBe(modelId);
  });

  it('captions an uploaded image word by word; the heatmap follows the selected word', async () => {
    // a real PNG, not square (the model sees it stretched; the heatmap stretches with it), bright everywhere
    const image = await sharp({
      create: { width: 120, height: 80, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 150, sigma: 40 } },
    })
      .png()
      .toBuffer();
    // the word count each time the word list changes: one word per change means one by one
    await page.evaluate(() => {
      const counts: number[] = ((window as any).wordCounts = []);
      const words = document.querySelector('.words')!;
      new MutationObserver(() => counts.push(words.querySelectorAll('.word').length)).observe(words, { childList: true });
    });
    expect(await page.locator('.caption-view').isVisible()).toBe(false); // nothing to show before an image
    await page.evaluate(() => performance.clearMeasures('glimpse:draw-word'));
    await page.locator('input[type=file]').setInputFiles({ name: 'shapes.png', mimeType: 'image/png', buffer: image });
    await expect.poll(() => page.locator('.caption-status').innerText(), { timeout: 60_000 }).toMatch(/^done: \d+ words$/);
    // each arriving word was drawn (its heatmap computed, the 448-px picture shaded) in one short main-thread task
    const drawMs = (await page.evaluate(() => performance.getEntriesByName('glimpse:draw-word').map((m) => m.duration))).sort(
      (a, b) => a - b,
    );
    console.log(`draw per arriving word (ms): ${drawMs.map((d) => d.toFixed(1)).join(', ')}`);
    expect(drawMs.length).toBeGreaterThanOrEqual(2); // the time per word is dashboard-visibility.test.ts's check

    const requestId = await page.locator('.caption-status').getAttribute('data-request');
    const request = await t.db.prisma.captionRequest.findUniqueOrThrow({
      where: { id: requestId! },
      include: { tokens: { orderBy: { index: 'asc' } } },
    });
    expect(request.status).toBe('SUCCEEDED');
    const words = await page.locator('.word').allInnerTexts();
    expect(words).toEqual(request.tokens.map((token) => token.token));
    expect(await page.locator('.caption-final').innerText()).toBe(request.caption);
    const counts = (await page.evaluate(() => (window as any).wordCounts)) as number[];
    expect(counts.filter((c) => c > 0)).toEqual(words.map((_, i) => i + 1));
    expect(words.length).toBeGreaterThanOrEqual(2);

    const canvas = page.locator('canvas.attention');
    const pixels = () => canvas.evaluate((c: HTMLCanvasElement) => c.toDataURL());
    // the newest word is selected while they arrive
    expect(await canvas.getAttribute('data-word')).toBe(String(words.length - 1));
    await page.locator('.word').nth(0).hover();
    expect(await canvas.getAttribute('data-word')).toBe('0');
    const first = await pixels();
    await page.locator('.word').nth(1).hover();
    expect(await canvas.getAttribute('data-word')).toBe('1');
    const second = await pixels();
    expect(second).not.toBe(first);
    await page.keyboard.press('ArrowLeft'); // stepping back to word 0 redraws the same picture
    expect(await canvas.getAttribute('data-word')).toBe('0');
    expect(await pixels()).toBe(first);
    await page.locator('button.next').click();
    expect(await pixels()).toBe(second);

    // word 1's picture is exactly the image lit by that word's smoothed attention (as the API stored it)
    const { width, height, base, lit } = await canvas.evaluate(async (c: HTMLCanvasElement, b64: string) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const plain = new OffscreenCanvas(c.width, c.height).getContext('2d')!;
      plain.imageSmoothingQuality = 'high';
      plain.drawImage(bitmap, 0, 0, c.width, c.height);
      const pixels = (ctx: { getImageData: CanvasRenderingContext2D['getImageData'] }) =>
        Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
      return { width: c.width, height: c.height, base: pixels(plain), lit: pixels(c.getContext('2d')!) };
    }, image.toString('base64'));
    expect([width, height]).toEqual([448, 299]); // scaled up, aspect kept
    const map = attentionMap(request.tokens[1]!.attention, request.gridSize!, width, height);
    let worst = 0;
    for (let p = 0; p < width * height; p++) {
      for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(lit[4 * p + ch]! - shade(base[4 * p + ch]!, map[p]!)));
    }
    expect(worst).toBeLessThanOrEqual(1); // 8-bit rounding
    expect(b.external).toEqual([]);
  }, 90_000);

  it('a second image picked while the first is still on its way replaces it: only its words are shown', async () => {
    const picture = (background: string) =>
      sharp({ create: { width: 64, height: 48, channels: 3, background } })
        .png()
        .toBuffer();
    const [first, second] = await Promise.all([picture('#c33'), picture('#33c')]);
    const before = await t.db.prisma.captionRequest.count();
    await page.locator('input[type=file]').setInputFiles({ name: 'first.png', mimeType: 'image/png', buffer: first });
    await page.locator('input[type=file]').setInputFiles({ name: 'second.png', mimeType: 'image/png', buffer: second });
    await expect.poll(() => page.locator('.caption-status').innerText(), { timeout: 60_000 }).toMatch(/^done: \d+ words$/);
    const requestId = await page.locator('.caption-status').getAttribute('data-request');
    const request = await t.db.prisma.captionRequest.findUniqueOrThrow({
      where: { id: requestId! },
      include: { tokens: { orderBy: { index: 'asc' } } },
    });
    expect(request.imageHash).toBe(createHash('sha256').update(second).digest('hex'));
    await page.waitForTimeout(1000); // time for a stale stream to show up, were it followed
    expect(await page.locator('.word').allInnerTexts()).toEqual(request.tokens.map((token) => token.token));
    expect(await t.db.prisma.captionRequest.count()).toBeLessThanOrEqual(before + 2);
  });

  it('shows a clear message for a picked or dropped file that is not an image, and sends nothing', async () => {
    const before = await t.db.prisma.captionRequest.count();
    await page.locator('input[type=file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect.poll(() => page.locator('p.error').innerText(), { timeout: 5_000 }).toMatch(/notes\.txt: JPEG, PNG or WebP please/);
    expect(await t.db.prisma.captionRequest.count()).toBe(before);
    // dropped files take the same path as picked ones
    await page.locator('.dropzone').evaluate((zone) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['%PDF-1.4'], 'paper.pdf', { type: 'application/pdf' }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await expect
      .poll(() => page.locator('p.error').innerText(), { timeout: 5_000 })
      .toMatch(/paper\.pdf: JPEG, PNG or WebP please \(got application\/pdf\)/);
    expect(await t.db.prisma.captionRequest.count()).toBe(before);
  });
  it('deletes from the pages, after a confirmation: the dataset only once no run uses it', async () => {
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${origin()}/#/datasets`);
    const datasetRow = page.locator('table.datasets tr', { hasText: 'tiny-shapes' });
    await datasetRow.locator('button.delete').click();
    await expect.poll(() => page.locator('p.error').innerText(), { timeout: 10_000 }).toMatch(/used by 1 training run/);

    await page.goto(`${origin()}/#/runs/${runId}`);
    await expect.poll(() => page.locator('button.delete').isDisabled(), { timeout: 10_000 }).toBe(false);
    await page.locator('button.delete').click();
    await page.waitForURL(/#\/$/, { timeout: 10_000 });
    expect(await t.db.prisma.trainingRun.count({ where: { id: runId } })).toBe(0);

    await page.goto(`${origin()}/#/models`);
    await page.locator(`tr[data-model="${modelId}"] button.delete`).click();
    await expect.poll(() => page.locator(`tr[data-model="${modelId}"]`).count(), { timeout: 10_000 }).toBe(0);
    expect(await t.db.prisma.model.count()).toBe(0);

    await page.goto(`${origin()}/#/datasets`);
    await datasetRow.locator('button.delete').click();
    await expect.poll(() => datasetRow.count(), { timeout: 10_000 }).toBe(0);
    expect(await t.db.prisma.dataset.count({ where: { id: datasetId } })).toBe(0);
    expect(existsSync(join(dataDir, 'datasets', datasetId))).toBe(false);
    expect(b.external).toEqual([]);
  });
});
