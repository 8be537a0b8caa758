// One owner per data dir: `npm start` (and any process that runs the embedded Postgres) holds
// <dataDir>/glimpse.lock, a file naming its pid, host and start time, created exclusively. A second
// process finds it and refuses with DataDirInUseError before it touches Postgres. A lock whose
// holder is gone (same host, pid no longer alive) is taken over; one from another host is never
// guessed stale: the error tells to delete the file once that holder is known to be stopped.
import { mkdirSync, unlinkSync, readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './file-lock.ts';

export const LOCK_FILE = 'glimpse.lock';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data dir is in use by pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt}); ` +
        `stop it first, or set GLIMPSE_DATA_DIR to another folder (lock file ${lockPath})`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  path: string;
  release(): Promise<void>;
}

function parse(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

export async function lockDataDir(dataDir: string, command = process.argv.slice(1).join(' ')): Promise<DataDirLock> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  const mine = JSON.stringify(me);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(mine);
      await handle.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = parse(await readFile(path, 'utf8').catch(() => ''));
    const stale =
      holder === undefined // torn write of a holder that died at once (or garbage): take it over
        ? attempt > 0
        : holder.host === me.host && (holder.pid === process.pid || !isAlive(holder.pid));
    if (holder !== undefined && !stale) throw new DataDirInUseError(path, holder);
    if (stale) await unlink(path).catch(() => undefined);
    else await new Promise((r) => setTimeout(r, 200)); // a holder between create and write
  }
  const ours = () => readFileSync(path, 'utf8') === mine;
  // last resort when the process exits without release(): never delete another holder's file
  const onExit = () => {
    try {
      if (ours()) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', onExit);
  return {
    path,
    async release() {
      process.off('exit', onExit);
      onExit();
    },
  };
}
