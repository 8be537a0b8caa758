// One source of truth: a default changed in the settings schema (in memory, before anything derives
// from it) is the default of the GraphQL SDL, of `glimpse train --help` and of the dashboard's form in
// Chromium (which reads it from the API by introspection) — none of them keeps a copy.
import { printSchema } from 'graphql';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTION_SETTINGS, ENCODER_SETTINGS, TRAINING_SETTINGS } from '../src/ml/settings/index.ts';
import type { TestApi } from './api/harness.ts';
import { browserMissing, launchOffline, type OfflineBrowser } from './e2e/browser.ts';

// changed before any module that derives from the schema is loaded (they are imported below, dynamically)
TRAINING_SETTINGS.epochs.default = 7;
TRAINING_SETTINGS.units.default = 96;
ENCODER_SETTINGS.gridSize.default = 6;
CAPTION_SETTINGS.beamWidth.default = 5;

let sdl: string;
let t: TestApi;
let b: OfflineBrowser | undefined;
let page: Page;
beforeAll(async () => {
  const { buildApiSchema } = await import('../src/resolvers/schema.ts');
  sdl = printSchema(await buildApiSchema());
  const { startTestApi } = await import('./api/harness.ts');
  const { mountWeb } = await import('../src/server/web.ts');
  t = await startTestApi({}, { mountWeb });
  if (browserMissing) return;
  b = await launchOffline();
  page = await b.context.newPage();
});
afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('a default changed in the settings schema', () => {
  it('is the default in the GraphQL SDL', () => {
    expect(sdl).toMatch(/\n\s+epochs: Int = 7\n/);
    expect(sdl).toMatch(/\n\s+units: Int = 96\n/);
    expect(sdl).toMatch(/\n\s+gridSize: Int = 6\n/);
    expect(sdl).toMatch(/\n\s+beamWidth: Int = 5\n/);
  });

  it('is the default in the CLI help', async () => {
    const { trainCommand } = await import('../src/cli/commands/train.ts');
    const help = trainCommand().helpInformation().replace(/\s+/g, ' ');
    expect(help).toMatch(/--epochs <n> passes over the training images [^;]*; 1\.\.200, default 7 /);
    expect(help).toMatch(/--units <n> GRU and attention units; 8\.\.2048, default 96/);
    expect(help).toMatch(/--grid-size <n> .*default 6/);
  });

  it.skipIf(browserMissing)('is the placeholder of the dashboard form', async () => {
    await page.goto(`${new URL(t.api.url).origin}/`);
    const form = page.locator('form.start-form');
    await form.locator('input[name=epochs]').waitFor({ timeout: 20_000 });
    expect(await form.locator('input[name=epochs]').getAttribute('placeholder')).toBe('7');
    expect(await form.locator('input[name=units]').getAttribute('placeholder')).toBe('96');
    expect(await form.locator('input[name=gridSize]').getAttribute('placeholder')).toBe('6');
    expect(await form.locator('input[name=channels]').getAttribute('placeholder')).toMatch(/^one stage per pooling step, 16, 32/);
    expect(b!.external).toEqual([]);
  });
});
