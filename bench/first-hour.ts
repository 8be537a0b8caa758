// The first hour, measured: trains on the demo set exactly as `npm start` registers it (600 synthetic
// images, seed 1) with the settings schema's defaults (what the dashboard form sends when left blank)
// or the overrides given, then scores held-out images from a set generated with a seed the model never
// saw: BLEU-4, the object metric (pairs named right, images named exactly right) and where the colour
// and shape words look (attention on the named object vs an even spread).
// Usage: npx tsx bench/first-hour.ts [--set units=128,embeddingDim=64,deepOutput=false,...] [--heldout 200]
//   [--decode beam,greedy] (held-out captions by each method, beam width 3; the first is the table's)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_DATASET } from '../src/queue/demo-dataset.ts';
import { loadConfig } from '../src/config/index.ts';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { workerThreads } from '../src/jobs/threads.ts';
import { splitCpus, usableCpus } from '../src/process/cpu-budget.ts';
import { initBackend } from '../src/ml/backend.ts';
import { InputCache } from '../src/ml/batches.ts';
import { loadCocoCaptions } from '../src/ml/data/coco.ts';
import { generateShapes } from '../src/ml/data/shapes.ts';
import { COLORS, SHAPES } from '../src/ml/data/shapes/scene.ts';
import { attentionByWordClass, captionBleu, captionImages } from '../src/ml/evaluate.ts';
import { createInputSource } from '../src/ml/encoder-inputs.ts';
import { namedPairs, objectScores } from '../src/ml/metrics/objects.ts';
import { mlConfigs } from '../src/ml/model/config.ts';
import {
  DECODE_METHOD_SETTING,
  ENCODER_SETTINGS,
  resolveRun,
  resolveSettings,
  TRAINING_SETTINGS,
  type RunSettings,
  type SettingValues,
} from '../src/ml/settings/index.ts';
import { train } from '../src/ml/train.ts';

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: '' },
    heldout: { type: 'string', default: '200' },
    // the held-out images captioned with each method (the first is the table's; default: the caption settings')
    decode: { type: 'string', default: DECODE_METHOD_SETTING.default },
  },
});
const methods = values.decode.split(',') as ('greedy' | 'beam')[];
const given: Record<string, unknown> = {};
for (const pair of values.set.split(',').filter(Boolean)) {
  const [key, raw] = pair.split('=') as [string, string];
  given[key] = raw === 'true' || raw === 'false' ? raw === 'true' : raw.includes(':') ? raw.split(':').map(Number) : Number(raw);
}
const pick = (keys: string[]) => Object.fromEntries(Object.entries(given).filter(([k]) => keys.includes(k)));
const settingValues: SettingValues = {
  ...resolveSettings(TRAINING_SETTINGS, pick(Object.keys(TRAINING_SETTINGS))),
  ...resolveSettings(ENCODER_SETTINGS, pick(Object.keys(ENCODER_SETTINGS))),
};

// the threads of `npm start`'s training worker on this machine (its share of the CPUs beside the caption worker)
const config = loadConfig();
const share = splitCpus(
  config.cpus ?? usableCpus().cpus,
  config.captionWorker && config.workerJobs.includes('caption'),
  config.nativeKernels,
);
const threads = workerThreads({ ...config, workerJobs: ['training'], cpus: share.training });
console.error(threads.note);
const backend = await initBackend(process.env.GLIMPSE_BACKEND, {
  ...nativeBackendOptions(),
  wasmThreads: threads.wasmThreads,
  blasThreads: threads.blasThreads,
});
const dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-first-hour-'));
try {
  const demo = await generateShapes({ outDir: path.join(dir, 'demo'), images: DEMO_DATASET.images, seed: DEMO_DATASET.seed });
  const held = await generateShapes({ outDir: path.join(dir, 'held'), images: Number(values.heldout), seed: 999_001 });
  const images = await loadCocoCaptions(demo);
  const heldout = await loadCocoCaptions(held);
  // the automatic settings as startTraining decides them for the demo set (64-px images)
  const run: RunSettings = resolveRun(settingValues, { captions: demo.captionCount, imageSide: 64 });
  const ml = mlConfigs(run);
  const started = performance.now();
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model: ml.model,
    train: ml.train,
    onEpochEnd: (e) =>
      console.log(
        `epoch ${e.epoch} step ${e.step} train ${e.trainLoss.toFixed(3)} val ${e.valLoss?.toFixed(3)} bleu4 ${e.bleu4?.toFixed(3)} ` +
          `objF1 ${e.objects?.f1.toFixed(3)} exact ${e.objects?.exactRate.toFixed(3)} ${((performance.now() - started) / 1000).toFixed(0)} s`,
      ),
  });
  const seconds = (performance.now() - started) / 1000;
  const source = await createInputSource(result.config);
  const cache = new InputCache(heldout, source, 2 ** 30);
  const byMethod = [];
  for (const method of methods) {
    byMethod.push(await captionImages(result.model, result.vocab, heldout.length, cache, 32, { method, beamWidth: 3 }));
  }
  const results = byMethod[0]!;
  const bleu4 = captionBleu(results, heldout)[3];
  const objects = objectScores(
    results.map((r) => r.caption),
    heldout,
    COLORS,
    SHAPES,
  )!;
  const attention = attentionByWordClass(results, heldout, result.config.gridSize, COLORS, SHAPES);
  const ratio = (a: { meanShare: number; meanUniformShare: number }) => (a.meanUniformShare ? a.meanShare / a.meanUniformShare : 0);
  const sizes = `units ${run.units}, emb ${run.embeddingDim}, enc ${run.encoderDim}, ${result.config.encoder.imageSize} px, CNN [${(run.channels ?? ['default']).join(', ')}], grid ${run.gridSize}, batch ${run.batchSize}, lr ${run.learningRate}, ${run.epochs} epochs`;
  console.log(
    `\n${new Date().toISOString().slice(0, 16)} UTC, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${backend.name} (${backend.threads} threads)`,
  );
  console.log(`settings: ${sizes}; best epoch ${result.bestEpoch?.epoch ?? '-'}`);
  console.log(
    '| train time | steps | held-out BLEU-4 | pair F1 | exactly right | colour-word attention on object (× even) | shape-word attention on object (× even) |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${(seconds / 60).toFixed(1)} min | ${result.step} | ${bleu4.toFixed(3)} | ${objects.f1.toFixed(3)} | ${(objects.exactRate * 100).toFixed(0)} % | ` +
      `${(attention.color.meanShare * 100).toFixed(1)} % (${ratio(attention.color).toFixed(1)}×) | ${(attention.shape.meanShare * 100).toFixed(1)} % (${ratio(attention.shape).toFixed(1)}×) |`,
  );
  for (const [i, method] of methods.entries()) {
    const scores = objectScores(
      byMethod[i]!.map((r) => r.caption),
      heldout,
      COLORS,
      SHAPES,
    )!;
    console.log(
      `${method}: pair F1 ${scores.f1.toFixed(3)} (precision ${scores.precision.toFixed(3)}, recall ${scores.recall.toFixed(3)}), exactly right ${(scores.exactRate * 100).toFixed(1)} %`,
    );
  }
  // what the wrong captions get wrong: objects missed, named that are not there (per image, as multisets)
  const wrong = results
    .map((r, i) => ({ caption: r.caption, truth: heldout[i]!.objects ?? [] }))
    .filter(({ caption, truth }) => {
      const named = namedPairs(caption, COLORS, SHAPES).sort().join();
      return (
        named !==
        truth
          .map((o) => `${o.color} ${o.shape}`)
          .sort()
          .join()
      );
    });
  const objectsIn = (n: number) => heldout.filter((h) => h.objects?.length === n).length;
  const wrongIn = (n: number) => wrong.filter((w) => w.truth.length === n).length;
  console.log(
    `wrong images by object count: ${[1, 2, 3, 4]
      .filter((n) => objectsIn(n) > 0)
      .map((n) => `${n}: ${wrongIn(n)}/${objectsIn(n)}`)
      .join(', ')}`,
  );
  for (const w of wrong.slice(0, 12)) console.log(`  "${w.caption}" ← ${w.truth.map((o) => `${o.size} ${o.color} ${o.shape}`).join(', ')}`);
  console.log(
    '\nexamples:',
    results
      .slice(0, 6)
      .map((r, i) => `"${r.caption}" ← "${heldout[i]!.captions[0]}"`)
      .join('\n          '),
  );
  result.model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
