// Greedy decoding time by batch size for the demo model's architecture (the API defaults on the demo set: CNN
// [16, 32, 64] on 64 px → 8×8 grid, encoderDim 64, embedding 64, GRU 128, deep output), untrained, 12 tokens, on the worker's
// backend (wasm+openblas where the addon is built, 1 thread): what GLIMPSE_CAPTION_BATCH_SIZE buys. Each size runs
// --rounds times (the first is warm-up and not counted); the table shows the fastest of the others.
//
//   npx tsx bench/caption-batch.ts [--sizes 1,16,32,64,128] [--rounds 3]
import * as tf from '@tensorflow/tfjs';
import { cpus, loadavg } from 'node:os';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { decodeBatch } from '../src/ml/decode/index.ts';
import { CaptionModel, Vocabulary } from '../src/ml/index.ts';

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SIZES = option('sizes', '1,16,32,64,128').split(',').map(Number);
const ROUNDS = Math.max(2, Number(option('rounds', '3')));

async function main(): Promise<void> {
  const info = await initBackend('wasm', nativeBackendOptions());
  const vocab = Vocabulary.build(['a red circle left of a blue square', 'a green triangle above a small yellow star']);
  const model = CaptionModel.create(
    {
      encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
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
  );
  console.log(`${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, backend ${info.name}`);
  console.log('| batch | decode ms | captions/s |\n|--:|--:|--:|');
  for (const size of SIZES) {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const images = tf.randomUniform([size, 64, 64, 3]);
      const started = performance.now();
      await decodeBatch(model, vocab, images as tf.Tensor4D, { method: 'greedy', maxLength: 12 });
      times.push(performance.now() - started);
      images.dispose();
    }
    const best = Math.min(...times.slice(1));
    console.log(`| ${size} | ${best.toFixed(0)} | ${(size / (best / 1000)).toFixed(0)} |`);
  }
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  model.dispose();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
