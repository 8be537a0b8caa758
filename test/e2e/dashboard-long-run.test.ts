// The run page on a long run (issue 19: 300,000 loss points, 533 epochs) in headless Chromium, offline:
// it draws the chart within 3 s with no page error, follows live batches, and after its WebSocket is
// cut and restored it resumes from the last step it charted (never from 0), one point per step.
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify } from '../../src/events/index.ts';
import { mountWeb } from '../../src/server/web.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { insertLongRun } from '../helpers/long-run.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './browser.ts';

const STEPS = 300_000;

let t: TestApi;
let b: OfflineBrowser | undefined;
let page: Page;
let runId: string;
const pageErrors: string[] = [];
/** the subscribe messages the page sent, and the open sockets (page side, server side) */
const subscribes: { sinceStep: number }[] = [];
const sockets = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
let cut = false;

beforeAll(async () => {
  t = await startTestApi({}, { mountWeb });
  runId = await insertLongRun(t.db.prisma, STEPS, 'RUNNING');
  if (browserMissing) return;
  b = await launchOffline();
  page = await b.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // every WebSocket of the page goes through here, so the test can cut them (and refuse new ones while cut)
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    if (cut) return ws.close({ code: 1012, reason: 'cut by the test' });
    const server = ws.connectToServer();
    const pair = { page: ws, server };
    sockets.add(pair);
    ws.onMessage((message) => {
      const parsed = JSON.parse(String(message)) as { type: string; payload?: { variables?: { sinceStep: number } } };
      if (parsed.type === 'subscribe' && parsed.payload?.variables?.sinceStep !== undefined) subscribes.push(parsed.payload.variables);
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
    ws.onClose(() => (sockets.delete(pair), server.close()));
    server.onClose(() => (sockets.delete(pair), ws.close({ code: 1012, reason: 'server closed' })));
  });
});
afterAll(async () => {
  await b?.close();
  await t?.close();
});

const origin = () => new URL(t.api.url).origin;
const chart = () => page.locator('canvas.loss-chart');
const lastStep = async () => Number(await chart().getAttribute('data-last-step'));
const pointsHeld = async () => Number(await chart().getAttribute('data-points'));

async function writeBatch(step: number): Promise<void> {
  await t.db.prisma.$transaction(async (tx) => {
    await tx.lossPoint.create({ data: { runId, step, epoch: 533, batch: 1 + ((step - 1) % 563), loss: 1.5, examplesPerSec: 50 } });
    await tx.trainingRun.update({ where: { id: runId }, data: { step } });
    await notify(tx, 'training_run', runId);
  });
}

describe.skipIf(browserMissing)('the run page on a 300,000-step run', () => {
  it('draws the downsampled history within 3 s, then follows from its last step', async () => {
    // the dashboard bundled (at its first request) before the page opens, and no other page's requests beside it
    const html = await (await fetch(`${origin()}/`)).text();
    await fetch(origin() + /<script type="module" src="([^"]+)">/.exec(html)![1]!);
    const started = Date.now();
    await page.goto(`${origin()}/#/runs/${runId}`);
    await expect.poll(lastStep, { timeout: 10_000, interval: 50 }).toBe(STEPS);
    const seenMs = Date.now() - started;
    // the page's own clock: from opening the run page to its stored curve on the canvas (the test's polling
    // through Playwright, seenMs, adds its own delays on a loaded machine)
    const drawMs = await page.evaluate(() => performance.getEntriesByName('glimpse:run-history')[0]?.duration ?? Number.NaN);
    console.log(
      `run page with ${STEPS} stored points: chart drawn ${drawMs.toFixed(0)} ms after the page opened (seen by the test after ${seenMs} ms)`,
    );
    expect(drawMs).toBeLessThanOrEqual(3_000);
    const history = await pointsHeld();
    expect(history).toBeGreaterThan(500);
    expect(history).toBeLessThanOrEqual(1_200);
    // the live stream starts where the history ends (one step back, for an epoch summary on that step)
    await expect.poll(() => subscribes.length, { timeout: 10_000 }).toBe(1);
    expect(subscribes[0]!.sinceStep).toBe(STEPS - 1);
    await expect.poll(() => page.locator('p .status').innerText(), { timeout: 10_000 }).toBe('RUNNING');
    expect(await page.locator('table.epochs tbody tr').count()).toBe(0);

    for (let step = STEPS + 1; step <= STEPS + 10; step++) await writeBatch(step);
    await expect.poll(lastStep, { timeout: 10_000 }).toBe(STEPS + 10);
    expect(await pointsHeld()).toBe(history + 10);

    // the socket is cut; batches go on; the socket comes back (graphql-ws reconnects by itself)
    cut = true;
    for (const pair of sockets) pair.page.close({ code: 1012, reason: 'cut by the test' });
    for (let step = STEPS + 11; step <= STEPS + 20; step++) await writeBatch(step);
    cut = false;
    await expect.poll(lastStep, { timeout: 30_000 }).toBe(STEPS + 20);
    await expect.poll(() => subscribes.length).toBe(2);
    expect(subscribes[1]!.sinceStep).toBe(STEPS + 9);
    expect(await pointsHeld()).toBe(history + 20);
    // and it keeps following
    await writeBatch(STEPS + 21);
    await expect.poll(lastStep, { timeout: 10_000 }).toBe(STEPS + 21);
    expect(await pointsHeld()).toBe(history + 21);

    expect(subscribes.every((s) => s.sinceStep >= STEPS - 1)).toBe(true);
    expect(pageErrors).toEqual([]);
    expect(b!.external).toEqual([]);
  });
});
