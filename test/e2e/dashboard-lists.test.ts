// The dashboard's lists at 5,000 rows in headless Chromium, offline (issue 19, point 4): the Models page
// shows a page, pages forward and back, and filters by name and by dataset; the caption page finds a
// model by name (typeahead over the paginated query) and opens one named in its URL however old; the
// Runs page reaches older runs and filters by status; the Datasets page pages too. Last (issue 22), the Models
// page shows versions and sets and moves an alias, and the caption page offers `name@alias`.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { insertManyRows } from '../helpers/many-rows.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

const ROWS = 5000;
const TRAINED_ON = 100;

let t: TestApi;
let b: OfflineBrowser;
let page: Page;
let sent: string[] = [];

describe.skipIf(browserMissing)('lists of 5,000 in Chromium, offline', () => {
  beforeAll(async () => {
    t = await startTestApi({}, { mountWeb });
    await insertManyRows(t.db.prisma, ROWS, TRAINED_ON);
    b = await launchOffline();
    page = await b.context.newPage();
    // the GraphQL documents the page sends: none may ask a whole list
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/graphql')) sent.push(request.postData() ?? '');
    });
    // the dashboard's script is bundled on its first request: loaded here, so the timing below is the page's own
    await page.goto(`${new URL(t.api.url).origin}/#/caption`);
    await page.locator('select[name=model] option').first().waitFor({ state: 'attached', timeout: 30_000 });
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  const origin = () => new URL(t.api.url).origin;
  const modelNames = () => page.locator('tr[data-model] td.name').allInnerTexts();
  // the page's own list (the Models page has a second pager under it: the evaluations)
  const range = () => page.locator('.pager .range').first().innerText();
  const numbered = (from: number, to: number, prefix = 'model-') =>
    Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);

  it('Models: the newest 20 at once, then older and back; filtered by name and by dataset', async () => {
    sent = [];
    const started = performance.now();
    await page.goto(`${origin()}/#/models`);
    await expect.poll(modelNames, { timeout: 20_000 }).toEqual(numbered(1, 20));
    const ms = performance.now() - started;
    console.log(`Models page, 5,000 models: its first 20 rows shown ${ms.toFixed(0)} ms after the link was followed`);
    // 12.4 s when the page loaded every model (issue 19, machine load 2–9); ~1 s here at a load of 12, 3.3 s at 24
    expect(ms).toBeLessThan(5000);
    expect(await range()).toBe('1–20 of 5,000 models');
    expect(await page.locator('button.previous').first().isDisabled()).toBe(true);

    await page.locator('button.next').first().click();
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(numbered(21, 40));
    expect(await range()).toBe('21–40 of 5,000 models');
    await page.locator('button.next').first().click();
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(numbered(41, 60));
    await page.locator('button.previous').first().click();
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(numbered(21, 40));
    await page.locator('button.previous').first().click();
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(numbered(1, 20));

    // a name filter starts from its first page; ten match, one page
    await page.locator('input[name=name-filter]').fill('MODEL-0421');
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(numbered(4210, 4219));
    expect(await range()).toBe('1–10 of 10 models');
    expect(await page.locator('button.next').first().isDisabled()).toBe(true);
    await page.locator('input[name=name-filter]').fill('no such model');
    await expect.poll(() => page.locator('.page-rows').first().innerText(), { timeout: 10_000 }).toBe('No model matches these filters.');
    await page.locator('input[name=name-filter]').fill('');

    // the dataset filter: find the set by name, choose it; its 50 models come 20 at a time
    await page.locator('input[name=dataset-filter-search]').fill('set-00003');
    const datasetOptions = page.locator('select[name=dataset-filter] option');
    await expect.poll(() => datasetOptions.allInnerTexts(), { timeout: 10_000 }).toEqual(['any dataset', 'set-00003']);
    await page.locator('select[name=dataset-filter]').selectOption({ label: 'set-00003' });
    // models i with i % 100 + 1 = 3: 2, 102, 202, …
    const onSet = Array.from({ length: ROWS / TRAINED_ON }, (_, k) => `model-${String(2 + 100 * k).padStart(5, '0')}`);
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(onSet.slice(0, 20));
    expect(await range()).toBe('1–20 of 50 models');
    await page.locator('button.next').first().click();
    await page.locator('button.next').first().click({ timeout: 10_000 });
    await expect.poll(modelNames, { timeout: 10_000 }).toEqual(onSet.slice(40));
    expect(await range()).toBe('41–50 of 50 models');
    expect(await page.locator('button.next').first().isDisabled()).toBe(true);

    expect(sent.some((body) => /[{\s](models|datasets)\s*[{(]/.test(JSON.parse(body).query))).toBe(false);
    expect(b.external).toEqual([]);
  });

  it('Caption: offers the newest models, finds one by name as it is typed, and opens an old one named in the URL', async () => {
    sent = [];
    await page.goto(`${origin()}/#/caption`);
    const options = page.locator('select[name=model] option');
    await expect.poll(() => options.count(), { timeout: 20_000 }).toBe(20);
    expect(await options.first().innerText()).toBe('model-00001:1');

    await page.locator('input[name=model-search]').pressSequentially('odel-04242', { delay: 30 });
    await expect.poll(() => options.allInnerTexts(), { timeout: 10_000 }).toEqual(['model-04242:1']);
    const wanted = await t.db.prisma.model.findFirstOrThrow({ where: { name: 'model-04242' } });
    expect(await page.locator('select[name=model]').inputValue()).toBe(wanted.id);
    await page.locator('input[name=model-search]').fill('nothing like it');
    await expect.poll(() => options.allInnerTexts(), { timeout: 10_000 }).toEqual(['no match']);
    expect(await page.locator('select[name=model]').inputValue()).toBe('');

    // the oldest model is on no first page: the URL's model is fetched by its id and chosen
    const oldest = await t.db.prisma.model.findFirstOrThrow({ where: { name: 'model-05000' } });
    await page.goto(`${origin()}/#/caption/${oldest.id}`);
    await expect.poll(() => page.locator('select[name=model]').inputValue(), { timeout: 10_000 }).toBe(oldest.id);
    expect(await page.locator('select[name=model] option:checked').innerText()).toBe('model-05000:1');
    expect(sent.every((body) => !/[{\s]models\s*[{(]/.test(JSON.parse(body).query))).toBe(true);
    expect(b.external).toEqual([]);
  });

  it('Runs: the newest 20 of 5,000, then older ones; filtered by status', async () => {
    await page.goto(`${origin()}/#/`);
    const runs = page.locator('tr[data-run]');
    await expect.poll(() => runs.count(), { timeout: 20_000 }).toBe(20);
    expect(await range()).toBe('1–20 of 5,000 runs');
    // run i was trained on set i % 100 + 1: the first row is run 1 (set-00002), the 21st run 21 (set-00022)
    expect(await runs.first().locator('td').nth(1).innerText()).toBe('set-00002');
    await page.locator('button.next').first().click();
    await expect.poll(() => range(), { timeout: 10_000 }).toBe('21–40 of 5,000 runs');
    expect(await runs.first().locator('td').nth(1).innerText()).toBe('set-00022');
    await page.locator('select[name=status-filter]').selectOption('QUEUED');
    await expect.poll(() => page.locator('.page-rows').first().innerText(), { timeout: 10_000 }).toBe('No run has this status.');
    await page.locator('select[name=status-filter]').selectOption('SUCCEEDED');
    await expect.poll(() => range(), { timeout: 10_000 }).toBe('1–20 of 5,000 runs');
  });

  it('Datasets: the newest 20 of 5,000, paged, filtered by status and name', async () => {
    await page.goto(`${origin()}/#/datasets`);
    const names = () => page.locator('table.datasets tr[data-dataset] td:first-child').allInnerTexts();
    await expect.poll(names, { timeout: 20_000 }).toEqual(numbered(1, 20, 'set-'));
    await page.locator('button.next').first().click();
    await expect.poll(names, { timeout: 10_000 }).toEqual(numbered(21, 40, 'set-'));
    await page.locator('select[name=status-filter]').selectOption('PENDING');
    await expect.poll(range, { timeout: 10_000 }).toBe('1–20 of 500 datasets');
    await page.locator('input[name=name-filter]').fill('set-0499');
    await expect.poll(names, { timeout: 10_000 }).toEqual(['set-04990']);
    expect(b.external).toEqual([]);
  });

  it('Models: versions and aliases; an alias set on one version and moved to the next; Caption offers name@alias', async () => {
    const create = () => t.db.prisma.model.create({ data: { name: 'captioner', path: '/m', vocabSize: 20, config: {} } });
    const v1 = await create();
    const v2 = await create();
    await page.goto(`${origin()}/#/models`);
    await page.locator('input[name=name-filter]').fill('captioner');
    const versions = () => page.locator('tr[data-model] td.version').allInnerTexts();
    await expect.poll(versions, { timeout: 20_000 }).toEqual(['2', '1']);
    const aliasesOf = (id: string) => page.locator(`tr[data-model="${id}"] td.aliases`).innerText();

    page.once('dialog', (dialog) => void dialog.accept('production'));
    await page.locator(`tr[data-model="${v1.id}"] button.set-alias`).click();
    await expect.poll(() => aliasesOf(v1.id), { timeout: 10_000 }).toBe('@production');
    page.once('dialog', (dialog) => void dialog.accept('production'));
    await page.locator(`tr[data-model="${v2.id}"] button.set-alias`).click();
    await expect.poll(() => aliasesOf(v2.id), { timeout: 10_000 }).toBe('@production');
    expect(await aliasesOf(v1.id)).toBe('');
    const history = await t.db.prisma.modelAliasEvent.findMany({ where: { name: 'captioner' }, orderBy: { createdAt: 'asc' } });
    expect(history.map((e) => [e.fromVersion, e.toVersion])).toEqual([
      [null, 1],
      [1, 2],
    ]);

    await page.goto(`${origin()}/#/caption`);
    await page.locator('input[name=model-search]').fill('captioner');
    const options = page.locator('select[name=model] option');
    await expect
      .poll(() => options.allInnerTexts(), { timeout: 10_000 })
      .toEqual(['captioner@production (now :2)', 'captioner:2', 'captioner:1']);
    expect(await page.locator('select[name=model]').inputValue()).toBe('captioner@production');
    // a URL may name the alias: it stays the alias, resolved again for every image
    await page.goto(`${origin()}/#/caption/captioner@production`);
    await expect.poll(() => page.locator('select[name=model]').inputValue(), { timeout: 10_000 }).toBe('captioner@production');
    expect(b.external).toEqual([]);
  });
});
