// Learning, reduced to fit the test budget: single-object synthetic scenes, a small CNN encoder
// trained from scratch for ~190 steps, then captions of held-out images. The acceptance run
// (1–3 objects with relations, BLEU-4 and attention on the named objects) is bench/learning.ts;
// its numbers are in the report/README.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { InputCache } from '../../../src/ml/batches.ts';
import { splitByImage } from '../../../src/ml/data/coco.ts';
import { captionBleu, captionImages } from '../../../src/ml/evaluate.ts';
import { createInputSource } from '../../../src/ml/encoder-inputs.ts';
import { train } from '../../../src/ml/train.ts';
import type { CaptionedImage, EpochEvent } from '../../../src/ml/types.ts';
import { shapesImages, tempDir } from './fixtures.ts';

let dir: string;
let remove: () => Promise<void>;
let images: CaptionedImage[];

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('learning'));
  images = (await shapesImages(dir, 420, 8, 48)).filter((img) => img.objects?.length === 1);
});
afterAll(() => remove());

describe('learning (reduced)', () => {
  it('captions held-out single-object images well after a short run', async () => {
    const seed = 4;
    const valFraction = 0.15;
    const epochs: EpochEvent[] = [];
    const result = await train({
      images,
      checkpointDir: path.join(dir, 'checkpoints'),
      model: { encoder: { kind: 'cnn', imageSize: 48, channels: [16, 32, 64] }, gridSize: 6, encoderDim: 64, embeddingDim: 64, units: 128 },
      train: { epochs: 10, batchSize: 32, learningRate: 3e-3, seed, valFraction },
      evalImages: 0,
      onEpochEnd: (e) => void epochs.push(e),
    });
    const { val } = splitByImage(images, valFraction, seed);
    const source = await createInputSource(result.config);
    const captions = await captionImages(result.model, result.vocab, val.length, new InputCache(val, source, 2 ** 28), 32);
    result.model.dispose();
    const bleu = captionBleu(captions, val);
    const colourShapeRight = captions.filter((c, i) => {
      const o = val[i].objects![0];
      return c.caption.includes(`${o.color} ${o.shape}`);
    }).length;
    console.log(
      `learning (reduced): ${images.length - val.length}/${val.length} images, ${result.step} steps, val loss ` +
        `${epochs[0].valLoss?.toFixed(3)} → ${epochs.at(-1)!.valLoss?.toFixed(3)}, BLEU-1 ${bleu[0].toFixed(3)}, ` +
        `BLEU-4 ${bleu[3].toFixed(3)}, colour+shape right ${colourShapeRight}/${val.length}`,
    );
    expect(epochs.at(-1)!.valLoss!).toBeLessThan(0.6 * epochs[0].valLoss!);
    expect(bleu[0]).toBeGreaterThanOrEqual(0.75);
    expect(bleu[3]).toBeGreaterThanOrEqual(0.45);
    // chance is 1 in 12 colour × shape pairs
    expect(colourShapeRight).toBeGreaterThanOrEqual(val.length / 4);
  }, 180_000);
});
