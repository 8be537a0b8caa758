// Headless Chromium for page tests, offline: every request that is not for this machine is aborted and
// recorded, so a test can assert that its page needed nothing from outside.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { inCi } from '../helpers/prerequisites.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export const browserMissing: string | null = existsSync(CHROMIUM_PATH)
  ? null
  : `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium or set CHROMIUM_PATH): browser tests skipped`;
if (browserMissing && inCi) {
  // in CI a missing tool is a failure with its reason, never a silent skip
  throw new Error(`CI is set: ${browserMissing.replace(': browser tests skipped', '')}; .ci/run installs Debian's chromium`);
}
if (browserMissing) console.warn(browserMissing);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface OfflineBrowser {
  browser: Browser;
  context: BrowserContext;
  /** URLs of the requests that tried to leave the machine (HTTP ones aborted, WebSockets recorded) */
  external: string[];
  close(): Promise<void>;
}

export async function launchOffline(): Promise<OfflineBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const external: string[] = [];
  const isLocal = (url: URL) => LOCAL_HOSTS.has(url.hostname) || url.protocol === 'data:' || url.protocol === 'blob:';
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (isLocal(url)) return route.continue();
    external.push(url.href);
    return route.abort('internetdisconnected');
  });
  // route() does not see WebSockets
  context.on('page', (page) =>
    page.on('websocket', (ws) => {
      if (!isLocal(new URL(ws.url()))) external.push(ws.url());
    }),
  );
  return { browser, context, external, close: () => browser.close() };
}
