// A saved model fetched over HTTP: model.json (checked like the worker checks it, src/ml/model/modelFormat.ts),
// its weight shards and its vocabulary, each at its URL relative to model.json's, then built by the same
// code as the worker's (src/ml/model/assemble.ts). Headers (an API key) go with every request.
import * as tf from '@tensorflow/tfjs';
import { assembleModel } from '../model/assemble.ts';
import type { CaptionModel } from '../model/captionModel.ts';
import { ModelError } from '../model/model-error.ts';
import { checkModelJson } from '../model/modelFormat.ts';
import { decodeWeightData, shardPaths } from '../model/weightsDecode.ts';
import type { ModelConfig } from '../types.ts';
import type { Vocabulary, VocabularyJSON } from '../vocab.ts';

export interface FetchedModel {
  model: CaptionModel;
  vocab: Vocabulary;
  config: ModelConfig;
  /** bytes fetched (model.json, vocabulary, weights) */
  bytes: number;
}

/** fetch that answers only a 2xx response, else a ModelError naming the URL */
export async function fetchOk(url: URL, headers: Record<string, string>): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { headers });
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `${url.href}: cannot fetch (${(cause as Error).message})`, { cause });
  }
  if (!response.ok) throw new ModelError('INVALID_ARTIFACT', `${url.href}: HTTP ${response.status}`);
  return response;
}

/** The model whose model.json is at `modelJsonUrl` (absolute, or relative to the page). */
export async function fetchModel(modelJsonUrl: string, headers: Record<string, string> = {}): Promise<FetchedModel> {
  const base = new URL(modelJsonUrl, globalThis.location?.href);
  const modelText = await (await fetchOk(base, headers)).text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(modelText);
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `${base.href}: not JSON`, { cause });
  }
  const document = checkModelJson(parsed, base.href);
  const vocabText = await (await fetchOk(new URL(document.modelTopology.vocabulary, base), headers)).text();
  const shards = await Promise.all(
    shardPaths(document.weightsManifest).map(async (p) => (await fetchOk(new URL(p, base), headers)).arrayBuffer()),
  );
  const data = tf.io.concatenateArrayBuffers(shards);
  const weights = decodeWeightData(data, document, base.href);
  try {
    const config = document.modelTopology.config;
    const built = assembleModel({ config, vocab: JSON.parse(vocabText) as VocabularyJSON, weights }, base.href);
    return { ...built, config, bytes: modelText.length + vocabText.length + data.byteLength };
  } finally {
    tf.dispose([...weights.values()]);
  }
}
