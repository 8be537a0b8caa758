// The files of a saved model (and of the model part of a checkpoint) in a folder: model.json, a TF.js
// ModelJSON whose modelTopology names the Glimpse architecture, its config and its vocabulary file, and
// whose weightsManifest lists every weight in weights.bin (the format: ./modelFormat.ts); vocab.json beside it. tf.io reads the weights
// (getWeightSpecs + decodeWeights, or an IOHandler's load); TF.js cannot build the network from the
// topology (it is no Keras layer graph): CaptionModel does.
// Folders written before (config.json + weights.json/weights.bin, `glimpse-tensors/1`) still load.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import type { VocabularyJSON } from '../vocab.ts';
import { ModelError } from './model-error.ts';
import { ARCHITECTURE, checkModelJson, type GlimpseModelJSON, MODEL_FORMAT, MODEL_JSON, VOCAB_JSON, WEIGHTS_BIN } from './modelFormat.ts';
import { legacyWeights, readJsonIfPresent, readWeights, writeWeights } from './weightsFile.ts';

export {
  ARCHITECTURE,
  type GlimpseModelJSON,
  type GlimpseTopology,
  MODEL_FORMAT,
  MODEL_JSON,
  VOCAB_JSON,
  WEIGHTS_BIN,
} from './modelFormat.ts';

export interface ModelFiles {
  config: ModelConfig;
  vocab: VocabularyJSON;
  /** every weight by name; the caller owns (and disposes) them */
  weights: Map<string, tf.Tensor>;
}

/** Writes model.json, weights.bin and vocab.json into dir (which exists). */
export async function writeModelFiles(
  dir: string,
  parts: { config: ModelConfig; vocab: VocabularyJSON; weights: [string, tf.Tensor][] },
): Promise<void> {
  const modelJson: Omit<GlimpseModelJSON, 'weightsManifest'> = {
    format: MODEL_FORMAT,
    generatedBy: 'glimpse',
    convertedBy: null,
    modelTopology: { architecture: ARCHITECTURE, config: parts.config, vocabulary: VOCAB_JSON },
  };
  await writeFile(path.join(dir, VOCAB_JSON), JSON.stringify(parts.vocab));
  const weights = parts.weights.map(([name, tensor]) => ({ name, tensor }));
  await writeWeights(dir, { json: MODEL_JSON, shard: WEIGHTS_BIN }, modelJson, weights);
}

async function requiredJson<T>(dir: string, file: string): Promise<T> {
  const value = await readJsonIfPresent<T>(dir, file);
  if (value === undefined) throw new ModelError('INVALID_ARTIFACT', `${path.join(dir, file)}: missing`);
  return value;
}

/** model.json of dir, checked; undefined for a folder of the earlier format (config.json, no model.json). */
async function readModelJson(dir: string): Promise<GlimpseModelJSON | undefined> {
  const modelJson = await readJsonIfPresent<GlimpseModelJSON>(dir, MODEL_JSON);
  if (modelJson === undefined) {
    if ((await readJsonIfPresent(dir, 'config.json')) !== undefined) return undefined;
    throw new ModelError('INVALID_ARTIFACT', `${dir}: no ${MODEL_JSON} (not a Glimpse model or checkpoint folder)`);
  }
  return checkModelJson(modelJson, path.join(dir, MODEL_JSON));
}

/** The model config of a model or checkpoint folder, without reading its weights. */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const modelJson = await readModelJson(dir);
  return modelJson ? modelJson.modelTopology.config : requiredJson<ModelConfig>(dir, 'config.json');
}

/** Config, vocabulary and weights of a model or checkpoint folder (either format). */
export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const modelJson = await readModelJson(dir);
  const config = modelJson ? modelJson.modelTopology.config : await requiredJson<ModelConfig>(dir, 'config.json');
  const vocab = await requiredJson<VocabularyJSON>(dir, modelJson ? modelJson.modelTopology.vocabulary : VOCAB_JSON);
  const manifest = modelJson ?? (await legacyWeights(dir, 'weights'));
  if (!manifest) throw new ModelError('INVALID_ARTIFACT', `${dir}: no weights (${MODEL_JSON} or weights.json)`);
  const weights = await readWeights(dir, manifest, modelJson ? path.join(dir, MODEL_JSON) : path.join(dir, 'weights.json'));
  return { config, vocab, weights };
}
