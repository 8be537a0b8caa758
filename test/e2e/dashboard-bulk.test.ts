// The dashboard's bulk caption jobs in headless Chromium, offline: the list shows each job with its model,
// dataset, status and progress, refreshes while a job moves, and its results link downloads the COCO-style JSON.
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

let t: TestApi;
let b: OfflineBrowser;
let page: Page;

describe.skipIf(browserMissing)('bulk caption jobs in the dashboard', () => {
  beforeAll(async () => {
    t = await startTestApi({}, { mountWeb });
    b = await launchOffline();
    page = await b.context.newPage();
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('lists a job with its progress, follows it, and downloads its results', async () => {
    const dataset = await t.db.prisma.dataset.create({ data: { name: 'shapes-200', kind: 'SYNTHETIC', status: 'READY', imageCount: 200 } });
    const model = await t.db.prisma.model.create({ data: { name: 'tiny captioner', path: '/nowhere', vocabSize: 9, config: {} } });
    const job = await t.db.prisma.bulkCaptionJob.create({
      data: { modelId: model.id, datasetId: dataset.id, status: 'RUNNING', total: 200, done: 2, priority: 'HIGH' },
    });
    await t.db.prisma.bulkCaptionResult.createMany({
      data: [
        { jobId: job.id, index: 0, imageId: '7', fileName: '7.png', caption: 'a red circle' },
        { jobId: job.id, index: 1, imageId: '8', fileName: '8.png', caption: 'a blue square' },
      ],
    });
    await page.goto(`${new URL(t.api.url).origin}/#/bulk`);
    const row = page.locator(`tr[data-bulk="${job.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('td').allInnerTexts()).toEqual([
      job.id.slice(0, 8),
      'tiny captioner',
      'shapes-200',
      'RUNNING',
      '2 / 200 (1%)',
      'high',
      expect.any(String),
      'results.json',
    ]);
    // the page refreshes itself: the job's progress shows without a reload
    await t.db.prisma.bulkCaptionJob.update({ where: { id: job.id }, data: { status: 'SUCCEEDED', done: 200 } });
    await expect.poll(() => row.locator('td.progress').innerText(), { timeout: 10_000 }).toBe('200 / 200 (100%)');
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('a.download').click()]);
    const saved = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(saved).toEqual([
      { image_id: 7, caption: 'a red circle' },
      { image_id: 8, caption: 'a blue square' },
    ]);
  }, 60_000);
});
