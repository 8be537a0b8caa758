// The README's dashboard screenshots, from a running Glimpse with a trained model:
//   npx tsx scripts/screenshots.ts --url http://127.0.0.1:4000 --run <runId> --model <modelId> \
//     --image .glimpse/datasets/<id>/images/shapes_000108.png --word red
// Writes docs/dashboard-run.png (the run's loss chart, smoothed), docs/models.png and
// docs/caption-page.png (the image captioned live, the given word's attention shown).
// Uses Debian's Chromium (CHROMIUM_PATH to override); downloads nothing.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:4000' },
    run: { type: 'string' },
    model: { type: 'string' },
    image: { type: 'string' },
    word: { type: 'string' },
    out: { type: 'string', default: 'docs' },
  },
});
if (!values.run || !values.model || !values.image) {
  console.error(
    'usage: npx tsx scripts/screenshots.ts --url URL --run RUN_ID --model MODEL_ID --image FILE.png [--word WORD] [--out docs]',
  );
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 720 } })).newPage();

  await page.goto(`${values.url}/#/runs/${values.run}`);
  await page.waitForFunction(() => /SUCCEEDED|FAILED|CANCELLED/.test(document.querySelector('p .status')?.textContent ?? ''), null, {
    timeout: 60_000,
  });
  // the page replays the run's history (one event per batch): wait until it has reached the run's last step
  const res = await fetch(`${values.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ trainingRun(id: "${values.run}") { step } }` }),
  });
  const lastStep = ((await res.json()) as { data: { trainingRun: { step: number } } }).data.trainingRun.step;
  await page.waitForFunction((step) => document.body.textContent?.includes(`step ${step}/`) ?? false, lastStep, { timeout: 120_000 });
  await page.locator('#smoothing').check();
  await page.screenshot({ path: `${values.out}/dashboard-run.png` });

  await page.goto(`${values.url}/#/models`);
  await page.waitForSelector('tr[data-model]');
  const table = await page.locator('table.models').boundingBox();
  await page.screenshot({
    path: `${values.out}/models.png`,
    clip: { x: 0, y: 0, width: 1200, height: Math.ceil(table!.y + table!.height + 16) },
  });

  await page.goto(`${values.url}/#/caption/${values.model}`);
  await page.waitForFunction((id) => document.querySelector<HTMLSelectElement>('select[name=model]')?.value === id, values.model);
  const bytes = await readFile(values.image);
  await page.locator('input[type=file]').setInputFiles({ name: basename(values.image), mimeType: 'image/png', buffer: bytes });
  await page.waitForFunction(() => /^done/.test(document.querySelector('.caption-status')?.textContent ?? ''), null, { timeout: 120_000 });
  const words = await page.locator('.word').allInnerTexts();
  const index = values.word ? words.indexOf(values.word) : 1;
  if (index < 0) console.warn(`"${values.word}" is not in the caption "${words.join(' ')}"; showing word 1`);
  await page.locator('.word').nth(Math.max(index, 0)).hover();
  await page.screenshot({ path: `${values.out}/caption-page.png`, fullPage: true });
  console.log(`caption: ${words.join(' ')}`);
} finally {
  await browser.close();
}
