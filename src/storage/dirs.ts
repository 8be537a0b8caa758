// A folder (checkpoint, model, generated dataset) as one blob: a tar of its regular files, written
// deterministically (sorted names, no times, owners or modes) so the same files give the same bytes
// and so the same blob id. Streamed both ways (tar-stream), one file at a time.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BlobCorruptError, readBlob, type Db } from './blobs.ts';
import { END_OF_TAR, fileHeader, padding, READ_BYTES } from './tar.ts';

export class ArchiveError extends Error {
  readonly code = 'INVALID_ARCHIVE';
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** regular files under `dir`, as posix paths relative to it, sorted by code point */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(name);
      else if (entry.isFile()) out.push(name);
      else throw new ArchiveError(`${join(dir, name)}: only regular files and folders can be stored`);
    }
  };
  await walk('');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The files of `dir` as a deterministic tar stream. Each yielded buffer is valid only until the next
 * one is asked for (file bytes are views of one reused read buffer, src/storage/tar.ts): consumers
 * copy or write them out first, as putBlob does.
 */
export async function* packDir(dir: string): AsyncGenerator<Buffer> {
  const files: { path: string; size: number; header: Buffer | null }[] = [];
  for (const name of await listFiles(dir)) {
    const path = join(dir, ...name.split('/'));
    const { size } = await stat(path);
    files.push({ path, size, header: fileHeader(name, size) });
  }
  if (files.some((f) => f.header === null)) {
    yield* tarStreamPack(dir);
    return;
  }
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  for (const { path, size, header } of files) {
    yield header!;
    const file = await open(path, 'r');
    try {
      for (let left = size; left > 0; ) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, left), null);
        if (bytesRead === 0) throw new ArchiveError(`${path} shrank while it was stored`);
        left -= bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await file.close();
    }
    const pad = padding(size);
    if (pad.length > 0) yield pad;
  }
  yield END_OF_TAR;
}

/** tar-stream's pack of `dir` (names that need PAX headers); a fresh buffer per 64 KiB read */
function tarStreamPack(dir: string): AsyncIterable<Buffer> {
  const pack = tar.pack();
  const fill = async () => {
    for (const name of await listFiles(dir)) {
      const path = join(dir, ...name.split('/'));
      const { size } = await stat(path);
      await new Promise<void>((resolve, reject) => {
        const header = { name, size, type: 'file' as const, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
        const entry = pack.entry(header, (error) => (error ? reject(error) : resolve()));
        const file = createReadStream(path);
        file.on('error', (error) => {
          entry.destroy(error);
          reject(error);
        });
        file.pipe(entry);
      });
    }
    pack.finalize();
  };
  fill().catch((error: unknown) => pack.destroy(error as Error));
  return pack as unknown as AsyncIterable<Buffer>;
}

/** a tar entry name as a safe relative path (no absolute paths, `..`, or empty segments) */
function safeName(name: string): string {
  const normal = posix.normalize(name.replace(/\/+$/, ''));
  if (name.includes('\\') || name.includes('\0') || normal.startsWith('/') || normal === '.' || normal.split('/').includes('..')) {
    throw new ArchiveError(`unsafe path in archive: ${JSON.stringify(name)}`);
  }
  return normal;
}

/**
 * Writes the tar `source` into the folder `dest` (created; it should not exist yet). Throws on a
 * failing source (e.g. BlobCorruptError at its end) or an unsafe entry: the caller removes `dest`.
 */
export async function unpackDir(source: AsyncIterable<Uint8Array>, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const extract = tar.extract();
  const entries = (async () => {
    for await (const entry of extract) {
      const { type } = entry.header;
      const target = join(dest, ...safeName(entry.header.name).split('/'));
      if (type === 'directory') {
        await mkdir(target, { recursive: true });
        entry.resume();
      } else if (type === 'file' || type === 'contiguous-file') {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target, { flags: 'wx' }));
      } else {
        throw new ArchiveError(`archive entry ${JSON.stringify(entry.header.name)} is a ${type}: only files and folders`);
      }
    }
  })();
  entries.catch(() => undefined); // awaited below; errors are rethrown there
  const feed = async () => {
    try {
      for await (const chunk of source) {
        if (!extract.write(chunk)) await Promise.race([once(extract, 'drain'), entries]);
      }
      extract.end(() => undefined);
    } catch (error) {
      extract.destroy(error as Error);
      throw error;
    }
  };
  await Promise.all([feed(), entries]);
}

/**
 * Unpacks folder blob `id` into `dest` (see unpackDir). A corrupt blob fails with BlobCorruptError
 * even when the damage breaks the tar before the hash is checked at the end (the blob is then read
 * through once more to tell which).
 */
export async function unpackBlob(db: Db, id: string, dest: string): Promise<void> {
  try {
    await unpackDir(readBlob(db, id), dest);
  } catch (error) {
    if (error instanceof BlobCorruptError) throw error;
    try {
      for await (const _ of readBlob(db, id));
    } catch (checked) {
      if (checked instanceof BlobCorruptError) throw checked;
    }
    throw error;
  }
}
