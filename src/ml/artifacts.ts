// A trained model on disk: weights (weights.bin + weights.json), config.json, vocab.json and
// metrics.json. Loading needs none of the training code; a checkpoint directory loads too.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CaptionModel } from './model/captionModel.ts';
import { ModelError } from './model/errors.ts';
import { readTensors, writeTensors } from './model/tensorFile.ts';
import type { ModelConfig } from './types.ts';
import { Vocabulary, type VocabularyJSON } from './vocab.ts';

export type ModelMetrics = Record<string, number | string | null>;

export interface LoadedModel {
  model: CaptionModel;
  vocab: Vocabulary;
  config: ModelConfig;
  metrics: ModelMetrics;
}

/** The config without the training machine's feature-cache folder (serving keeps no cache). */
export function portableConfig(config: ModelConfig): ModelConfig {
  if (config.encoder.kind !== 'pretrained' || config.encoder.cacheDir === undefined) return config;
  const { cacheDir: _cacheDir, ...encoder } = config.encoder;
  return { ...config, encoder };
}

export async function saveModel(
  dir: string,
  parts: { model: CaptionModel; vocab: Vocabulary; metrics?: ModelMetrics },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeTensors(dir, 'weights', parts.model.weights.entries());
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(portableConfig(parts.model.config), null, 2));
  await writeFile(path.join(dir, 'vocab.json'), JSON.stringify(parts.vocab.toJSON()));
  await writeFile(path.join(dir, 'metrics.json'), JSON.stringify(parts.metrics ?? {}, null, 2));
}

async function readJson<T>(dir: string, file: string, required: boolean): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, file), 'utf8')) as T;
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError('INVALID_ARTIFACT', `${path.join(dir, file)}: missing or not JSON`, { cause });
  }
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const config = (await readJson<ModelConfig>(dir, 'config.json', true))!;
  const vocab = Vocabulary.fromJSON((await readJson<VocabularyJSON>(dir, 'vocab.json', true))!);
  const metrics = (await readJson<ModelMetrics>(dir, 'metrics.json', false)) ?? {};
  if (config.vocabSize !== vocab.size) {
    throw new ModelError('INVALID_ARTIFACT', `${dir}: config vocabSize ${config.vocabSize} ≠ vocabulary size ${vocab.size}`);
  }
  const tensors = await readTensors(dir, 'weights');
  try {
    // the raw feature depth C is the projection's input size
    const channels = tensors.get('encoder/proj/kernel')?.shape[0];
    if (!channels) throw new ModelError('INVALID_ARTIFACT', `${dir}: no encoder/proj/kernel weight`);
    return { model: CaptionModel.fromTensors(config, channels, tensors), vocab, config, metrics };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
