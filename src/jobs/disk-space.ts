// A full disk is a transient worker fault, like a lost database: a training run whose write failed with ENOSPC
// (a checkpoint, the artifact cache, the model) is handed back to the queue — never FAILED — and resumes from its
// last stored checkpoint once there is space (src/jobs/train-run.ts). Each heartbeat the worker measures the free
// space of its data dir's filesystem; below GLIMPSE_MIN_FREE_DISK its disk counts as full: it stops taking training
// jobs until the space is back (src/jobs/worker.ts) and says so on its Worker row (serverInfo, /healthz).
import { statfs } from 'node:fs/promises';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../ml/index.ts';

const CODES = new Set(['ENOSPC', 'EDQUOT']);
const MESSAGES = /ENOSPC|no space left on device|EDQUOT|disk quota exceeded/i;

/** true for an error (or one it wraps) that says the filesystem is out of space or quota */
export function isDiskFull(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  return e.cause !== undefined && isDiskFull(e.cause, depth + 1);
}

/** what the run's row says while it waits for space (no path, no driver words) */
export const DISK_FULL_MESSAGE =
  "handed back: the worker's data disk is full (no space left on device); the run resumes from its last checkpoint once there is space";

/** free bytes for a log line */
export const formatFree = (free: number | null): string => (free === null ? 'unknown' : formatBytes(free));

/** bytes an unprivileged process may still write on the filesystem of `dir` */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export interface DiskState {
  /** free bytes at the last check (null before it, or when it failed) */
  readonly free: number | null;
  /** free < the floor at the last check */
  readonly full: boolean;
  /** measures again */
  check(): Promise<DiskState>;
}

/** The free space of `dir`'s filesystem against `floorBytes` (0: never full). */
export function diskState(dir: string, floorBytes: number): DiskState {
  let free: number | null = null;
  const state: DiskState = {
    get free() {
      return free;
    },
    get full() {
      return free !== null && free < floorBytes;
    },
    async check() {
      free = await freeBytes(dir).catch(() => null);
      return state;
    },
  };
  return state;
}

/** Removes the partial checkpoint folders (`*.tmp`) a failed write left in a run's checkpoint folder; their names. */
export async function removePartialCheckpoints(dir: string): Promise<string[]> {
  const partial = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.tmp'));
  await Promise.all(partial.map((name) => rm(join(dir, name), { recursive: true, force: true })));
  return partial;
}
