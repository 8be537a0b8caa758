// The worker's side of admission, against a real Postgres, queue and training: a READY dataset carries
// its caption statistics; a run whose exact sizes exceed the worker's memory budget FAILS at once with
// the reason (nothing is built); a run whose loss explodes (learning rate 1) FAILS as diverged instead
// of ending SUCCEEDED; and the same worker then trains the next run to SUCCEEDED.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Prisma } from '../../src/db/client.ts';
import { createQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

const quiet = { info: () => {}, error: () => {} };
const TINY = {
  epochs: 2,
  batchSize: 8,
  learningRate: 0.003,
  embeddingDim: 16,
  units: 32,
  vocabSize: 50,
  maxLength: null,
  seed: 3,
  valFraction: 0.1,
  checkpointEvery: 0,
  imageSize: 32,
  channels: [8, 16],
};

let db: TestDatabase;
let queue: JobQueue;
let worker: RunningWorker;
let dataDir: string;
let datasetId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-admission-'));
  db = await createTestDatabase();
  queue = await createQueue(db.url);
  await queue.start();
  const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', GLIMPSE_WORKER_MAX_MEMORY: '256MiB' });
  worker = await startWorker({ config, prisma: db.prisma, queue, workerId: 'w-admission', pollingIntervalSeconds: 0.5, log: quiet });
  datasetId = await db.prisma.$transaction(async (tx) => {
    const row = await tx.dataset.create({ data: { name: 'shapes', kind: 'SYNTHETIC', syntheticImages: 24, syntheticSeed: 4 } });
    await queue.enqueueDataset(tx, { datasetId: row.id });
    return row.id;
  });
});
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await queue?.stop();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const runRow = (id: string) => db.prisma.trainingRun.findUniqueOrThrow({ where: { id } });
const finished = (id: string) =>
  until(
    () => runRow(id),
    (r) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status),
    120_000,
  );

function startRun(config: Prisma.InputJsonObject): Promise<string> {
  return db.prisma.$transaction(async (tx) => {
    const run = await tx.trainingRun.create({ data: { datasetId, config } });
    await queue.enqueueTraining(tx, { runId: run.id });
    return run.id;
  });
}

describe('worker admission', () => {
  it('stores the caption statistics of a READY dataset', async () => {
    const ready = await until(
      () => db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status !== 'PENDING',
    );
    expect(ready.status).toBe('READY');
    expect(ready.vocabularyWords).toBeGreaterThan(5);
    expect(ready.vocabularyWords).toBeLessThan(50);
    expect(ready.maxCaptionTokens).toBeGreaterThan(4);
  });

  it('fails a run over its memory budget before building anything, with the reason', async () => {
    const runId = await startRun({ ...TINY, units: 1024, embeddingDim: 512, batchSize: 64 });
    const run = await finished(runId);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/needs about .* over this worker's budget of 256 MiB \(GLIMPSE_WORKER_MAX_MEMORY\)/);
    expect(await db.prisma.lossPoint.count({ where: { runId } })).toBe(0);
  });

  it('fails a run whose loss explodes as diverged, not SUCCEEDED', async () => {
    const runId = await startRun({ ...TINY, epochs: 6, learningRate: 1, units: 64, embeddingDim: 32 });
    const run = await finished(runId);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/loss (diverged|became)/);
    expect(run.error).toMatch(/lower the learning rate/);
    expect(await db.prisma.model.count({ where: { runId } })).toBe(0);
  });

  it('then trains the next run on the same worker to SUCCEEDED', async () => {
    const run = await finished(await startRun(TINY));
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
  });
});
