// The Models page's evaluations in headless Chromium, offline: a model's evaluations (rows as the API stores
// them), the evaluate form queueing a real evaluateModel, cancel, and two models compared side by side on the
// images both were scored on.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

let t: TestApi;
let b: OfflineBrowser;
let page: Page;
const ids = { a: '', b: '', dataset: '' };

describe.skipIf(browserMissing)('evaluations on the Models page, in Chromium', () => {
  beforeAll(async () => {
    t = await startTestApi({}, { mountWeb });
    const prisma = t.db.prisma;
    ids.dataset = (await prisma.dataset.create({ data: { name: 'shapes-eval', kind: 'SYNTHETIC', status: 'READY' } })).id;
    ids.a = (await prisma.model.create({ data: { name: 'model-a', vocabSize: 10, config: {} } })).id;
    ids.b = (await prisma.model.create({ data: { name: 'model-b', vocabSize: 10, config: {} } })).id;
    const finished = {
      datasetId: ids.dataset,
      split: 'VALIDATION',
      status: 'SUCCEEDED',
      done: 4,
      total: 4,
      splitDigest: '0123456789abcdef',
    } as const;
    await prisma.evaluation.create({ data: { ...finished, modelId: ids.a, bleu1: 0.9, bleu4: 0.5, ciderD: 1.2 } });
    await prisma.evaluation.create({ data: { ...finished, modelId: ids.b, bleu1: 0.8, bleu4: 0.6, ciderD: 1.1 } });
    // another split: not compared
    await prisma.evaluation.create({ data: { ...finished, split: 'ALL', splitDigest: 'fedcba9876543210', modelId: ids.b, bleu4: 0.7 } });
    b = await launchOffline();
    page = await b.context.newPage();
    await page.goto(`${new URL(t.api.url).origin}/#/models`);
    await page.locator('tr[data-model]').first().waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  const statuses = () => page.locator('table.evaluations tr[data-evaluation] td.status').allInnerTexts();

  it("shows a model's evaluations, queues and cancels one from the form", async () => {
    await page.locator(`tr[data-model="${ids.a}"] button.show-evaluations`).click();
    await expect.poll(statuses, { timeout: 10_000 }).toEqual(['SUCCEEDED']);
    expect(await page.locator('table.evaluations td.bleu4').allInnerTexts()).toEqual(['0.5000']);
    await page.locator('select[name=evaluate-dataset] option').first().waitFor({ state: 'attached' });
    await page.locator('button.evaluate').click();
    await expect.poll(statuses, { timeout: 10_000 }).toEqual(['QUEUED', 'SUCCEEDED']);
    await page.locator('button.cancel-evaluation').click();
    await expect.poll(statuses, { timeout: 10_000 }).toEqual(['CANCELLED', 'SUCCEEDED']);
  });

  it('compares two models on the images both were scored on', async () => {
    await page.locator('input[name=compare-b]').fill(ids.b);
    await page.locator('button.compare').click();
    const bleu4 = page.locator('table.compare tr[data-metric=bleu4] td.num');
    await expect.poll(() => bleu4.allInnerTexts(), { timeout: 10_000 }).toEqual(['0.5000', '0.6000']);
    expect(await page.locator('table.compare tr[data-metric=bleu4] td.better').innerText()).toBe('0.6000');
    expect(await page.locator('table.compare thead th').allInnerTexts()).toEqual([
      'dataset',
      'split',
      'decoding',
      'metric',
      'model-a',
      'model-b',
    ]);
    // one dataset + split both scored: six metric rows, not the other split's
    expect(await page.locator('table.compare tbody tr').count()).toBe(6);
  });
});
