// Issue 19, part 2: the decoded images a run caches (up to cacheBytes, 1.25 GiB by default) are given
// back when it ends. Measured with process.memoryUsage(): array buffers (where the decoded inputs live)
// grow by the cache while it trains and return to their level before the run once the training job's
// end has run (train() drops its caches; the job's collectGarbageSoon frees them at once: left to V8, they
// stayed 60 s and more in an idle process).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collectGarbageSoon } from '../../../src/jobs/release-memory.ts';
import { initBackend } from '../../../src/ml/backend.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import { train } from '../../../src/ml/train.ts';
import type { CaptionedImage } from '../../../src/ml/types.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { shapesImages, tempDir } from './fixtures.ts';

const MiB = 2 ** 20;
const ENTRIES = 600; // 600 inputs of 128×128×3 floats: 112 MiB cached
let dir: string;
let remove: () => Promise<void>;
let images: CaptionedImage[];

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('cache-release'));
  const files = await shapesImages(dir, 4, 5, 128);
  // each entry is decoded and cached on its own, as the images of a large set are
  images = Array.from({ length: ENTRIES }, (_, i) => ({ ...files[i % files.length]!, id: String(i) }));
});
afterAll(() => remove());

it('gives the image cache back when the run ends', async () => {
  const before = process.memoryUsage().arrayBuffers;
  let during = 0;
  const result = await train({
    images,
    checkpointDir: `${dir}/checkpoints`,
    model: { ...BABY_MODEL_CONFIG, encoder: { kind: 'cnn', imageSize: 128, channels: [4, 4, 4, 4] } },
    train: { epochs: 1, batchSize: 50, learningRate: 3e-3, seed: 1, valFraction: 0, checkpointEvery: 0 },
    evalImages: 0,
    onBatchEnd: () => {
      during = Math.max(during, process.memoryUsage().arrayBuffers);
    },
  });
  result.model.dispose();
  expect(during - before).toBeGreaterThan(100 * MiB);
  await collectGarbageSoon(); // what the training job does last (src/jobs/train.job.ts)
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
}, 180_000);
