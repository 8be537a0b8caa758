// The artifact store: checkpoints, trained models and generated datasets as content-addressed
// blobs in Postgres (blobs.ts), folders as deterministic tars (dirs.ts), and a worker-local,
// hash-verified, LRU-bounded cache of unpacked folders (cache.ts). Jobs, resolvers and the CLI use
// it; src/ml knows nothing of it and keeps reading and writing plain folders.
import { randomUUID } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PrismaClient } from '../db/client.ts';
import { putBlob, type Db, type PendingBlob } from './blobs.ts';
import { packDir, unpackBlob } from './dirs.ts';

export {
  BlobCorruptError,
  BlobNotFoundError,
  blobSize,
  CHUNK_BYTES,
  commitBlob,
  deleteUnreferenced,
  discardBlob,
  isBlobId,
  putBlob,
  readBlob,
  sweepPendingBlobs,
  type Db,
  type PendingBlob,
} from './blobs.ts';
export { ArtifactCache, type CachedDir } from './cache.ts';
export { ArchiveError, listFiles, packDir, unpackBlob, unpackDir } from './dirs.ts';

/** Uploads the files of folder `dir` as a pending blob (commit it with the row that references it). */
export function putDir(prisma: PrismaClient, dir: string): Promise<PendingBlob> {
  return putBlob(prisma, packDir(dir));
}

/**
 * Writes folder blob `id` to `dest` (which must not exist): unpacked beside it, verified, then
 * renamed, so `dest` never holds a partial or corrupt copy.
 */
export async function exportDir(db: Db, id: string, dest: string): Promise<void> {
  if (
    await stat(dest).then(
      () => true,
      () => false,
    )
  )
    throw new Error(`${dest} already exists`);
  const temp = join(dirname(dest), `.glimpse-export-${randomUUID()}`);
  try {
    await unpackBlob(db, id, temp);
    await rename(temp, dest);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
