// A trained model on disk: model.json (TF.js weights manifest naming the architecture, config and
// vocabulary), weights.bin, vocab.json and metrics.json (src/ml/model/modelJson.ts). Loading needs
// none of the training code; a checkpoint directory, or a folder of the earlier format, loads too.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assembleModel } from './model/assemble.ts';
import type { CaptionModel } from './model/captionModel.ts';
import { readModelFiles, writeModelFiles } from './model/modelJson.ts';
import { readJsonIfPresent } from './model/weightsFile.ts';
import type { ModelConfig } from './types.ts';
import type { Vocabulary } from './vocab.ts';

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

export async function saveModel(dir: string, parts: { model: CaptionModel; vocab: Vocabulary; metrics?: ModelMetrics }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeModelFiles(dir, {
    config: portableConfig(parts.model.config),
    vocab: parts.vocab.toJSON(),
    weights: parts.model.weights.entries(),
  });
  await writeFile(path.join(dir, 'metrics.json'), JSON.stringify(parts.metrics ?? {}, null, 2));
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const { config, vocab: vocabJson, weights } = await readModelFiles(dir);
  try {
    const metrics = (await readJsonIfPresent<ModelMetrics>(dir, 'metrics.json')) ?? {};
    return { ...assembleModel({ config, vocab: vocabJson, weights }, dir), config, metrics };
  } finally {
    tf.dispose([...weights.values()]);
  }
}
