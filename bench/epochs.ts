// Epochs that follow the data: trains a synthetic shapes set of N images with the settings
// startTraining picks for it (planRun, no memory budget), for a fixed number of epochs, and prints the
// validation loss per epoch with the step count, so the step budget of the automatic `epochs`
// (src/ml/settings/epochs.ts) can be checked against where the validation loss stops improving.
// Usage: npx tsx bench/epochs.ts [--images 300] [--epochs 40] [--seed 7]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { loadCocoCaptions } from '../src/ml/data/coco.ts';
import { generateShapes } from '../src/ml/data/shapes.ts';
import { mlConfigs } from '../src/ml/model/config.ts';
import { defaultsOf, ENCODER_SETTINGS, planRun, TRAINING_SETTINGS } from '../src/ml/settings/index.ts';
import { train } from '../src/ml/train.ts';
import { captionStats } from '../src/ml/vocab.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '300' },
    epochs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '7' },
  },
});

const backend = await initBackend(process.env.GLIMPSE_BACKEND, { wasmThreads: 1, ...nativeBackendOptions() });
const dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-bench-epochs-'));
try {
  const set = await generateShapes({ outDir: dir, images: Number(values.images), seed: Number(values.seed) });
  const images = await loadCocoCaptions({ annotationsPath: set.annotationsPath, imagesDir: set.imagesDir });
  const stats = captionStats(images.flatMap((i) => i.captions));
  const given = { ...defaultsOf(TRAINING_SETTINGS), ...defaultsOf(ENCODER_SETTINGS), epochs: Number(values.epochs) };
  const { run } = planRun(given, { captions: set.captionCount, imageSide: 64, ...stats }, null);
  const { model, train: trainConfig } = mlConfigs(run);
  console.log(
    `${new Date().toISOString()} ${os.cpus()[0]?.model} ×${os.cpus().length}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${backend.name}: ` +
      `${set.imageCount} images, ${set.captionCount} captions, batch ${run.batchSize}, GRU ${run.units}, ${run.epochs} epochs`,
  );
  const started = performance.now();
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model,
    train: trainConfig,
    evalImages: 0,
    onEpochEnd: (e) =>
      console.log(
        `epoch ${e.epoch}\tstep ${e.step}\ttrain ${e.trainLoss.toFixed(4)}\tval ${e.valLoss?.toFixed(4)}\t${((performance.now() - started) / 1000).toFixed(0)} s`,
      ),
  });
  console.log(
    `best epoch ${result.bestEpoch?.epoch} (val ${result.bestEpoch?.valLoss.toFixed(4)}), load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  result.model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
