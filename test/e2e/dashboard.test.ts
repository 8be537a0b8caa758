// The dashboard in headless Chromium with the internet blocked: the runs list shows a run, and its
// page draws loss points on the chart as the run writes them (pixels compared, not only the DOM).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify } from '../../src/events/index.ts';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

const API_KEY = 'dashboard-e2e-key';

let t: TestApi;
let b: OfflineBrowser | undefined;
let page: Page;
beforeAll(async () => {
  // reads open to visitors without the key (GLIMPSE_PUBLIC_READ), mutations keyed: the page is browsed before the key is entered
  t = await startTestApi({ GLIMPSE_API_KEYS: API_KEY, GLIMPSE_PUBLIC_READ: 'true' }, { mountWeb });
  if (browserMissing) return;
  b = await launchOffline();
  page = await b.context.newPage();
});
afterAll(async () => {
  await b?.close();
  await t?.close();
});

const origin = () => new URL(t.api.url).origin;

it('serves the page and its script with caching headers, nothing from other hosts', async () => {
  const res = await fetch(`${origin()}/`);
  expect(res.headers.get('cache-control')).toBe('no-cache');
  const html = await res.text();
  const script = /<script type="module" src="(\/assets\/dashboard\.[0-9a-f]{12}\.js)">/.exec(html)?.[1];
  expect(script).toBeDefined();
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  const js = await fetch(origin() + script!);
  expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect((await js.text()).length).toBeGreaterThan(1000);
});

describe.skipIf(browserMissing)('the dashboard in Chromium, offline', () => {
  async function writeBatch(runId: string, step: number): Promise<void> {
    await t.db.prisma.$transaction(async (tx) => {
      await tx.lossPoint.create({ data: { runId, step, epoch: 1, batch: step, loss: 3 / step, examplesPerSec: 50 } });
      await tx.trainingRun.update({ where: { id: runId }, data: { status: 'RUNNING', step, epoch: 1 } });
      await notify(tx, 'training_run', runId);
    });
  }
  /** the chart's pixels as a data URL */
  const chartPixels = () => page.locator('canvas.loss-chart').evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const pointsDrawn = () => page.locator('canvas.loss-chart').getAttribute('data-points');

  it('lists a run and draws its loss points live', async () => {
    const dataset = await t.db.prisma.dataset.create({ data: { name: 'dash-e2e', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: { epochs: 1 }, totalSteps: 10 } });
    await page.goto(`${origin()}/`);
    const row = page.locator(`tr[data-run="${run.id}"]`);
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
    expect(await row.innerText()).toMatch(/dash-e2e\s+QUEUED\s+0 \/ 10/);

    await row.locator('a').click();
    await expect.poll(() => page.locator('.status').innerText(), { timeout: 10_000 }).toBe('QUEUED');
    const empty = await chartPixels();
    await writeBatch(run.id, 1);
    await writeBatch(run.id, 2);
    await expect.poll(pointsDrawn, { timeout: 10_000 }).toBe('2');
    const twoPoints = await chartPixels();
    expect(twoPoints).not.toBe(empty);
    await writeBatch(run.id, 3);
    await expect.poll(pointsDrawn, { timeout: 10_000 }).toBe('3');
    expect(await chartPixels()).not.toBe(twoPoints);
    expect(await page.locator('.status').innerText()).toBe('RUNNING');
    expect(b!.external).toEqual([]);
  });

  it('cancels with the API key, resumes, and keeps charting the resumed run', async () => {
    const dataset = await t.db.prisma.dataset.create({ data: { name: 'dash-e2e-cancel', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: { epochs: 1 } } });
    await page.goto(`${origin()}/#/runs/${run.id}`);
    const status = page.locator('p .status');
    await expect.poll(() => status.innerText(), { timeout: 20_000 }).toBe('QUEUED');

    await page.locator('#api-key').fill('');
    await page.locator('#api-key').dispatchEvent('change');
    await page.locator('button.cancel').click();
    await expect.poll(() => page.locator('span.error').innerText(), { timeout: 10_000 }).not.toBe('');
    expect((await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: run.id } })).status).toBe('QUEUED');

    await page.locator('#api-key').fill(API_KEY);
    await page.locator('#api-key').dispatchEvent('change');
    await page.locator('button.cancel').click();
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toBe('CANCELLED');
    expect(await page.locator('button.cancel').isDisabled()).toBe(true);

    await page.locator('button.resume').click();
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toBe('QUEUED');
    await writeBatch(run.id, 1);
    await expect.poll(pointsDrawn, { timeout: 10_000 }).toBe('1');
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toBe('RUNNING');
    expect(b!.external).toEqual([]);
  });
});
