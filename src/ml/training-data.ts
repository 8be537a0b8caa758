// What a saved model was trained on: training-data.json beside its weights names the dataset
// (id and name when a service run trained it, its captions file and image folder) and the split
// (seed, validation fraction, image counts and a digest of the validation images). `eval` reads it
// so that a model folder alone rebuilds the same split, and refuses a split whose validation images
// are not the run's (it would score on training images).
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { splitByImage } from './data/coco.ts';
import type { CaptionedImage } from './types.ts';

export const TRAINING_DATA_FILE = 'training-data.json';

export interface TrainingDataRecord {
  dataset: {
    /** the service's Dataset id and name (service runs only) */
    id?: string;
    name?: string;
    annotationsPath: string;
    imagesDir: string;
    maxCaptions?: number;
  };
  split: {
    seed: number;
    valFraction: number;
    trainImages: number;
    valImages: number;
    /** sha256 (hex, 16 digits) of the sorted validation image files, relative to imagesDir */
    valDigest: string;
  };
}

/** digest of a split's images: their files relative to the image folder, sorted */
export function imagesDigest(images: readonly CaptionedImage[], imagesDir: string): string {
  const files = [...new Set(images.map((img) => path.relative(imagesDir, img.file)))].sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}\n`);
  return hash.digest('hex').slice(0, 16);
}

export function trainingDataRecord(
  dataset: TrainingDataRecord['dataset'],
  images: readonly CaptionedImage[],
  split: { seed: number; valFraction: number },
): TrainingDataRecord {
  const { train, val } = splitByImage(images, split.valFraction, split.seed);
  const count = (list: readonly CaptionedImage[]) => new Set(list.map((img) => img.file)).size;
  return {
    dataset,
    split: {
      seed: split.seed,
      valFraction: split.valFraction,
      trainImages: count(train),
      valImages: count(val),
      valDigest: imagesDigest(val, dataset.imagesDir),
    },
  };
}

export async function writeTrainingData(modelDir: string, record: TrainingDataRecord): Promise<void> {
  await writeFile(path.join(modelDir, TRAINING_DATA_FILE), JSON.stringify(record, null, 2));
}

/** the record of a model folder, or null when it has none (saved before the record existed) */
export async function readTrainingData(modelDir: string): Promise<TrainingDataRecord | null> {
  try {
    return JSON.parse(await readFile(path.join(modelDir, TRAINING_DATA_FILE), 'utf8')) as TrainingDataRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
