// The artifact store on a real Postgres: folders in and out as content-addressed blobs, commit
// inside the transaction of the referencing row, dedup, corruption caught by the hash (a byte flipped
// in a BlobChunk row), the cache's verification and LRU bound, unreferenced blobs collected.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  ArtifactCache,
  BlobCorruptError,
  CHUNK_BYTES,
  commitBlob,
  deleteUnreferenced,
  exportDir,
  listFiles,
  putBlob,
  putDir,
  readBlob,
  unpackDir,
} from '../../src/storage/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let tmp: string;

async function writeTree(dir: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await listFiles(dir)) out[name] = (await readFile(join(dir, name))).toString('base64');
  return out;
}

const commit = (pending: Awaited<ReturnType<typeof putDir>>) => db.prisma.$transaction((tx) => commitBlob(tx, pending));
const counts = async () => ({ blobs: await db.prisma.blob.count(), chunks: await db.prisma.blobChunk.count() });

beforeAll(async () => {
  db = await createTestDatabase();
  tmp = await mkdtemp(join(tmpdir(), 'glimpse-store-'));
});
afterAll(async () => {
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

describe('artifact store', () => {
  const big = randomBytes(CHUNK_BYTES * 2 + 12345);
  const files = { 'model.json': '{"a":1}', 'weights.bin': big, 'images/0001.png': randomBytes(777) };

  it('stores a folder as one content-addressed blob in chunks and gives it back byte for byte', async () => {
    const src = join(tmp, 'src');
    await writeTree(src, files);
    const pending = await putDir(db.prisma, src);
    expect(pending.id).toMatch(/^[0-9a-f]{64}$/);
    // not visible under its hash before the commit
    expect(await db.prisma.blob.findUnique({ where: { id: pending.id } })).toBeNull();
    expect(await commit(pending)).toBe(pending.id);
    const row = await db.prisma.blob.findUniqueOrThrow({ where: { id: pending.id } });
    expect(Number(row.size)).toBe(pending.size);
    expect(await db.prisma.blobChunk.count({ where: { blobId: pending.id } })).toBe(Math.ceil(pending.size / CHUNK_BYTES));

    const out = join(tmp, 'out');
    await exportDir(db.prisma, pending.id, out);
    expect(await readTree(out)).toEqual(await readTree(src));

    // the same files (written again, other times) give the same blob, stored once
    const again = join(tmp, 'again');
    await writeTree(again, files);
    const before = await counts();
    const second = await putDir(db.prisma, again);
    expect(second.id).toBe(pending.id);
    await commit(second);
    expect(await counts()).toEqual(before);
  });

  it('detects a flipped byte by its hash: a clear error, nothing unpacked or cached', async () => {
    const src = join(tmp, 'corrupt-src');
    await writeTree(src, { 'a.bin': randomBytes(CHUNK_BYTES + 10) });
    const id = await commit(await putDir(db.prisma, src));
    await db.prisma
      .$executeRaw`UPDATE "BlobChunk" SET "bytes" = set_byte("bytes", 600, get_byte("bytes", 600) # 1) WHERE "blobId" = ${id} AND "index" = 0`;

    const collect = async () => {
      for await (const _ of readBlob(db.prisma, id));
    };
    await expect(collect()).rejects.toThrow(BlobCorruptError);
    await expect(collect()).rejects.toThrow(new RegExp(`blob ${id} is corrupt in the artifact store .*it was not used`));

    const cache = new ArtifactCache(db.prisma, join(tmp, 'cache-corrupt'), 1e9);
    await expect(cache.open(id)).rejects.toThrow(BlobCorruptError);
    expect(await readdir(cache.root)).toEqual([]);
    await expect(exportDir(db.prisma, id, join(tmp, 'corrupt-out'))).rejects.toThrow(BlobCorruptError);
    expect((await readdir(tmp)).filter((n) => n.includes('corrupt-out') || n.startsWith('.glimpse-export'))).toEqual([]);
  });

  it('caches unpacked folders by hash, least recently used evicted beyond the bound, pinned ones kept', async () => {
    const ids: string[] = [];
    for (const i of [0, 1, 2]) {
      const src = join(tmp, `lru-${i}`);
      await writeTree(src, { 'w.bin': randomBytes(1000 + i) });
      ids.push(await commit(await putDir(db.prisma, src)));
    }
    const cache = new ArtifactCache(db.prisma, join(tmp, 'cache-lru'), 2500);
    const first = await cache.open(ids[0]!);
    expect((await readFile(join(first.dir, 'w.bin'))).length).toBe(1000);
    await new Promise((r) => setTimeout(r, 20));
    await cache.with(ids[1]!, async () => undefined);
    await new Promise((r) => setTimeout(r, 20));
    // over 2500 bytes: the oldest unpinned entry (ids[1]; ids[0] is still open) goes
    await cache.with(ids[2]!, async () => undefined);
    expect((await cache.entries()).map((e) => e.id).sort()).toEqual([ids[0], ids[2]].sort());
    first.release();
    // a cache deleted under the worker loses nothing
    await rm(cache.root, { recursive: true, force: true });
    const back = await cache.open(ids[1]!);
    expect((await readFile(join(back.dir, 'w.bin'))).length).toBe(1001);
    back.release();
  });

  it('collects only blobs no row references, with their chunks', async () => {
    const src = join(tmp, 'gc');
    await writeTree(src, { 'x.bin': randomBytes(5000) });
    const pending = await putDir(db.prisma, src);
    const run = await db.prisma.$transaction(async (tx) => {
      const dataset = await tx.dataset.create({ data: { name: 'gc', kind: 'SYNTHETIC', status: 'READY' } });
      const r = await tx.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
      const blobId = await commitBlob(tx, pending);
      await tx.checkpoint.create({ data: { runId: r.id, step: 1, epoch: 1, blobId } });
      return r;
    });
    expect(await db.prisma.$transaction((tx) => deleteUnreferenced(tx, [pending.id]))).toBe(0);
    const deleted = await db.prisma.$transaction(async (tx) => {
      await tx.trainingRun.delete({ where: { id: run.id } });
      return deleteUnreferenced(tx, [pending.id]);
    });
    expect(deleted).toBe(1);
    expect(await db.prisma.blobChunk.count({ where: { blobId: pending.id } })).toBe(0);
  });

  it('refuses archives with unsafe paths and removes a failed upload', async () => {
    const pack = tar.pack();
    pack.entry({ name: '../evil.txt' }, 'x');
    pack.finalize();
    await expect(unpackDir(pack as unknown as AsyncIterable<Buffer>, join(tmp, 'evil'))).rejects.toThrow(ArchiveError);

    const before = await counts();
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(CHUNK_BYTES + 1);
      throw new Error('source broke');
    }
    await expect(putBlob(db.prisma, failing())).rejects.toThrow('source broke');
    expect(await counts()).toEqual(before);
  });
});
