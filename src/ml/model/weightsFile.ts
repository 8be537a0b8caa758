// Named tensors on disk as TF.js weights: a JSON file carrying a `weightsManifest` (the format of a
// TF.js model.json, written by tf.io.encodeWeights) beside one binary shard, so tf.io
// (getWeightSpecs, decodeWeights, loadWeights) reads them. Also reads the format Glimpse wrote
// before (`glimpse-tensors/1`: a float32 blob and a list of offsets), whose blob is byte for byte
// what encodeWeights writes for the same float32 tensors in order.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './model-error.ts';
import { decodeWeightData, shardPaths, type WithWeights } from './weightsDecode.ts';

export type { WithWeights } from './weightsDecode.ts';

/** TF.js's { name, tensor } pair (tfjs-core does not export its NamedTensor type). */
export type NamedTensor = Parameters<tf.Optimizer['setWeights']>[0][number];

/**
 * Writes `tensors` to `<dir>/<shard>` and `fields` plus their weights manifest to `<dir>/<jsonFile>`.
 * Tensors keep their order and dtype.
 */
export async function writeWeights(
  dir: string,
  files: { json: string; shard: string },
  fields: object,
  tensors: NamedTensor[],
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const document: WithWeights = { ...fields, weightsManifest: [{ paths: [files.shard], weights: specs }] };
  await writeFile(path.join(dir, files.shard), new Uint8Array(data));
  await writeFile(path.join(dir, files.json), JSON.stringify(document, null, 1));
}

/** The shards of a manifest (paths relative to dir), concatenated in manifest order. */
export async function readShards(dir: string, manifest: tf.io.WeightsManifestConfig): Promise<ArrayBuffer> {
  const buffers = await Promise.all(
    shardPaths(manifest).map(async (p) => {
      const bytes = await readFile(path.join(dir, p));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }),
  );
  return tf.io.concatenateArrayBuffers(buffers);
}

/** The tensors of a manifest, by name; the caller owns (and disposes) them. */
export async function readWeights(dir: string, document: WithWeights, what: string): Promise<Map<string, tf.Tensor>> {
  if (!Array.isArray(document.weightsManifest)) throw new ModelError('INVALID_ARTIFACT', `${what}: no weightsManifest`);
  let data: ArrayBuffer;
  try {
    data = await readShards(dir, document.weightsManifest);
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `${what}: cannot read its weight shards`, { cause });
  }
  return decodeWeightData(data, document, what);
}

/** The JSON of `<dir>/<file>`, or undefined when there is no such file. */
export async function readJsonIfPresent<T>(dir: string, file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, file), 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError('INVALID_ARTIFACT', `${path.join(dir, file)}: unreadable`, { cause });
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `${path.join(dir, file)}: not JSON`, { cause });
  }
}

/** `<base>.json` of the format Glimpse wrote before TF.js weights (`glimpse-tensors/1`). */
interface LegacyTensors {
  format: 'glimpse-tensors/1';
  /** offsets in float32 elements into `<base>.bin` */
  entries: { name: string; shape: number[]; offset: number }[];
}

/**
 * The weights manifest equivalent to a `glimpse-tensors/1` file `<base>.json` (its `<base>.bin`
 * holds the float32 tensors back to back, in entry order); undefined when there is no such file.
 */
export async function legacyWeights(dir: string, base: string): Promise<WithWeights | undefined> {
  const legacy = await readJsonIfPresent<LegacyTensors>(dir, `${base}.json`);
  if (legacy === undefined) return undefined;
  if (legacy.format !== 'glimpse-tensors/1' || !Array.isArray(legacy.entries)) {
    throw new ModelError('INVALID_ARTIFACT', `${path.join(dir, base)}.json: unknown tensor file format`);
  }
  let offset = 0;
  for (const entry of legacy.entries) {
    if (entry.offset !== offset) {
      throw new ModelError(
        'INVALID_ARTIFACT',
        `${path.join(dir, base)}.json: ${entry.name} is not stored right after the tensor before it`,
      );
    }
    offset += entry.shape.reduce((a, b) => a * b, 1);
  }
  const weights = legacy.entries.map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
  return { weightsManifest: [{ paths: [`${base}.bin`], weights }] };
}
