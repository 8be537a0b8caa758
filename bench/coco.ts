// MS-COCO with the defaults, measured on this machine: what planRun chooses for COCO train2017's counts
// under a worker budget, then steps/s of real training steps at exactly those settings (128-px JPEGs
// decoded from disk, COCO-like captions), extrapolated to an epoch of COCO (labelled as such), and the
// process's memory (process.memoryUsage()) idle, at the peak and after the run has ended (the image
// cache given back; the wasm heap, which WebAssembly cannot shrink, reported apart).
// Usage: npx tsx bench/coco.ts [--budget 3.5] (GiB) [--steps 12] [--max-tokens 50] [--images 2000]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { mlConfigs } from '../src/ml/model/config.ts';
import { defaultsOf, ENCODER_SETTINGS, estimateTotalSteps, formatBytes, planRun, TRAINING_SETTINGS } from '../src/ml/settings/index.ts';
import { train } from '../src/ml/train.ts';
import type { CaptionedImage } from '../src/ml/types.ts';

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: '3.5' },
    steps: { type: 'string', default: '12' },
    'max-tokens': { type: 'string', default: '50' },
    images: { type: 'string', default: '2000' },
  },
});
/** MS-COCO captions_train2017.json, as indexed by the held-out probe of issue 19 */
const COCO = { images: 118_287, captions: 591_435, words: 20_029 };
const WARMUP = 3;
const budget = Number(values.budget) * 2 ** 30;
const timedSteps = Number(values.steps);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const memory = () => {
  gc();
  const m = process.memoryUsage();
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.byteLength ?? 0;
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, wasm };
};
const show = (m: ReturnType<typeof memory>) =>
  `rss ${formatBytes(m.rss)}, JS heap ${formatBytes(m.heapUsed)}, array buffers ${formatBytes(m.arrayBuffers)}, wasm heap ${formatBytes(m.wasm)}`;

const plan = planRun(
  { ...defaultsOf(TRAINING_SETTINGS), ...defaultsOf(ENCODER_SETTINGS) },
  { captions: COCO.captions, imageSide: 480, words: COCO.words, maxTokens: Number(values['max-tokens']) },
  budget,
);
const { run } = plan;
console.log(
  `plan for COCO under ${formatBytes(budget)}: batch ${run.batchSize}, GRU ${run.units}, embedding ${run.embeddingDim}, features ${run.encoderDim}, ` +
    `CNN [${run.channels?.join(', ')}] at ${run.imageSize} px, vocabulary ${run.vocabSize}; estimate ${formatBytes(plan.estimate.totalBytes)}`,
);
for (const note of plan.notes) console.log(`  note: ${note}`);

const backend = await initBackend(process.env.GLIMPSE_BACKEND, { wasmThreads: 1, ...nativeBackendOptions() });
const dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-bench-coco-'));
try {
  // 16 real 320×240 JPEGs, each image entry a separate decode (the cache holds one input per entry, as for COCO)
  await mkdir(path.join(dir, 'images'));
  const files: string[] = [];
  for (let i = 0; i < 16; i++) {
    const file = path.join(dir, 'images', `${i}.jpg`);
    const background = { r: (37 * i) % 256, g: (91 * i) % 256, b: (53 * i) % 256 };
    await sharp({ create: { width: 320, height: 240, channels: 3, background, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .jpeg()
      .toFile(file);
    files.push(file);
  }
  // COCO-like captions: 8–18 words (COCO's mean is ~10.5; a batch pads to its longest) over COCO's 20,029 words
  let state = 7;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const steps = WARMUP + timedSteps;
  const entries = Math.max(Number(values.images), steps * run.batchSize);
  const images: CaptionedImage[] = Array.from({ length: entries }, (_, i) => ({
    id: String(i),
    file: files[i % files.length]!,
    captions: [Array.from({ length: 8 + next(11) }, () => `w${next(COCO.words)}`).join(' ')],
  }));
  const idle = memory();
  const ml = mlConfigs(run);
  const ends: number[] = [];
  /** process CPU seconds at each batch end: on a shared machine the CPU time is the steadier guide */
  const cpu: number[] = [];
  let peak = idle;
  const stop = new AbortController();
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model: ml.model,
    train: { ...ml.train, epochs: 1, valFraction: 0, checkpointMinutes: 0 },
    evalImages: 0,
    signal: stop.signal,
    onBatchEnd: (e) => {
      ends.push(performance.now());
      const used = process.cpuUsage();
      cpu.push((used.user + used.system) / 1e6);
      const m = process.memoryUsage();
      if (m.rss > peak.rss) peak = { ...peak, rss: m.rss, arrayBuffers: m.arrayBuffers, heapUsed: m.heapUsed };
      if (e.step >= steps) stop.abort();
    },
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code !== 'TRAINING_ABORTED') throw error;
    return null;
  });
  result?.model.dispose();
  peak = { ...peak, wasm: memory().wasm };
  const after = memory();
  const timed = ends.slice(WARMUP);
  const seconds = (timed.at(-1)! - ends[WARMUP - 1]!) / 1000 / timed.length;
  const perEpoch = estimateTotalSteps(
    { epochs: 1, batchSize: run.batchSize, valFraction: 0.1 },
    { imageCount: COCO.images, captionCount: COCO.captions },
  )!;
  console.log(
    `\n${new Date().toISOString().slice(0, 16)} UTC, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${backend.name} (${backend.threads} threads)`,
  );
  const cpuSeconds = (cpu.at(-1)! - cpu[WARMUP - 1]!) / timed.length;
  const hours = (perStep: number) => ((perEpoch * perStep) / 3600).toFixed(1);
  console.log(
    `measured: ${timed.length} steps after ${WARMUP} warm-up at batch ${run.batchSize}: ${(1 / seconds).toFixed(2)} steps/s ` +
      `(${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU a step)`,
  );
  console.log(
    `extrapolated: an epoch of COCO train2017 (${perEpoch.toLocaleString('en')} steps at valFraction 0.1) ≈ ${hours(seconds)} h at this wall time, ` +
      `${hours(cpuSeconds)} h if a step's wall time were its CPU time (an idle machine); the default 5 epochs: × 5`,
  );
  console.log(`memory idle (backend up): ${show(idle)}`);
  console.log(`memory peak (training):   ${show(peak)}`);
  console.log(`memory after the run:     ${show(after)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
