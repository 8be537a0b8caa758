// A synthetic dataset's generation reports progress through the row: while PENDING, imageCount
// climbs with the images written (watched by a trigger on every write), then READY with the total.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { datasetJob } from '../../src/jobs/dataset.job.ts';
import type { JobHelpers } from '../../src/jobs/helpers.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let dataDir: string;
let helpers: JobHelpers;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-dataset-progress-'));
  helpers = {
    config: loadConfig({ GLIMPSE_DATA_DIR: dataDir }),
    prisma: db.prisma,
    queue: { enqueueTraining: async () => 'unused' },
    workerId: 'w-progress',
    log: { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) },
    shutdown: new AbortController().signal,
  };
  await db.prisma.$executeRawUnsafe(`CREATE TABLE dataset_log (seq serial PRIMARY KEY, "imageCount" int, status text)`);
  await db.prisma.$executeRawUnsafe(`CREATE FUNCTION log_dataset() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO dataset_log ("imageCount", status) VALUES (NEW."imageCount", NEW.status::text); RETURN NEW; END $$`);
  await db.prisma.$executeRawUnsafe(`CREATE TRIGGER dataset_log AFTER UPDATE ON "Dataset" FOR EACH ROW EXECUTE FUNCTION log_dataset()`);
});
afterAll(async () => {
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('counts the written images on the PENDING row, then stores READY with the total', async () => {
  const dataset = await db.prisma.dataset.create({ data: { name: 'progress', kind: 'SYNTHETIC', syntheticImages: 120, syntheticSeed: 3 } });
  await datasetJob({ datasetId: dataset.id }, helpers, { progressIntervalMs: 0 });
  const log = await db.prisma.$queryRawUnsafe<{ imageCount: number; status: string }[]>(
    `SELECT "imageCount", status FROM dataset_log ORDER BY seq`,
  );
  const pending = log.filter((row) => row.status === 'PENDING').map((row) => row.imageCount);
  expect(pending.length).toBeGreaterThan(10);
  for (let i = 1; i < pending.length; i++) expect(pending[i]).toBeGreaterThan(pending[i - 1]!);
  expect(Math.max(...pending)).toBeLessThan(120); // the total arrives with READY
  expect(log.at(-1)).toEqual({ imageCount: 120, status: 'READY' });
  expect(log.filter((row) => row.status === 'READY')).toHaveLength(1); // no progress write after READY
});

it('writes no progress more often than the interval', async () => {
  await db.prisma.$executeRawUnsafe(`TRUNCATE dataset_log`);
  const dataset = await db.prisma.dataset.create({
    data: { name: 'progress-slow', kind: 'SYNTHETIC', syntheticImages: 60, syntheticSeed: 4 },
  });
  await datasetJob({ datasetId: dataset.id }, helpers, { progressIntervalMs: 60_000 });
  const log = await db.prisma.$queryRawUnsafe<{ imageCount: number; status: string }[]>(
    `SELECT "imageCount", status FROM dataset_log ORDER BY seq`,
  );
  // the first image is reported at once, then nothing for a minute: READY follows
  expect(log).toEqual([
    { imageCount: 1, status: 'PENDING' },
    { imageCount: 60, status: 'READY' },
  ]);
});
