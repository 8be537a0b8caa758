// The worker's side of admission, against a real Postgres, queue and training: a READY dataset carries
// its caption statistics; a run whose exact sizes exceed the worker's memory budget FAILS at once with
// the reason (nothing is built); a run whose loss explodes (learning rate 1) FAILS as diverged instead
// of ending SUCCEEDED; and the same worker then trains the next run to SUCCEEDED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/db/client.ts';
import type { JobQueue } from '../../src/queue/queue.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startTestWorker, TINY_RUN as TINY, type TestWorker } from '../helpers/worker.ts';

let t: TestWorker;
let db: TestDatabase;
let queue: JobQueue;
let datasetId: string;

beforeAll(async () => {
  t = await startTestWorker('w-admission', { GLIMPSE_WORKER_MAX_MEMORY: '256MiB' });
  ({ db, queue } = t);
  datasetId = await db.prisma.$transaction(async (tx) => {
    const row = await tx.dataset.create({ data: { name: 'shapes', kind: 'SYNTHETIC', syntheticImages: 24, syntheticSeed: 4 } });
    await queue.enqueueDataset(tx, { datasetId: row.id });
    return row.id;
  });
});
afterAll(() => t?.close());

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
