// The GraphQL IDE in headless Chromium with the internet blocked: it loads from this server alone,
// runs a query over HTTP and shows live subscription events over graphql-ws.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify } from '../../src/events/index.ts';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

const packageVersion = (await import('../../package.json', { with: { type: 'json' } })).default.version;

const API_KEY = 'ide-e2e-key';

let t: TestApi;
beforeAll(async () => {
  // reads open without the key (GLIMPSE_PUBLIC_READ), mutations keyed: the example queries run before a key is entered
  t = await startTestApi({ GLIMPSE_API_KEYS: API_KEY, GLIMPSE_PUBLIC_READ: 'true' }, { mountWeb });
});
afterAll(() => t?.close());

describe('GET /graphql', () => {
  it('serves the IDE page to browsers, JSON to GraphQL GET requests, hashed assets with long caching', async () => {
    const page = await fetch(t.api.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//); // nothing from another host

    const query = await fetch(`${t.api.url}?query=${encodeURIComponent('{ serverInfo { version } }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await query.json()).toEqual({ data: { serverInfo: { version: packageVersion } } });

    const assets = [...html.matchAll(/(?:src|href)="(\/ide\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const path of assets) {
      const res = await fetch(new URL(path, t.api.url), { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect((await fetch(new URL('/ide/missing.js', t.api.url))).status).toBe(404);
  });
});

describe.skipIf(browserMissing)('the IDE in Chromium, offline', () => {
  let b: OfflineBrowser;
  let page: Page;
  beforeAll(async () => {
    b = await launchOffline();
    page = await b.context.newPage();
  });
  afterAll(() => b?.close());

  /** the result pane's text (Monaco renders spaces as no-break spaces) */
  const responseText = async () => (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
  const waitForResponse = (pattern: RegExp) => expect.poll(responseText, { timeout: 20_000, interval: 200 }).toMatch(pattern);

  async function replaceEditorText(editor: string, text: string): Promise<void> {
    await page.locator(`${editor} .monaco-editor:visible`).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
  }

  async function openTab(title: string): Promise<void> {
    // a DOM click: a CDP mouse click on these framer-motion drag items does not reach the button's onClick here
    await page.locator('.graphiql-tab-button', { hasText: title }).dispatchEvent('click');
    await expect.poll(() => page.getByRole('tab', { selected: true }).innerText(), { timeout: 10_000 }).toBe(title);
  }

  it('loads with the example operations and runs a query', async () => {
    await page.goto(t.api.url);
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
    const tabs = page.locator('.graphiql-tab');
    await expect
      .poll(() => tabs.allInnerTexts())
      .toEqual([
        'Overview',
        'StartTraining',
        'FineTune',
        'TrainingProgress',
        'SetModelAlias',
        'RequestCaption',
        'CaptionStream',
        'EvaluateModel',
        'EvaluationProgress',
        'CaptionDataset',
        'BulkCaptionProgress',
        'Queues',
      ]);
    await page.locator('.graphiql-execute-button').click();
    await waitForResponse(new RegExp(`"version": "${packageVersion.replace(/\./g, '\\.')}"`));
  });

  it('receives trainingProgress events over graphql-ws as the run writes them', async () => {
    const dataset = await t.db.prisma.dataset.create({ data: { name: 'ide-e2e', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: { epochs: 1 } } });
    await openTab('TrainingProgress');
    await page.getByRole('button', { name: /^variables$/i }).click();
    await replaceEditorText('.graphiql-editor-tool', JSON.stringify({ runId: run.id }));
    const sockets: string[] = [];
    const frames: string[] = [];
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framereceived', ({ payload }) => frames.push(String(payload)));
    });
    await page.locator('.graphiql-execute-button').click();
    await waitForResponse(/"kind": "STATUS",[\s\S]*"status": "QUEUED"/);
    expect(sockets).toEqual([t.api.url.replace(/^http/, 'ws')]);

    await t.db.prisma.$transaction(async (tx) => {
      await tx.trainingRun.update({ where: { id: run.id }, data: { status: 'RUNNING' } });
      await notify(tx, 'training_run', run.id);
    });
    await waitForResponse(/"kind": "STATUS",[\s\S]*"status": "RUNNING"/);
    for (const step of [1, 2, 3]) {
      await t.db.prisma.$transaction(async (tx) => {
        await tx.lossPoint.create({ data: { runId: run.id, step, epoch: 1, batch: step, loss: 4 - step / 8, examplesPerSec: 50 } });
        await tx.trainingRun.update({ where: { id: run.id }, data: { step, epoch: 1 } });
        await notify(tx, 'training_run', run.id);
      });
      // GraphiQL shows the latest event of a subscription
      await waitForResponse(new RegExp(`"kind": "BATCH",\\s+"step": ${step},[\\s\\S]*"loss": ${4 - step / 8},`));
    }
    expect(b.external).toEqual([]);
    const events = frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'next');
    expect(events.map((m) => m.payload.data.trainingProgress.kind)).toEqual(['STATUS', 'STATUS', 'BATCH', 'BATCH', 'BATCH']);
    if (process.env.UPDATE_SCREENSHOTS) {
      mkdirSync('docs', { recursive: true });
      await page.screenshot({ path: 'docs/ide.png' });
    }
  });

  it('sends the bearer key from the headers editor with mutations', async () => {
    const dataset = await t.db.prisma.dataset.create({ data: { name: 'ide-e2e-train', kind: 'SYNTHETIC', status: 'READY' } });
    await openTab('StartTraining');
    await page.getByRole('button', { name: /^variables$/i }).click();
    await replaceEditorText('.graphiql-editor-tool', JSON.stringify({ input: { datasetId: dataset.id, epochs: 1 } }));
    // the tab's placeholder key is refused
    await page.locator('.graphiql-execute-button').click();
    await waitForResponse(/"code": "UNAUTHENTICATED"/);
    await page.getByRole('button', { name: /^headers$/i }).click();
    await replaceEditorText('.graphiql-editor-tool', JSON.stringify({ Authorization: `Bearer ${API_KEY}` }));
    await page.locator('.graphiql-execute-button').click();
    await waitForResponse(/"startTraining": \{\s+"id": "[^"]+",\s+"status": "QUEUED"/);
    expect(await t.db.prisma.trainingRun.count({ where: { datasetId: dataset.id } })).toBe(1);
    expect(b.external).toEqual([]);
  });
});
