// Writing a blob's chunks with one binary COPY (pg-copy-streams), through two preallocated row
// buffers: each piece of the source is copied into the row being filled (sources may reuse their
// buffers: packDir does), a full row goes to the socket as it is (no per-row message building:
// node-postgres builds each bound parameter into a fresh message buffer, Prisma goes through
// base64), and a row buffer is filled again only once the stream has let go of it (its write
// callback: written to the socket, or the socket drained). Streaming 100 MB in therefore allocates
// two rows, not 100 MB of short-lived buffers. Binary COPY wants each row's length before its bytes:
// a row is sent when full (CHUNK_BYTES) or at the end.
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Streams `source` into BlobChunk rows of `blobId` (indices from 0, rows of `chunkBytes`, the last
 * one shorter). `onPiece` sees every piece in order (hashing). A yielded piece is used only until
 * the next one is asked for. Returns the number of rows.
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
    /** resolves once the stream no longer holds `buf` */
    const write = (buf: Buffer): Promise<void> =>
      Promise.race([
        new Promise<void>((resolve, reject) => {
          copy.write(buf, (error) => (error ? reject(error) : resolve()));
        }),
        done,
      ]);
    const id = Buffer.from(blobId, 'utf8');
    // field count, blobId (text), index (int4), bytes (length, then the row buffer)
    const prefix = Buffer.alloc(2 + 4 + id.length + 4 + 4 + 4);
    prefix.writeInt16BE(3, 0);
    prefix.writeInt32BE(id.length, 2);
    id.copy(prefix, 6);
    prefix.writeInt32BE(4, 6 + id.length);
    const rows = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let current = 0;
    let filled = 0;
    let index = 0;
    const send = async () => {
      const header = Buffer.from(prefix); // small: from Node's buffer pool
      header.writeInt32BE(index++, prefix.length - 8);
      header.writeInt32BE(filled, prefix.length - 4);
      void write(header).catch(() => undefined);
      const sent = write(rows[current]!.subarray(0, filled));
      sent.catch(() => undefined);
      inFlight[current] = sent;
      current = 1 - current;
      filled = 0;
      await inFlight[current]; // the other buffer is filled next: wait until the stream let go of it
    };
    try {
      await write(Buffer.concat([SIGNATURE, Buffer.alloc(8)]));
      for await (const raw of source) {
        const piece = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        if (piece.length === 0) continue;
        onPiece(piece);
        for (let at = 0; at < piece.length; ) {
          const n = piece.copy(rows[current]!, filled, at);
          filled += n;
          at += n;
          if (filled === chunkBytes) await send();
        }
      }
      if (filled > 0) await send();
      await Promise.all(inFlight);
      const trailer = Buffer.alloc(2);
      trailer.writeInt16BE(-1);
      await write(trailer);
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

/**
 * Yields the bytes of blob `blobId`'s chunks in index order, through one binary COPY TO: the bytes
 * come as they arrive on the socket (a chunk row as one or more views of the socket's buffers), where
 * a SELECT per row sends them as hex, builds a string twice their size and decodes it. `blobId` must
 * be a sha256 hex id (it is written into the statement: COPY takes no parameters).
 */
export async function* copyChunksOut(pool: pg.Pool, blobId: string): AsyncGenerator<Buffer> {
  if (!/^[0-9a-f]{64}$/.test(blobId)) throw new Error(`not a blob id: ${JSON.stringify(blobId)}`);
  const client = await pool.connect();
  let finished = false;
  try {
    const stream = client.query(
      copyTo(`COPY (SELECT "bytes" FROM "BlobChunk" WHERE "blobId" = '${blobId}' ORDER BY "index") TO STDOUT (FORMAT binary)`),
    );
    // the binary COPY format: signature, flags, header extension; then per row a field count (1) and
    // the field's length and bytes; a field count of -1 ends it
    let head: Buffer = Buffer.alloc(0); // bytes of a header or length not complete yet
    let need = 19; // signature (11) + flags (4) + extension length (4)
    let state: 'header' | 'extension' | 'count' | 'length' | 'bytes' | 'end' = 'header';
    for await (const raw of stream) {
      let chunk = raw as Buffer;
      while (chunk.length > 0 && state !== 'end') {
        if (state === 'bytes' || state === 'extension') {
          const part = chunk.subarray(0, need);
          chunk = chunk.subarray(part.length);
          need -= part.length;
          if (state === 'bytes' && part.length > 0) yield part;
          if (need === 0) [state, need] = ['count', 2];
          continue;
        }
        const take = chunk.subarray(0, need - head.length);
        chunk = chunk.subarray(take.length);
        head = head.length === 0 && take.length === need ? take : Buffer.concat([head, take]);
        if (head.length < need) continue;
        const field = head;
        head = Buffer.alloc(0);
        if (state === 'header') {
          if (!field.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY TO: not the binary format');
          [state, need] = ['extension', field.readUInt32BE(15)];
          if (need === 0) [state, need] = ['count', 2];
        } else if (state === 'count') {
          const fields = field.readInt16BE(0);
          if (fields === -1) state = 'end';
          else if (fields !== 1) throw new Error(`COPY TO: ${fields} fields in a row`);
          else [state, need] = ['length', 4];
        } else {
          const length = field.readInt32BE(0);
          if (length < 0) throw new Error('COPY TO: a chunk without bytes');
          [state, need] = length === 0 ? ['count', 2] : ['bytes', length];
        }
      }
    }
    if (state !== 'end') throw new Error('COPY TO: the stream ended early');
    finished = true;
  } finally {
    // a reader that stopped early leaves the COPY half read: that connection is not reused
    client.release(finished ? undefined : true);
  }
}
