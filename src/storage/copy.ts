// Writing a blob's chunks with one binary COPY (pg-copy-streams): the source's buffers go to the
// socket as they are, no copy and no per-row message building (node-postgres builds each bound
// parameter into a fresh message buffer, Prisma goes through base64), so streaming 100 MB in leaves
// no more garbage than the source's own pieces. Each BlobChunk row gathers consecutive pieces up to
// CHUNK_BYTES; its length is known before its bytes are written, as binary COPY wants.
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
}

/**
 * Streams `source` into BlobChunk rows of `blobId` (indices from 0, rows of about `chunkBytes`).
 * `onPiece` sees every piece in order (hashing). Returns the number of rows.
 */
export async function copyChunks(
  pool: pg.Pool,
  blobId: string,
  source: AsyncIterable<Uint8Array>,
  chunkBytes: number,
  onPiece: (piece: Buffer) => void,
): Promise<number> {
  const client = await pool.connect();
  let failed = false;
  try {
    const copy = client.query(copyFrom('COPY "BlobChunk" ("blobId", "index", "bytes") FROM STDIN (FORMAT binary)'));
    const done = new Promise<void>((resolve, reject) => {
      copy.on('finish', resolve);
      copy.on('error', reject);
    });
    done.catch(() => undefined);
    const write = async (buf: Buffer) => {
      if (!copy.write(buf)) await Promise.race([once(copy, 'drain'), done]);
    };
    const id = Buffer.from(blobId, 'utf8');
    let index = 0;
    let group: Buffer[] = [];
    let grouped = 0;
    const row = async () => {
      await write(Buffer.concat([int16(3), int32(id.length), id, int32(4), int32(index++), int32(grouped)]));
      for (const piece of group) await write(piece);
      group = [];
      grouped = 0;
    };
    try {
      await write(Buffer.concat([SIGNATURE, int32(0), int32(0)]));
      for await (const raw of source) {
        const piece = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        if (piece.length === 0) continue;
        onPiece(piece);
        // views, not copies: a large piece is cut across rows
        for (let at = 0; at < piece.length; ) {
          const part = piece.subarray(at, at + chunkBytes - grouped);
          group.push(part);
          grouped += part.length;
          at += part.length;
          if (grouped >= chunkBytes) await row();
        }
      }
      if (grouped > 0) await row();
      await write(int16(-1));
      copy.end();
      await done;
      return index;
    } catch (error) {
      failed = true;
      copy.destroy(error as Error); // CopyFail: the server rolls the COPY back
      await done.catch(() => undefined);
      throw error;
    }
  } finally {
    client.release(failed ? true : undefined);
  }
}
