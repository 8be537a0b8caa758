// A worker's local copies of folder blobs: `<root>/<sha256>/…`, unpacked from the store into a
// temporary folder, checked against the hash while streaming, and renamed into place only when the
// whole blob matched (so a folder under its hash is always complete and verified; a corrupt blob
// leaves nothing behind and throws BlobCorruptError). Bounded by `maxBytes`: after each new entry
// the least recently used ones (folder mtime, touched on every use) are removed, except those in use
// (pinned). Deleting the whole cache at any time loses nothing: entries come back from the store.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './blobs.ts';
import { isBlobId } from './blobs.ts';
import { listFiles, unpackBlob } from './dirs.ts';

export interface CachedDir {
  /** the unpacked folder; valid until release() */
  dir: string;
  /** lets the cache evict it again */
  release(): void;
}

interface CacheLog {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await listFiles(dir).catch(() => [])) {
    total += (await stat(join(dir, ...name.split('/'))).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

export class ArtifactCache {
  private readonly pins = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  /** open() calls that found the folder (hits) or had to materialise it (misses), for the worker's metrics */
  readonly counts = { hits: 0, misses: 0 };

  constructor(
    /** the client blobs are read with (replaceable: in-process workers sharing a data dir each have their own) */
    public db: Db,
    readonly root: string,
    readonly maxBytes: number,
    private readonly log?: CacheLog,
  ) {}

  /** the folder of blob `id`, materialised if needed, pinned until release() */
  async open(id: string): Promise<CachedDir> {
    if (!isBlobId(id)) throw new Error(`not a blob id: ${JSON.stringify(id)}`);
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.pins.get(id) ?? 1) - 1;
      if (n <= 0) this.pins.delete(id);
      else this.pins.set(id, n);
    };
    try {
      const dir = join(this.root, id);
      const now = new Date();
      const hit = await utimes(dir, now, now).then(
        () => true,
        () => false,
      );
      this.counts[hit ? 'hits' : 'misses']++;
      if (!hit) await this.materialise(id, dir);
      return { dir, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** runs `fn` with the folder of blob `id`, pinned meanwhile */
  async with<T>(id: string, fn: (dir: string) => Promise<T>): Promise<T> {
    const entry = await this.open(id);
    try {
      return await fn(entry.dir);
    } finally {
      entry.release();
    }
  }

  private materialise(id: string, dir: string): Promise<void> {
    let pending = this.loading.get(id);
    if (!pending) {
      pending = (async () => {
        await mkdir(this.root, { recursive: true });
        const temp = join(this.root, `.tmp-${id.slice(0, 16)}-${randomUUID()}`);
        try {
          await unpackBlob(this.db, id, temp);
          await rm(dir, { recursive: true, force: true });
          await rename(temp, dir);
        } catch (error) {
          await rm(temp, { recursive: true, force: true });
          throw error;
        }
        this.log?.info(`cache: blob ${id.slice(0, 12)} materialised`);
        await this.evict().catch((e: unknown) => this.log?.error('cache: eviction', e));
      })().finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** entries by last use, oldest first, with their sizes */
  async entries(): Promise<{ id: string; bytes: number; usedAt: number }[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: { id: string; bytes: number; usedAt: number }[] = [];
    for (const name of names) {
      if (!isBlobId(name)) continue;
      const dir = join(this.root, name);
      const info = await stat(dir).catch(() => null);
      if (info) out.push({ id: name, bytes: await folderBytes(dir), usedAt: info.mtimeMs });
    }
    return out.sort((a, b) => a.usedAt - b.usedAt);
  }

  /** removes least recently used, unpinned entries until the cache is within maxBytes */
  async evict(): Promise<string[]> {
    const all = await this.entries();
    let total = all.reduce((n, e) => n + e.bytes, 0);
    const evicted: string[] = [];
    for (const e of all) {
      if (total <= this.maxBytes) break;
      if (this.pins.has(e.id) || this.loading.has(e.id)) continue;
      await rm(join(this.root, e.id), { recursive: true, force: true });
      total -= e.bytes;
      evicted.push(e.id);
    }
    if (evicted.length > 0)
      this.log?.info(`cache: evicted ${evicted.length} entr${evicted.length === 1 ? 'y' : 'ies'} (over ${this.maxBytes} bytes)`);
    return evicted;
  }

  /** removes unpacking folders left by a process that died (call before using the cache) */
  async clean(): Promise<void> {
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (name.startsWith('.tmp-')) await rm(join(this.root, name), { recursive: true, force: true });
    }
  }
}
