// Temporary files owned by the data dir: <dataDir>/tmp/<pid>-<host>-<random>/, one folder per API process, holds
// what an upload is buffered and unpacked into (graphql-upload's fs-capacitor files: src/server/multipart.ts; a
// dataset zip and its unpacked set: src/resolvers/datasets/dataset-upload.ts). A request removes its own files
// when it ends, failed or not; a process that dies mid-upload (kill -9, OOM, power) leaves them, up to ~6× a
// 200 MiB upload, so every API process sweeps the folder when it starts: the folders of processes of this
// host that are gone, at once, and anything else (another host's, an older layout's) once it is older than the
// longest an upload may take (its HTTP request, then its checks). A live process's folder is never touched.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../db/file-lock.ts';

/** the host part of a folder's name: a short digest, so that any hostname makes a safe file name */
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const OWNED = /^(\d+)-([0-9a-f]{8})-[0-9a-f]+$/;
/** the folders this process opened (several APIs may run in one process: tests) */
const mine = new Set<string>();

export interface ProcessTemp {
  /** this process's folder */
  dir(): string;
  /** what the start-up sweep removed (names under the temp root) */
  swept: readonly string[];
  /** removes this process's folder (at shutdown) */
  remove(): Promise<void>;
}

/**
 * Removes from `root` the folders of this host's dead processes, and any other entry whose last change is older
 * than `maxAgeMs` (except live processes' folders). Returns the names removed.
 */
export async function sweepTemp(root: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const owner = OWNED.exec(name);
    const here = owner !== null && owner[2] === HOST;
    const pid = Number(owner?.[1]);
    // this process's pid on a folder it did not open: a process before a restart had that pid
    if (here && (pid === process.pid ? mine.has(name) : isAlive(pid))) continue;
    // left: a folder of this host whose process is gone; anything else only once it is old
    if (!here) {
      const changed = await stat(join(root, name)).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (changed === undefined || now - changed < maxAgeMs) continue;
    }
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Sweeps `root` (see sweepTemp), then makes this process's folder under it. */
export async function openProcessTemp(root: string, maxAgeMs: number): Promise<ProcessTemp> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const swept = await sweepTemp(root, maxAgeMs);
  const name = `${process.pid}-${HOST}-${randomBytes(6).toString('hex')}`;
  const dir = join(root, name);
  mine.add(name);
  await mkdir(dir, { mode: 0o700 });
  return {
    dir: () => dir,
    swept,
    async remove() {
      await rm(dir, { recursive: true, force: true });
      mine.delete(name);
    },
  };
}
