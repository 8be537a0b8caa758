// The job queue on the app database: enqueued inside the caller's transaction, caption batches and
// their retry, a burst drained batch after batch, jobs split between workers, the queues' policies. Waits are polled conditions
// (test/helpers/until.ts) with generous limits: they decide nothing but "it never happened".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue, datasetExpirySeconds, type Job, type JobQueue } from '../../src/queue/queue.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until as poll } from '../helpers/until.ts';

const until = (condition: () => boolean, timeoutMs = 30_000) =>
  poll(
    async () => condition(),
    (done) => done,
    timeoutMs,
    20,
  );

describe('job queue (pg-boss on the app database)', () => {
  let db: TestDatabase;
  let api: JobQueue;
  beforeAll(async () => {
    db = await createTestDatabase();
    api = await createQueue(db.url, { max: 2 });
    await api.start();
  });
  afterAll(async () => {
    await api?.stop({ graceful: false });
    await db?.drop();
  });

  async function newDataset(name: string) {
    return db.prisma.dataset.create({ data: { name, kind: 'SYNTHETIC' } });
  }

  it('enqueues in the caller transaction: rollback leaves no job, commit leaves one', async () => {
    const dataset = await newDataset('queue-tx');
    await expect(
      db.prisma.$transaction(async (tx) => {
        const run = await tx.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
        await api.enqueueTraining(tx, { runId: run.id });
        throw new Error('validation failed after enqueue');
      }),
    ).rejects.toThrow('validation failed');
    expect(await db.prisma.trainingRun.count({ where: { datasetId: dataset.id } })).toBe(0);
    expect(await api.depth()).toEqual({ training: 0, caption: 0, dataset: 0, evaluation: 0, 'bulk-caption': 0 });

    const run = await db.prisma.$transaction(async (tx) => {
      const created = await tx.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
      await api.enqueueTraining(tx, { runId: created.id });
      return created;
    });
    expect(await api.depth()).toEqual({ training: 1, caption: 0, dataset: 0, evaluation: 0, 'bulk-caption': 0 });

    const worker = await createQueue(db.url, { max: 2 });
    await worker.start();
    try {
      const received: Job<'training'>[] = [];
      await worker.work('training', { pollingIntervalSeconds: 0.5 }, async (jobs) => {
        received.push(...jobs);
      });
      await until(() => received.length === 1);
      expect(received[0]!.data).toEqual({ runId: run.id });
      expect(received[0]!.name).toBe('training');
      expect(await api.depth()).toEqual({ training: 0, caption: 0, dataset: 0, evaluation: 0, 'bulk-caption': 0 });
    } finally {
      await worker.stop();
    }
  });

  it('hands caption requests to a worker in batches and retries a failed batch', async () => {
    const dataset = await newDataset('queue-captions');
    const run = await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
    const model = await db.prisma.model.create({
      data: { name: 'm', runId: run.id, path: '/m', vocabSize: 10, config: {} },
    });
    const ids = await db.prisma.$transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const req = await tx.captionRequest.create({ data: { modelId: model.id, imageHash: `h${i}` } });
        await api.enqueueCaption(tx, { requestId: req.id, modelId: model.id });
        out.push(req.id);
      }
      return out;
    });
    expect((await api.depth()).caption).toBe(3);

    const worker = await createQueue(db.url, { max: 2 });
    await worker.start();
    try {
      const batches: string[][] = [];
      await worker.work('caption', { batchSize: 8, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        batches.push(jobs.map((j) => j.data.requestId));
        if (batches.length === 1) throw new Error('decoder crashed');
        expect(jobs.every((j) => j.data.modelId === model.id)).toBe(true);
      });
      await until(() => batches.length >= 2);
      expect(batches[0]!.sort()).toEqual([...ids].sort()); // all three in one batch
      expect(batches[1]!.sort()).toEqual([...ids].sort()); // retried after the failure
      await until(() => batches.length === 2);
      expect(await api.depth()).toEqual({ training: 0, caption: 0, dataset: 0, evaluation: 0, 'bulk-caption': 0 });
    } finally {
      await worker.stop();
    }
  });

  it('drains a burst in full batches back to back, not one batch per polling interval', async () => {
    const model = await db.prisma.model.create({ data: { name: 'burst', path: '/b', vocabSize: 10, config: {} } });
    await db.prisma.$transaction(async (tx) => {
      for (let i = 0; i < 10; i++) {
        const req = await tx.captionRequest.create({ data: { modelId: model.id, imageHash: `b${i}` } });
        await api.enqueueCaption(tx, { requestId: req.id, modelId: model.id });
      }
    });
    // no wake-ups and a 60 s tick: only the refetch after a full batch can take the rest within the wait
    const worker = await createQueue(db.url, { max: 2, wakeOnNotify: false });
    await worker.start();
    try {
      const batches: number[] = [];
      await worker.work('caption', { batchSize: 4, pollingIntervalSeconds: 60 }, async (jobs) => {
        batches.push(jobs.length);
      });
      await until(() => batches.reduce((a, b) => a + b, 0) === 10, 20_000);
      expect(batches).toEqual([4, 4, 2]);
    } finally {
      await worker.stop({ graceful: false });
    }
  });

  it('lets a running handler take the jobs queued meanwhile and settle them itself, none once its work stops', async () => {
    const model = await db.prisma.model.create({ data: { name: 'more', path: '/more', vocabSize: 10, config: {} } });
    const enqueue = (n: number, tag: string) =>
      db.prisma.$transaction(async (tx) => {
        for (let i = 0; i < n; i++) {
          const req = await tx.captionRequest.create({ data: { modelId: model.id, imageHash: `${tag}${i}` } });
          await api.enqueueCaption(tx, { requestId: req.id, modelId: model.id });
        }
      });
    await enqueue(3, 'more');
    const worker = await createQueue(db.url, { max: 2, wakeOnNotify: false });
    await worker.start();
    try {
      const seen: number[] = [];
      let afterStop: number | undefined;
      await worker.work('caption', { batchSize: 2, pollingIntervalSeconds: 60 }, async (jobs, context) => {
        if (seen.length > 0) return;
        seen.push(jobs.length);
        const more = await context.more(5);
        seen.push(more.length);
        await context.complete([more[0]!.id]);
        expect((await api.depth()).caption).toBe(0); // the handler's own two are active until it returns
        await context.fail([more[0]!.id], new Error('already completed: no effect'));
        await worker.offWork('caption');
        await enqueue(1, 'late');
        afterStop = (await context.more(5)).length;
      });
      await until(() => afterStop !== undefined);
      expect(seen).toEqual([2, 1]);
      expect(afterStop).toBe(0);
      expect((await api.depth()).caption).toBe(1); // the late job waits for a worker
    } finally {
      await worker.stop({ graceful: false });
    }
  });

  it('splits jobs between two workers, each job handled once', async () => {
    const dataset = await newDataset('queue-split');
    const ids = await db.prisma.$transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 6; i++) {
        const run = await tx.trainingRun.create({ data: { datasetId: dataset.id, config: { i } } });
        out.push(await api.enqueueTraining(tx, { runId: run.id }));
      }
      return out;
    });
    const workers = await Promise.all([createQueue(db.url, { max: 2 }), createQueue(db.url, { max: 2 })]);
    const handled = new Map<string, number[]>();
    const tookOne = [false, false];
    try {
      await Promise.all(
        workers.map(async (w, index) => {
          await w.start();
          await w.work('training', { pollingIntervalSeconds: 0.5 }, async ([job]) => {
            handled.set(job!.data.runId, [...(handled.get(job!.data.runId) ?? []), index]);
            tookOne[index] = true;
            // each worker's first job waits until the other worker holds one too: while a worker is busy
            // the other fetches the next job (with one worker only, this never ends and the test fails)
            await until(() => tookOne[0] && tookOne[1]);
          });
        }),
      );
      await until(() => handled.size === 6);
      // every job completed: none can be handed out again, so the count per job is final
      await poll(
        async () =>
          (
            await db.prisma.$queryRawUnsafe<{ n: number }[]>(
              `SELECT count(*)::int AS n FROM pgboss.job WHERE id::text = ANY($1) AND state = 'completed'`,
              ids,
            )
          )[0]!.n,
        (n) => n === 6,
        30_000,
        20,
      );
      expect([...handled.values()].every((by) => by.length === 1)).toBe(true);
      const perWorker = [0, 1].map((i) => [...handled.values()].filter((by) => by[0] === i).length);
      expect(perWorker[0]).toBeGreaterThan(0);
      expect(perWorker[1]).toBeGreaterThan(0);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });

  it('creates the queues with their retry and expiry policies', async () => {
    const queues = await db.prisma.$queryRaw<{ name: string; retry_limit: number; expire_seconds: number; retention_minutes: number }[]>`
      SELECT name, retry_limit, expire_seconds, retention_minutes FROM pgboss.queue ORDER BY name`;
    expect(queues).toEqual([
      { name: 'bulk-caption', retry_limit: 5, expire_seconds: 900, retention_minutes: 10080 },
      { name: 'caption', retry_limit: 2, expire_seconds: 120, retention_minutes: 1440 },
      { name: 'dataset', retry_limit: 1, expire_seconds: 900, retention_minutes: 10080 },
      { name: 'evaluation', retry_limit: 0, expire_seconds: 82800, retention_minutes: 10080 },
      { name: 'training', retry_limit: 0, expire_seconds: 82800, retention_minutes: 10080 },
    ]);
  });

  it("sizes a dataset job's expiry by its work: a dead worker's small set is retried within minutes", async () => {
    const ids = await db.prisma.$transaction(async (tx) => [
      await api.enqueueDataset(tx, { datasetId: 'coco-set' }),
      await api.enqueueDataset(tx, { datasetId: 'small-synthetic', images: 600 }),
      await api.enqueueDataset(tx, { datasetId: 'large-synthetic', images: 100_000 }),
    ]);
    const rows = await db.prisma.$queryRawUnsafe<{ id: string; expire: number }[]>(
      `SELECT id::text, EXTRACT(EPOCH FROM expire_in)::int AS expire FROM pgboss.job WHERE id::text = ANY($1)`,
      ids,
    );
    const expiry = Object.fromEntries(rows.map((r) => [r.id, r.expire]));
    expect(ids.map((id) => expiry[id])).toEqual([900, 132, 2120]);
    expect(datasetExpirySeconds(10_000_000)).toBe(23 * 3600); // pg-boss's ceiling
  });

  it('refuses to enqueue before start()', async () => {
    const q = await createQueue(db.url);
    await expect(db.prisma.$transaction((tx) => q.enqueueTraining(tx, { runId: 'x' }))).rejects.toMatchObject({
      code: 'QUEUE_NOT_STARTED',
    });
  });
});
