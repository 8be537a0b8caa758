// Captioning on the device (issue 23): the demo model's architecture (the API defaults on the demo set: CNN
// [16, 32, 64] on 64 px → 8×8 grid, encoderDim 64, embedding 64, GRU 128, deep output; untrained, seed 1, so every
// run decodes the same words) in headless Chromium, src/ml/browser bundled as the dashboard loads it, served by a
// plain node:http server; and the same model in Node on the worker's backend (wasm+openblas where the addon is
// built), which is the server path's decode without the API around it. Per backend: the load (backend start,
// fetch of model.json, vocabulary and weights, building the model), the first word of a greedy caption from the
// image file (decode, resize, encoder, first step) and the time per further word; the median of --captions runs
// after one warm-up. WebGPU is tried as the page would (absent in headless Chromium without a GPU).
// --backbone: the same decoder on a pretrained backbone instead of the CNN: a small TF.js LayersModel (three
// stride-2 3×3 convolutions, 16/32/64 channels, random weights, seed 1) whose last layer's 8×8×64 map is the grid,
// served beside the model as the API serves it (src/storage/model-web.ts), run once per image on both sides.
//
//   npx tsx bench/browser-caption.ts [--captions 10] [--backbone]
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { loadCaptioner } from '../src/ml/captioner.ts';
import { CaptionModel, Vocabulary } from '../src/ml/index.ts';
import { saveModel } from '../src/ml/saved-model.ts';
import type { EncoderConfig } from '../src/ml/types.ts';
import { backboneWebFiles, webModelFiles } from '../src/storage/model-web.ts';
import { saveLayersModel } from '../test/helpers/tfjs-model.ts';
import { bundleDevice, deviceManifest } from '../src/web/device.ts';

const i = process.argv.indexOf('--captions');
const CAPTIONS = i > 0 ? Number(process.argv[i + 1]) : 10;
const BACKBONE = process.argv.includes('--backbone');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  where: string;
  loadMs: number;
  firstMs: number;
  perWordMs: number;
  words: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-bench-browser-'));
  const info = await initBackend('wasm', nativeBackendOptions());
  const vocab = Vocabulary.build(['a red circle left of a blue square', 'a green triangle above a small yellow star']);
  let encoder: EncoderConfig = { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] };
  if (BACKBONE) {
    const conv = (filters: number, name: string, first = false) =>
      tf.layers.conv2d({
        ...(first ? { inputShape: [64, 64, 3] } : {}),
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      });
    const network = tf.sequential({ layers: [conv(16, 'c1', true), conv(32, 'c2'), conv(64, 'features')] });
    const url = await saveLayersModel(network, join(dir, 'backbone'));
    network.dispose();
    encoder = { kind: 'pretrained', url, layer: 'features', imageSize: 64 };
  }
  const model = CaptionModel.create(
    {
      encoder,
      gridSize: 8,
      encoderDim: 64,
      embeddingDim: 64,
      units: 128,
      vocabSize: vocab.size,
      maxLength: 14,
      attentionLambda: 0,
      deepOutput: true,
    },
    1,
    BACKBONE ? 64 : undefined,
  );
  await saveModel(join(dir, 'model'), { model, vocab });
  model.dispose();
  // the model's files as the API serves them (a backbone's beside it, named by a relative URL)
  const filesOf = async (folder: string) =>
    new Map(await Promise.all((await readdir(folder)).map(async (n) => [n, await readFile(join(folder, n))] as const)));
  const served = webModelFiles(
    await filesOf(join(dir, 'model')),
    BACKBONE ? { folder: 'backbone/0000000000000000', files: backboneWebFiles(await filesOf(join(dir, 'backbone'))) } : null,
  )!;
  const image = await sharp({
    create: { width: 640, height: 480, channels: 3, background: '#4080c0', noise: { type: 'gaussian', mean: 128, sigma: 50 } },
  })
    .png()
    .toBuffer();
  const rows: Row[] = [];

  // the server path's decode: src/ml in Node on the worker's backend
  {
    const started = performance.now();
    const captioner = await loadCaptioner(join(dir, 'model'));
    const loadMs = performance.now() - started;
    const firsts: number[] = [];
    const perWord: number[] = [];
    let words = 0;
    for (let run = 0; run <= CAPTIONS; run++) {
      const t0 = performance.now();
      let first = 0;
      let n = 0;
      for await (const _ of captioner.stream(image)) if (n++ === 0) first = performance.now() - t0;
      const total = performance.now() - t0;
      if (run === 0) continue;
      firsts.push(first);
      perWord.push((total - first) / Math.max(1, n - 1));
      words = n;
    }
    captioner.dispose();
    rows.push({ where: `Node, ${info.name}`, loadMs, firstMs: median(firsts), perWordMs: median(perWord), words });
  }

  const assets = await bundleDevice();
  const manifest = deviceManifest(assets, '/');
  const byPath = new Map(Object.values(assets).map((a) => [`/${a.name}`, a]));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const asset = byPath.get(path);
    if (path === '/index.html') {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><script type="module">import * as m from '${manifest.script}'; window.device = m;</script>`);
    } else if (asset) res.writeHead(200, { 'content-type': asset.contentType }).end(asset.body);
    else if (path.startsWith('/model/') && served.has(path.slice('/model/'.length))) {
      res.writeHead(200).end(served.get(path.slice('/model/'.length)));
    } else if (path === '/image.png') res.writeHead(200, { 'content-type': 'image/png' }).end(image);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--no-first-run'] });
  try {
    for (const backend of ['webgpu', 'webgl', 'wasm'] as const) {
      const page = await browser.newPage();
      await page.goto(`${origin}/index.html`);
      await page.waitForFunction(() => 'device' in window);
      const result = await page.evaluate(
        async ({ backend, wasmFiles, captions }) => {
          const m = (window as any).device;
          let c: any;
          try {
            c = await m.loadDeviceCaptioner({ modelUrl: '/model/model.json', backend, wasmFiles });
          } catch (error) {
            return { error: (error as Error).message };
          }
          const blob = await (await fetch('/image.png')).blob();
          const firsts: number[] = [];
          const perWord: number[] = [];
          let words = 0;
          for (let run = 0; run <= captions; run++) {
            const t0 = performance.now();
            let first = 0;
            let n = 0;
            for await (const _ of c.stream(blob)) if (n++ === 0) first = performance.now() - t0;
            const total = performance.now() - t0;
            if (run === 0) continue;
            firsts.push(first);
            perWord.push((total - first) / Math.max(1, n - 1));
            words = n;
          }
          c.dispose();
          return { loadMs: c.loadMs as number, firsts, perWord, words, used: c.backend as string };
        },
        { backend, wasmFiles: manifest.wasmFiles, captions: CAPTIONS },
      );
      await page.close();
      if ('error' in result) {
        console.log(`${backend}: not available (${result.error})`);
        continue;
      }
      rows.push({
        where: `Chromium, ${result.used}`,
        loadMs: result.loadMs,
        firstMs: median(result.firsts),
        perWordMs: median(result.perWord),
        words: result.words,
      });
    }
  } finally {
    await browser.close();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(BACKBONE ? 'model: the demo decoder on a 3-conv backbone (64 px → 8×8×64)' : 'model: the demo model (CNN)');
  console.log('| where | load ms | first word ms | per word ms | words |\n|---|--:|--:|--:|--:|');
  for (const r of rows)
    console.log(`| ${r.where} | ${r.loadMs.toFixed(0)} | ${r.firstMs.toFixed(1)} | ${r.perWordMs.toFixed(2)} | ${r.words} |`);
}

await main();
