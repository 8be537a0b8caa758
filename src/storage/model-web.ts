// A trained model's files for a browser, read from the model's tar blob in the artifact store: model.json,
// the weight shards its manifest names and its vocabulary (metrics.json and anything else stay on the
// server). Only models with a CNN encoder (a backbone model names a URL or a server path, and the browser
// cannot run one yet) and a model.json (folders from before model.json have none). The URL carries the
// blob's content hash: the files behind it never change, so browsers may cache them forever.
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

/** whether a model row can be served to browsers (its files then decide: readModelWebFiles) */
export function servedOnDevice(row: { blobId: string | null; config: unknown }): row is { blobId: string; config: unknown } {
  const encoder = (row.config as { encoder?: { kind?: unknown } } | null)?.encoder;
  return row.blobId !== null && encoder?.kind === 'cnn';
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

/** The file names a model.json refers to (its vocabulary and weight shards), or null when it is no Glimpse CNN model. */
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
  if (document.format !== 'glimpse-caption-model' || document.modelTopology?.config?.encoder?.kind !== 'cnn') return null;
  if (typeof vocabulary !== 'string' || !Array.isArray(document.weightsManifest)) return null;
  const shards = document.weightsManifest.flatMap((group) => (Array.isArray(group.paths) ? group.paths : []));
  const names = [vocabulary, ...shards];
  // names beside model.json only: never a path that leaves the folder
  return names.every((n) => typeof n === 'string' && /^[\w.-]+$/.test(n) && n !== '.' && n !== '..') ? (names as string[]) : null;
}

/**
 * model.json, its vocabulary and its shards from folder blob `blobId`, by file name; null when the blob is no
 * servable model (no model.json, not a CNN model). Throws on a missing or corrupt blob.
 */
export async function readModelWebFiles(db: Db, blobId: string, maxBytes: number): Promise<Map<string, Buffer> | null> {
  const all = await tarFiles(readBlob(db, blobId), maxBytes);
  const modelJson = all.get('model.json');
  const names = modelJson && referencedFiles(modelJson);
  if (!modelJson || !names || names.some((n) => !all.has(n))) return null;
  return new Map([['model.json', modelJson], ...names.map((n) => [n, all.get(n)!] as const)]);
}
