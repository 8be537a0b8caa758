// A training run folder (`train --out DIR`): OUT/checkpoints, OUT/model (the saved model),
// OUT/features (backbone feature cache, with --backbone) and OUT/run.json, which records the dataset and settings so `eval --model OUT` can rebuild the
// same train/validation split without repeating them.

import { access, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrainConfig } from '../ml/index.ts';
import type { DatasetPaths } from './dataset-paths.ts';

export const RUN_FILE = 'run.json';
export const MODEL_DIR = 'model';
export const CHECKPOINTS_DIR = 'checkpoints';
/** default cache of pretrained-backbone features */
export const FEATURES_DIR = 'features';

export interface RunRecord {
  dataset: DatasetPaths & { maxCaptions?: number };
  trainConfig: TrainConfig;
  step: number;
}

export async function writeRunRecord(out: string, record: RunRecord): Promise<void> {
  await writeFile(join(out, RUN_FILE), JSON.stringify(record, null, 2));
}

/** The run record of a run folder, or null for a bare model or checkpoint directory. */
export async function readRunRecord(dir: string): Promise<RunRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, RUN_FILE), 'utf8')) as RunRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** `--model` may name a run folder (its model/ is used) or a model/checkpoint directory itself. */
export async function modelDirectory(dir: string): Promise<string> {
  const inner = join(resolve(dir), MODEL_DIR);
  // model.json names a saved model; config.json, one saved before the TF.js weights format
  const saved = ['model.json', 'config.json'].map((file) => access(join(inner, file)));
  return Promise.any(saved).then(
    () => inner,
    () => resolve(dir),
  );
}
