// Training checkpoints: weights, Adam moments, vocabulary, model/train config and the position in
// the data order (epoch, batches done, global step), written atomically to one directory each.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ModelError } from './model/errors.ts';
import { readTensors, writeTensors } from './model/tensorFile.ts';
import type { ModelConfig, TrainConfig } from './types.ts';
import type { VocabularyJSON } from './vocab.ts';

export interface TrainPosition {
  /** global step (batches trained so far, across resumes) */
  step: number;
  /** 0-based epoch in progress */
  epoch: number;
  /** batches of that epoch already trained */
  batch: number;
  /** sum of this epoch's batch losses so far (for its mean on resume) */
  epochLossSum: number;
}

export interface CheckpointMeta {
  format: 'glimpse-checkpoint/1';
  position: TrainPosition;
  trainConfig: TrainConfig;
  /** raw feature depth C */
  channels: number;
  /** identifies the training split (hash of its image ids) */
  dataKey: string;
  optimizerIterations: number;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  config: ModelConfig;
  vocab: VocabularyJSON;
  weights: Map<string, tf.Tensor>;
  optimizer: Map<string, tf.Tensor>;
}

export async function writeCheckpoint(
  dir: string,
  parts: {
    meta: CheckpointMeta;
    config: ModelConfig;
    vocab: VocabularyJSON;
    weights: [string, tf.Tensor][];
    optimizer: [string, tf.Tensor][];
  },
): Promise<void> {
  const temp = `${dir}.tmp`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  await writeTensors(temp, 'weights', parts.weights);
  await writeTensors(temp, 'optimizer', parts.optimizer);
  await writeFile(path.join(temp, 'config.json'), JSON.stringify(parts.config, null, 2));
  await writeFile(path.join(temp, 'vocab.json'), JSON.stringify(parts.vocab));
  await writeFile(path.join(temp, 'state.json'), JSON.stringify(parts.meta, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(temp, dir);
}

async function readJson<T>(dir: string, file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path.join(dir, file), 'utf8')) as T;
  } catch (cause) {
    throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir} is not a readable checkpoint (${file})`, { cause });
  }
}

/** The model config of a checkpoint, without loading its tensors. */
export function readCheckpointConfig(dir: string): Promise<ModelConfig> {
  return readJson<ModelConfig>(dir, 'config.json');
}

export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const meta = await readJson<CheckpointMeta>(dir, 'state.json');
  const config = await readCheckpointConfig(dir);
  const vocab = await readJson<VocabularyJSON>(dir, 'vocab.json');
  if (meta.format !== 'glimpse-checkpoint/1') throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir}: unknown checkpoint format`);
  const weights = await readTensors(dir, 'weights');
  const optimizer = await readTensors(dir, 'optimizer');
  return { meta, config, vocab, weights, optimizer };
}
