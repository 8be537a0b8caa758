// A pretrained backbone's files stored with the models on it: the bytes the worker read through the guarded
// access (src/sources/backbone-access.ts; BackboneAccess.onFile tells each), as one tar blob in the artifact store
// (Model.backboneBlobId). Content-addressed: the same files make the same blob, so the models on one backbone
// share it; src/storage/model-web.ts serves it to browsers beside each model's own files.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrismaClient } from '../db/client.ts';
import type { PendingBlob } from './blobs.ts';
import { putDir } from './index.ts';

/**
 * A pretrained backbone's files as the worker read them through the guarded access (BackboneAccess.onFile:
 * model.json, then each weight file by its manifest path), to store with the model (uploadBackbone).
 */
export class BackboneFiles {
  readonly files = new Map<string, Uint8Array>();
  readonly onFile = (name: string | null, bytes: ArrayBuffer): void => {
    this.files.set(name ?? 'model.json', new Uint8Array(bytes.slice(0)));
  };
}

/**
 * Uploads a backbone's files (model.json + its weight files) as a pending blob: a tar of exactly those bytes,
 * the same bytes giving the same blob, so the models on one backbone share it. Null (nothing stored: the model
 * then does not caption in browsers) when no model.json was read or a weight file is no plain name beside it.
 */
export async function uploadBackbone(prisma: PrismaClient, backbone: BackboneFiles, scratchDir: string): Promise<PendingBlob | null> {
  const { files } = backbone;
  if (!files.has('model.json') || [...files.keys()].some((name) => !/^[\w.-]+$/.test(name) || name === '.' || name === '..')) return null;
  const dir = join(scratchDir, `.backbone-${randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    return await putDir(prisma, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
