// TF.js weights from bytes already in memory: a document carrying a `weightsManifest` and its shards
// concatenated in manifest order → named tensors. No file access (the browser fetches the shards,
// src/ml/model/weightsFile.ts reads them from a folder); both decode here.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './model-error.ts';

/** A JSON document with a TF.js weights manifest (the shard paths are relative to its folder). */
export interface WithWeights {
  weightsManifest: tf.io.WeightsManifestConfig;
}

/** The shard paths of a manifest, in the order their bytes are concatenated. */
export function shardPaths(manifest: tf.io.WeightsManifestConfig): string[] {
  return manifest.flatMap((group) => group.paths);
}

/** The tensors of `data` (the manifest's shards, concatenated), by name; the caller owns (and disposes) them. */
export function decodeWeightData(data: ArrayBuffer, document: WithWeights, what: string): Map<string, tf.Tensor> {
  try {
    // in a tidy: the tensors decoded before a mismatch is found are disposed with the error
    const tensors = tf.tidy(() => tf.io.decodeWeights(data, tf.io.getWeightSpecs(document.weightsManifest)));
    return new Map(Object.entries(tensors));
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `${what}: the weight shards do not match the manifest`, { cause });
  }
}
