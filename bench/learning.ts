// Learning run on the synthetic shapes set: trains the CNN encoder model from scratch, then reports
// held-out BLEU and how much attention the shape words put on their object's cells.
// Usage: npx tsx bench/learning.ts [--images 800] [--epochs 12] [--size 48] [--grid 6] [--batch 32]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { InputCache } from '../src/ml/batches.ts';
import { loadCocoCaptions, splitByImage } from '../src/ml/data/coco.ts';
import { generateShapes } from '../src/ml/data/shapes.ts';
import { SHAPES } from '../src/ml/data/shapes/scene.ts';
import { attentionOnObjects, captionBleu, captionImages } from '../src/ml/evaluate.ts';
import { createInputSource } from '../src/ml/encoder-inputs.ts';
import { train } from '../src/ml/train.ts';
import type { ModelConfig, TrainConfig } from '../src/ml/types.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '800' },
    epochs: { type: 'string', default: '12' },
    size: { type: 'string', default: '48' },
    grid: { type: 'string', default: '6' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.003' },
  },
});

const backend = await initBackend(process.env.GLIMPSE_BACKEND, nativeBackendOptions());
const dir = await mkdtemp(path.join(os.tmpdir(), 'glimpse-learning-'));
try {
  const size = Number(values.size);
  const set = await generateShapes({ outDir: dir, images: Number(values.images), seed: 5, imageSize: size });
  const images = await loadCocoCaptions({ annotationsPath: set.annotationsPath, imagesDir: set.imagesDir });
  const model: Partial<ModelConfig> = {
    encoder: { kind: 'cnn', imageSize: size, channels: [16, 32, 64] },
    gridSize: Number(values.grid),
    encoderDim: 64,
    embeddingDim: 64,
    units: 128,
  };
  const trainConfig: Partial<TrainConfig> = {
    epochs: Number(values.epochs),
    batchSize: Number(values.batch),
    learningRate: Number(values.lr),
    seed: 1,
    valFraction: 0.15,
  };
  const started = performance.now();
  const result = await train({
    images,
    checkpointDir: path.join(dir, 'checkpoints'),
    model,
    train: trainConfig,
    evalImages: 50,
    onEpochEnd: (e) =>
      console.log(
        `epoch ${e.epoch} step ${e.step} train ${e.trainLoss.toFixed(3)} val ${e.valLoss?.toFixed(3)} bleu4(50) ${e.bleu4?.toFixed(3)} ` +
          `${((performance.now() - started) / 1000).toFixed(0)} s`,
      ),
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const { val } = splitByImage(images, trainConfig.valFraction!, trainConfig.seed!);
  const source = await createInputSource(result.config);
  const results = await captionImages(result.model, result.vocab, val.length, new InputCache(val, source, 2 ** 30), 32);
  const bleu = captionBleu(results, val);
  const attention = attentionOnObjects(results, val, result.config.gridSize, SHAPES);
  console.log(
    '\n| backend | threads | images (train/val) | epochs | steps | train time | BLEU-1 | BLEU-4 | shape-word attention on object | even spread |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${backend.name} | ${backend.threads} | ${images.length - val.length}/${val.length} | ${trainConfig.epochs} | ${result.step} | ` +
      `${trainSeconds.toFixed(0)} s | ${bleu[0].toFixed(3)} | ${bleu[3].toFixed(3)} | ${(attention.meanShare * 100).toFixed(1)}% ` +
      `(${attention.words} words) | ${(attention.meanUniformShare * 100).toFixed(1)}% |`,
  );
  console.log(
    '\nexamples:',
    results
      .slice(0, 4)
      .map((r, i) => `"${r.caption}" ← "${val[i].captions[0]}"`)
      .join('\n          '),
  );
  result.model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
