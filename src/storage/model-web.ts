// A trained model's files for a browser, read from the model's tar blob in the artifact store: model.json,
// the weight shards its manifest names and its vocabulary (metrics.json and anything else stay on the
// server). A model with a pretrained backbone also gets its backbone's files (model.json + shards, the bytes
// the worker loaded, stored as their own blob: Model.backboneBlobId) under backbone/<hash>/, and the model.json
// served says so: its encoder's url (a URL or a server path on the worker) becomes that relative URL. Models
// from before backbones were stored (no backboneBlobId) and folders from before model.json are not served.
// The URLs carry the blobs' content hashes: the files behind them never change, so browsers may cache them.
import { once } from 'node:events';
import tar from 'tar-stream';
import { readBlob, type Db } from './blobs.ts';

/** the largest model folder read into memory to serve or export it (the demo model is ~1 MB, the seed's sizes ~60 MB) */
export const MAX_WEB_MODEL_BYTES = 512 * 1024 * 1024;

/** the URL path of a model's model.json; the shards and the vocabulary sit beside it */
export function modelWebPath(modelId: string, blobId: string): string {
  return `/models/${encodeURIComponent(modelId)}/web/${webHash(blobId)}/model.json`;
}

/** the URL path of the model's static export as a zip (src/web/static-export.ts) */
export function modelExportZipPath(modelId: string, blobId: string): string {
  return `/models/${encodeURIComponent(modelId)}/web/${webHash(blobId)}/${EXPORT_ZIP}`;
}

export const EXPORT_ZIP = 'glimpse-web-export.zip';

/** the URL's content hash: the first 16 hex digits of the blob id (a sha256 of the tar) */
export const webHash = (blobId: string): string => blobId.slice(0, 16);

/** the folder of the backbone's files beside the model's, by the backbone blob's content hash */
export const backboneWebFolder = (backboneBlobId: string): string => `backbone/${webHash(backboneBlobId)}`;

/** what decides whether a model is served to browsers */
export interface WebModelRow {
  blobId: string | null;
  /** its backbone's files (null or absent: a CNN model, or a backbone model saved before backbones were stored) */
  backboneBlobId?: string | null;
  config: unknown;
}

/** Why a model row cannot be served to browsers, or null when it can (its files then decide: readModelWebFiles). */
export function notServedReason(row: WebModelRow): string | null {
  if (row.blobId === null) return 'this model is a folder on a worker (saved before the artifact store): not available in the browser';
  const kind = (row.config as { encoder?: { kind?: unknown } } | null)?.encoder?.kind;
  if (kind === 'cnn') return null;
  if (kind !== 'pretrained') return 'this model has an encoder the browser does not know';
  if (!row.backboneBlobId)
    return 'this model was saved before backbones were stored with models: its pretrained backbone is not available to browsers (train it again)';
  return null;
}

/** whether a model row can be served to browsers (its files then decide: readModelWebFiles) */
export function servedOnDevice(row: WebModelRow): row is WebModelRow & { blobId: string } {
  return notServedReason(row) === null;
}

/** The files of a tar (regular files only), by name, up to `maxBytes` in all. */
async function tarFiles(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let total = 0;
  const extract = tar.extract();
  const entries = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) throw new Error(`model blob holds more than ${maxBytes} bytes`);
        chunks.push(chunk as Buffer);
      }
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  entries.catch(() => undefined); // awaited below
  try {
    for await (const chunk of source) {
      if (!extract.write(chunk)) await Promise.race([once(extract, 'drain'), entries]);
    }
    extract.end(() => undefined);
  } catch (error) {
    extract.destroy(error as Error);
    throw error;
  }
  await entries;
  return files;
}

/** names beside model.json only: never a path that leaves the folder */
const plainName = (n: unknown): n is string => typeof n === 'string' && /^[\w.-]+$/.test(n) && n !== '.' && n !== '..';

/** The shard names of a TF.js model.json's weightsManifest, or null when it has none or one is no plain name. */
function shardNames(manifest: unknown): string[] | null {
  if (!Array.isArray(manifest)) return null;
  const names = manifest.flatMap((group: { paths?: unknown }) => (Array.isArray(group?.paths) ? group.paths : []));
  return names.every(plainName) ? (names as string[]) : null;
}

/** The file names a model.json refers to (its vocabulary and weight shards), or null when it is no Glimpse model. */
function referencedFiles(modelJson: Buffer): string[] | null {
  let document: {
    format?: unknown;
    modelTopology?: { vocabulary?: unknown; config?: { encoder?: { kind?: unknown } } };
    weightsManifest?: { paths?: unknown }[];
  };
  try {
    document = JSON.parse(modelJson.toString('utf8'));
  } catch {
    return null;
  }
  const vocabulary = document.modelTopology?.vocabulary;
  const kind = document.modelTopology?.config?.encoder?.kind;
  if (document.format !== 'glimpse-caption-model' || (kind !== 'cnn' && kind !== 'pretrained')) return null;
  const shards = shardNames(document.weightsManifest);
  return plainName(vocabulary) && shards ? [vocabulary, ...shards] : null;
}

/**
 * The model.json a browser gets for a backbone model: the encoder's url (the worker's URL or server path)
 * replaced by the relative URL of the backbone's model.json beside it, nothing else changed.
 */
function servedModelJson(modelJson: Buffer, backboneUrl: string): Buffer {
  const document = JSON.parse(modelJson.toString('utf8')) as { modelTopology: { config: { encoder: Record<string, unknown> } } };
  const { cacheDir: _cacheDir, ...encoder } = document.modelTopology.config.encoder;
  document.modelTopology.config.encoder = { ...encoder, url: backboneUrl };
  return Buffer.from(JSON.stringify(document));
}

/** A backbone's model.json and the shards it names, from its files by name; null when they hold no TF.js model. */
export function backboneWebFiles(all: ReadonlyMap<string, Buffer>): Map<string, Buffer> | null {
  const modelJson = all.get('model.json');
  if (!modelJson) return null;
  let manifest: unknown;
  try {
    manifest = (JSON.parse(modelJson.toString('utf8')) as { weightsManifest?: unknown }).weightsManifest;
  } catch {
    return null;
  }
  const names = shardNames(manifest);
  if (!names || names.some((n) => !all.has(n))) return null;
  return new Map([['model.json', modelJson], ...names.map((n) => [n, all.get(n)!] as const)]);
}

/**
 * What a browser gets of a model folder's files (by name): model.json, its vocabulary and its shards, and for a
 * backbone model the backbone's files (`backbone.files`, see backboneWebFiles) under `backbone.folder`, which the
 * served model.json names; null when they are no servable model (no model.json, a backbone model without its
 * backbone).
 */
export function webModelFiles(
  all: ReadonlyMap<string, Buffer>,
  backbone: { folder: string; files: ReadonlyMap<string, Buffer> | null } | null,
): Map<string, Buffer> | null {
  const modelJson = all.get('model.json');
  const names = modelJson && referencedFiles(modelJson);
  if (!modelJson || !names || names.some((n) => !all.has(n))) return null;
  const files = new Map([['model.json', modelJson], ...names.map((n) => [n, all.get(n)!] as const)]);
  const kind = (JSON.parse(modelJson.toString('utf8')) as { modelTopology: { config: { encoder: { kind: string } } } }).modelTopology.config
    .encoder.kind;
  if (kind === 'cnn') return files;
  if (!backbone?.files) return null;
  files.set('model.json', servedModelJson(modelJson, `${backbone.folder}/model.json`));
  for (const [name, body] of backbone.files) files.set(`${backbone.folder}/${name}`, body);
  return files;
}

/**
 * The files a browser gets of model `row` (webModelFiles), from its folder blob and, for a backbone model, its
 * backbone blob; null when they hold no servable model. Throws on a missing or corrupt blob. `maxBytes` bounds
 * each blob read.
 */
export async function readModelWebFiles(
  db: Db,
  row: { blobId: string; backboneBlobId?: string | null },
  maxBytes: number,
): Promise<Map<string, Buffer> | null> {
  const all = await tarFiles(readBlob(db, row.blobId), maxBytes);
  const backbone = row.backboneBlobId
    ? { folder: backboneWebFolder(row.backboneBlobId), files: backboneWebFiles(await tarFiles(readBlob(db, row.backboneBlobId), maxBytes)) }
    : null;
  return webModelFiles(all, backbone);
}
