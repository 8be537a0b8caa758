// Content-addressed blobs in Postgres: a Blob row (id = sha256 hex of the bytes, size) and its
// bytes in BlobChunk rows of CHUNK_BYTES each. Both ways are streamed chunk by chunk, so a 100 MB
// artifact never sits in memory (one chunk at a time, plus the driver's copy of it).
//
// Writing is two-phase: put() streams the bytes into chunks of a `pending:<uuid>` blob (its hash is
// only known at the end), and commit(tx, pending) — inside the transaction that inserts the row
// referencing the blob — renames it to its hash (the chunks follow: ON UPDATE CASCADE), or drops it
// when that content is already stored. A reader therefore never sees a half-written blob, and the
// row and its blob become visible together. An advisory lock per hash serialises commit() and
// deleteUnreferenced() so a blob is never collected while a new row starts to use it.
//
// Reading (read()) hashes what it yields and throws BlobCorruptError at the end when the hash or the
// size differ: consumers write to a temporary place and only use it once the stream has ended
// without an error (src/storage/cache.ts, src/storage/dirs.ts).
import { createHash, randomUUID } from 'node:crypto';
import { copyChunks, copyChunksOut } from './copy.ts';
import { pgPoolOf, type PrismaClient, type TransactionClient } from '../db/client.ts';

/** bytes per BlobChunk row (small chunks keep the driver's per-query copies small) */
export const CHUNK_BYTES = 256 * 1024;
const PENDING_PREFIX = 'pending:';
const SHA256_HEX = /^[0-9a-f]{64}$/;

export type Db = PrismaClient | TransactionClient;

export class BlobNotFoundError extends Error {
  readonly code = 'BLOB_NOT_FOUND';
  constructor(readonly blobId: string) {
    super(`blob ${blobId} is not in the artifact store`);
    this.name = 'BlobNotFoundError';
  }
}

export class BlobCorruptError extends Error {
  readonly code = 'BLOB_CORRUPT';
  constructor(
    readonly blobId: string,
    detail: string,
  ) {
    super(`blob ${blobId} is corrupt in the artifact store (${detail}); it was not used`);
    this.name = 'BlobCorruptError';
  }
}

/** Bytes stored under a temporary id, not visible under their hash until commit(). */
export interface PendingBlob {
  /** sha256 hex of the bytes: the id after commit() */
  id: string;
  size: number;
  pendingId: string;
}

export function isBlobId(id: string): boolean {
  return SHA256_HEX.test(id);
}

/** a serialising lock on one blob id for the rest of the transaction */
async function lockBlob(tx: TransactionClient, id: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`glimpse-blob:${id}`}, 0))) AS l`;
}

// Chunks go over node-postgres directly when the client has its pool (createPrisma): written with one
// binary COPY FROM, read with one binary COPY TO (copy.ts). Prisma's raw queries serialise bytes
// parameters through base64 (measured: RSS +295 MB while writing 100 MB that way).

/** a row per CHUNK_BYTES through Prisma: for clients without a pool of ours */
async function insertChunks(
  prisma: PrismaClient,
  blobId: string,
  source: AsyncIterable<Uint8Array>,
  onPiece: (piece: Buffer) => void,
): Promise<void> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let buffered = 0;
  let index = 0;
  const flush = async () => {
    const bytes = chunk.subarray(0, buffered);
    await prisma.$executeRaw`INSERT INTO "BlobChunk" ("blobId", "index", "bytes") VALUES (${blobId}, ${index++}, ${bytes})`;
    buffered = 0;
  };
  for await (const raw of source) {
    const piece = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    onPiece(piece);
    for (let at = 0; at < piece.length; ) {
      const n = piece.copy(chunk, buffered, at);
      buffered += n;
      at += n;
      if (buffered === CHUNK_BYTES) await flush();
    }
  }
  if (buffered > 0) await flush();
}

/** one chunk through Prisma: for clients without a pool of ours (and transaction clients) */
async function selectChunk(db: Db, blobId: string, index: number): Promise<Buffer | null> {
  const [row] = await db.$queryRaw<
    { bytes: Uint8Array }[]
  >`SELECT "bytes" FROM "BlobChunk" WHERE "blobId" = ${blobId} AND "index" = ${index}`;
  return row ? Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength) : null;
}

/**
 * Streams `source` into pending chunks. The caller commits the result in the transaction that
 * references it, or discards it. On a failure of the source or the database, what was written is
 * removed and the error rethrown.
 */
export async function putBlob(prisma: PrismaClient, source: AsyncIterable<Uint8Array>): Promise<PendingBlob> {
  const pendingId = `${PENDING_PREFIX}${randomUUID()}`;
  await prisma.$executeRaw`INSERT INTO "Blob" ("id", "size") VALUES (${pendingId}, 0)`;
  const hash = createHash('sha256');
  let size = 0;
  const onPiece = (piece: Buffer) => {
    hash.update(piece);
    size += piece.length;
  };
  try {
    const pool = pgPoolOf(prisma);
    if (pool) await copyChunks(pool, pendingId, source, CHUNK_BYTES, onPiece);
    else await insertChunks(prisma, pendingId, source, onPiece);
    const id = hash.digest('hex');
    await prisma.$executeRaw`UPDATE "Blob" SET "size" = ${size} WHERE "id" = ${pendingId}`;
    return { id, size, pendingId };
  } catch (error) {
    await prisma.$executeRaw`DELETE FROM "Blob" WHERE "id" = ${pendingId}`.catch(() => undefined);
    throw error;
  }
}

/**
 * Makes a pending blob visible under its hash, in the caller's transaction (the one that inserts the
 * row referencing it). Returns the blob id.
 */
export async function commitBlob(tx: TransactionClient, pending: PendingBlob): Promise<string> {
  await lockBlob(tx, pending.id);
  const [existing] = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Blob" WHERE "id" = ${pending.id}`;
  if (existing) {
    await tx.$executeRaw`DELETE FROM "Blob" WHERE "id" = ${pending.pendingId}`;
    return pending.id;
  }
  const renamed =
    await tx.$executeRaw`UPDATE "Blob" SET "id" = ${pending.id}, "createdAt" = CURRENT_TIMESTAMP WHERE "id" = ${pending.pendingId}`;
  if (renamed !== 1) throw new BlobNotFoundError(pending.pendingId);
  return pending.id;
}

/** Drops a pending blob that will not be committed (never throws). */
export async function discardBlob(prisma: Db, pending: PendingBlob): Promise<void> {
  await prisma.$executeRaw`DELETE FROM "Blob" WHERE "id" = ${pending.pendingId}`.catch(() => undefined);
}

/**
 * Yields the blob's bytes chunk by chunk, hashing them; throws BlobCorruptError after the last chunk
 * when the content is not what its id says (a flipped byte, a missing chunk), BlobNotFoundError when
 * there is no such blob. Use what it yielded only once it has ended without an error.
 */
export async function* readBlob(prisma: Db, id: string): AsyncGenerator<Buffer> {
  const [blob] = await prisma.$queryRaw<{ size: bigint }[]>`SELECT "size" FROM "Blob" WHERE "id" = ${id}`;
  if (!blob || !isBlobId(id)) throw new BlobNotFoundError(id);
  const hash = createHash('sha256');
  let size = 0;
  const pool = 'blob' in prisma ? pgPoolOf(prisma as PrismaClient) : undefined;
  if (pool) {
    // one COPY TO streams every chunk in order (copy.ts)
    for await (const bytes of copyChunksOut(pool, id)) {
      hash.update(bytes);
      size += bytes.length;
      yield bytes;
    }
  } else {
    for (let index = 0; ; index++) {
      const bytes = await selectChunk(prisma, id, index);
      if (!bytes) break;
      hash.update(bytes);
      size += bytes.length;
      yield bytes;
    }
  }
  const actual = hash.digest('hex');
  if (actual !== id) throw new BlobCorruptError(id, `its ${size} bytes hash to sha256 ${actual.slice(0, 12)}…`);
  if (size !== Number(blob.size)) throw new BlobCorruptError(id, `${size} bytes stored, ${blob.size} recorded`);
}

/** size in bytes, or null when there is no such blob */
export async function blobSize(prisma: Db, id: string): Promise<number | null> {
  const [blob] = await prisma.$queryRaw<{ size: bigint }[]>`SELECT "size" FROM "Blob" WHERE "id" = ${id}`;
  return blob ? Number(blob.size) : null;
}

/**
 * Deletes those of `ids` that no Checkpoint, Model or Dataset row references any more (with their
 * chunks), in the caller's transaction. Returns how many were deleted.
 */
export async function deleteUnreferenced(tx: TransactionClient, ids: Iterable<string | null | undefined>): Promise<number> {
  let deleted = 0;
  const unique = [...new Set([...ids].filter((id): id is string => typeof id === 'string'))].sort();
  for (const id of unique) {
    await lockBlob(tx, id);
    deleted += await tx.$executeRaw`
      DELETE FROM "Blob" b WHERE b."id" = ${id}
        AND NOT EXISTS (SELECT 1 FROM "Checkpoint" c WHERE c."blobId" = b."id")
        AND NOT EXISTS (SELECT 1 FROM "Model" m WHERE m."blobId" = b."id")
        AND NOT EXISTS (SELECT 1 FROM "Model" m WHERE m."backboneBlobId" = b."id")
        AND NOT EXISTS (SELECT 1 FROM "Dataset" d WHERE d."blobId" = b."id")`;
  }
  return deleted;
}

/** Removes uploads that were never committed (their writer died), older than `olderThanSeconds`. */
export async function sweepPendingBlobs(prisma: PrismaClient, olderThanSeconds = 6 * 3600): Promise<number> {
  return prisma.$executeRaw`
    DELETE FROM "Blob" WHERE "id" LIKE ${`${PENDING_PREFIX}%`}
      AND "createdAt" < CURRENT_TIMESTAMP - make_interval(secs => ${olderThanSeconds})`;
}
