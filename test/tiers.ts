// The test tiers (vitest projects in vitest.config.ts). Every test file runs in exactly one:
//   unit      no database, no child processes, no Chromium, no long training: `npm run test:unit`, under a minute
//   database  a real Postgres (a per-file clone of the migrated template), everything in-process
//   slow      child processes, training runs, Chromium, end to end
// A file listed in SLOW is slow, one in DATABASE is database (no file may match both), any other file is unit:
// a new test file lands in the unit tier unless it is listed here. A file in the wrong tier fails with a
// message that points here: the unit tier refuses a test database (test/helpers/db.ts), and
// test/tiers.test.ts refuses a unit file that reaches child processes or Chromium, a stale entry, an overlap.
// Entries are folders (ending in /) or files, relative to the repository root.

/** child processes, training runs, Chromium, end to end */
export const SLOW = [
  'test/e2e/',
  'test/cli/',
  'test/db/database.test.ts',
  'test/db/instance-lock.test.ts',
  'test/jobs/admission.test.ts',
  // an in-process worker captions a 200-image set several times
  'test/jobs/bulk-caption.test.ts',
  'test/jobs/checkpoint-lease.test.ts',
  'test/jobs/corrupt-blob.test.ts',
  'test/jobs/train-lease.test.ts',
  'test/jobs/worker-roles.test.ts',
  'test/jobs/worker.test.ts',
  'test/ml/backend/native-addon.test.ts',
  // starts busy processes on every CPU to take the cores from the native kernels' threads
  'test/ml/backend/native-core-taken.test.ts',
  // compiles C (node-gyp) twice
  'test/ml/backend/native-build.test.ts',
  // large tensors compared element by element (tens of seconds on 2 cores)
  'test/ml/backend/wasm-slice.test.ts',
  // each trains a model for tens of steps or more before it checks anything
  'test/ml/model/artifacts.test.ts',
  'test/ml/model/beam-batch.test.ts',
  'test/ml/model/best.test.ts',
  'test/ml/model/cache-release.test.ts',
  'test/ml/model/decode.test.ts',
  'test/ml/model/learning.test.ts',
  'test/ml/model/train.test.ts',
  'test/ml/model/warm-start.test.ts',
  'test/queue/queue-reaper.test.ts',
  'test/settings-follow.test.ts',
  'test/storage/memory.test.ts',
] as const;

/** a real Postgres, in-process */
export const DATABASE = [
  'test/api/', // the API over HTTP on a database (test/api/harness.ts); schema.test.ts rides along
  'test/db/migrations.test.ts',
  'test/db/test-database.test.ts',
  'test/events/',
  'test/jobs/artifacts.test.ts',
  'test/jobs/caption-retention.test.ts',
  'test/jobs/caption-writes.test.ts',
  'test/jobs/dataset-progress.test.ts',
  'test/jobs/hand-back.test.ts',
  'test/jobs/train-roots.test.ts',
  'test/queue/demo-dataset.test.ts',
  'test/queue/queue-wake.test.ts',
  'test/queue/queue.test.ts',
  'test/runs/evaluation-writes.test.ts',
  'test/runs/run-writes.test.ts',
  'test/storage/store.test.ts',
] as const;

export type Tier = 'unit' | 'database' | 'slow';
export const TIERS: readonly Tier[] = ['unit', 'database', 'slow'];

/** an entry as a vitest glob: a folder → every test file under it */
export const glob = (entry: string): string => (entry.endsWith('/') ? `${entry}**/*.test.ts` : entry);

/** whether a listed entry (folder or file) covers a test file (a path relative to the repository root) */
export const covers = (entry: string, file: string): boolean => (entry.endsWith('/') ? file.startsWith(entry) : file === entry);

/** the tier of a test file (a path relative to the repository root, with forward slashes) */
export function tierOf(file: string): Tier {
  if (SLOW.some((entry) => covers(entry, file))) return 'slow';
  if (DATABASE.some((entry) => covers(entry, file))) return 'database';
  return 'unit';
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** the tier (vitest project) the test file runs in */
    tier: Tier;
  }
}
