// How many steps a run takes: one example per caption of the training split, in batches.
import { splitByImage } from './data/coco.ts';
import type { CaptionedImage, TrainConfig } from './types.ts';

/** Training steps per epoch, as train() batches them (the split follows valFraction and seed). */
export function stepsPerEpoch(images: readonly CaptionedImage[], train: Pick<TrainConfig, 'valFraction' | 'seed' | 'batchSize'>): number {
  const captions = splitByImage(images, train.valFraction, train.seed).train.reduce((n, img) => n + img.captions.length, 0);
  return Math.ceil(captions / train.batchSize);
}
