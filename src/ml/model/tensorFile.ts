// Named float32 tensors on disk: one raw little-endian binary file plus a JSON manifest of
// names, shapes and offsets. Used for model weights and optimiser state.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors.ts';

interface ManifestEntry {
  name: string;
  shape: number[];
  /** offset in float32 elements */
  offset: number;
}

interface Manifest {
  format: 'glimpse-tensors/1';
  entries: ManifestEntry[];
}

/** Writes `<base>.bin` and `<base>.json` under dir. */
export async function writeTensors(dir: string, base: string, tensors: [string, tf.Tensor][]): Promise<void> {
  const entries: ManifestEntry[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    entries.push({ name, shape: tensor.shape, offset });
    offset += tensor.size;
  }
  const data = new Float32Array(offset);
  await Promise.all(
    tensors.map(async ([, tensor], i) => data.set((await tensor.data()) as Float32Array, entries[i].offset)),
  );
  const manifest: Manifest = { format: 'glimpse-tensors/1', entries };
  await writeFile(path.join(dir, `${base}.bin`), new Uint8Array(data.buffer));
  await writeFile(path.join(dir, `${base}.json`), JSON.stringify(manifest, null, 1));
}

/** Reads tensors written by writeTensors; the caller owns (and disposes) them. */
export async function readTensors(dir: string, base: string): Promise<Map<string, tf.Tensor>> {
  const manifestPath = path.join(dir, `${base}.json`);
  let manifest: Manifest;
  let bytes: Buffer;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    bytes = await readFile(path.join(dir, `${base}.bin`));
  } catch (cause) {
    throw new ModelError('INVALID_ARTIFACT', `cannot read tensors ${base} in ${dir}`, { cause });
  }
  if (manifest.format !== 'glimpse-tensors/1' || bytes.byteLength % 4 !== 0) {
    throw new ModelError('INVALID_ARTIFACT', `${manifestPath}: unknown tensor file format`);
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Map<string, tf.Tensor>();
  for (const entry of manifest.entries) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.offset + size > data.length) {
      throw new ModelError('INVALID_ARTIFACT', `${manifestPath}: ${entry.name} lies outside the data file`);
    }
    out.set(entry.name, tf.tensor(data.subarray(entry.offset, entry.offset + size), entry.shape));
  }
  return out;
}
