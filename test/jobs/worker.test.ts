// The worker against a real Postgres and queue, no API: datasets (synthetic, a COCO set with a missing
// image), training with encoder overrides, cancel at a batch boundary and resume from the checkpoint,
// caption requests decoded together per model, an unreadable image failing only its request, the
// Worker row, the captioner cache, and the training series of the worker's metrics (src/jobs/metrics.ts).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { Prisma } from '../../src/db/client.ts';
import { captionJob } from '../../src/jobs/caption.job.ts';
import { CaptionerCache } from '../../src/jobs/captioner-cache.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { reapStaleRuns } from '../../src/queue/reaper.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { artifactCacheCounts } from '../../src/jobs/artifacts.ts';
import { createWorkerMetrics } from '../../src/jobs/metrics.ts';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { countOf, sampleValue } from '../helpers/metrics.ts';
import { loadCaptioner } from '../../src/ml/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { TINY_RUN as TINY } from '../helpers/worker.ts';

const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

let db: TestDatabase;
let queue: JobQueue;
let worker: RunningWorker;
let dataDir: string;
const metrics = createWorkerMetrics({ maxModels: 5, cacheCounts: artifactCacheCounts });
const scrape = async () => parsePrometheusTextFormat(await metrics.registry.metrics());

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-worker-'));
  db = await createTestDatabase();
  queue = await createQueue(db.url);
  await queue.start();
  const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1' });
  worker = await startWorker({ config, prisma: db.prisma, queue, workerId: 'w-test', pollingIntervalSeconds: 0.5, log: quiet, metrics });
});
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await queue?.stop();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const datasetRow = (id: string) => db.prisma.dataset.findUniqueOrThrow({ where: { id } });
const runRow = (id: string) => db.prisma.trainingRun.findUniqueOrThrow({ where: { id } });
const steps = async (runId: string) =>
  (await db.prisma.lossPoint.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map((p) => p.step);
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function createDataset(data: Parameters<typeof db.prisma.dataset.create>[0]['data']): Promise<string> {
  return db.prisma.$transaction(async (tx) => {
    const row = await tx.dataset.create({ data });
    await queue.enqueueDataset(tx, { datasetId: row.id });
    return row.id;
  });
}

async function startRun(datasetId: string, config: Prisma.InputJsonObject): Promise<string> {
  return db.prisma.$transaction(async (tx) => {
    const run = await tx.trainingRun.create({ data: { datasetId, config } });
    await queue.enqueueTraining(tx, { runId: run.id });
    return run.id;
  });
}

async function requestCaptions(modelId: string, images: Buffer[]): Promise<string[]> {
  return db.prisma.$transaction(async (tx) => {
    const ids: string[] = [];
    for (const bytes of images) {
      const r = await tx.captionRequest.create({ data: { modelId, imageHash: `h${ids.length}`, imageBytes: new Uint8Array(bytes) } });
      await queue.enqueueCaption(tx, { requestId: r.id, modelId });
      ids.push(r.id);
    }
    return ids;
  });
}

const finished = (ids: string[]) =>
  until(
    () => db.prisma.captionRequest.findMany({ where: { id: { in: ids } }, include: { tokens: { orderBy: { index: 'asc' } } } }),
    (rows) => rows.length === ids.length && rows.every((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED'),
  ).then((rows) => ids.map((id) => rows.find((r) => r.id === id)!));

/** a caption's stored tokens: indices 0, 1, …, each with the 8×8 grid's attention, spelling the caption */
function expectStoredInOrder(r: { caption: string | null; tokens: { index: number; token: string; attention: number[] }[] }): void {
  expect(r.tokens.map((t) => t.index)).toEqual(r.tokens.map((_, i) => i));
  expect(r.tokens.every((t) => t.attention.length === 64)).toBe(true);
  expect(r.caption).toBe(
    r.tokens
      .map((t) => t.token)
      .filter((w) => !/^<.*>$/.test(w))
      .join(' '),
  );
}

describe('worker', () => {
  let datasetId: string;
  let modelId: string;
  let modelPath: string;
  let pngs: Buffer[];

  it('registers itself in the Worker table with its backend', async () => {
    const row = await db.prisma.worker.findUniqueOrThrow({ where: { id: 'w-test' } });
    expect(row).toMatchObject({ pid: process.pid, backend: expect.any(String) });
    expect(row.threads).toBeGreaterThan(0);
    const before = row.lastSeenAt.getTime();
    await until(
      () => db.prisma.worker.findUniqueOrThrow({ where: { id: 'w-test' } }),
      (w) => w.lastSeenAt.getTime() > before,
      5000,
    );
  });

  it('generates a synthetic dataset; a COCO set with a missing image is FAILED with the reason', async () => {
    datasetId = await createDataset({ name: 'shapes', kind: 'SYNTHETIC', syntheticImages: 16, syntheticSeed: 2 });
    const cocoDir = join(dataDir, 'coco');
    await mkdir(join(cocoDir, 'images'), { recursive: true });
    const annotations = { images: [{ id: 1, file_name: 'gone.jpg' }], annotations: [{ image_id: 1, caption: 'a thing' }] };
    await writeFile(join(cocoDir, 'captions.json'), JSON.stringify(annotations));
    const cocoId = await createDataset({
      name: 'coco',
      kind: 'COCO',
      annotationsPath: join(cocoDir, 'captions.json'),
      imagesDir: join(cocoDir, 'images'),
    });

    const ready = await until(
      () => datasetRow(datasetId),
      (d) => d.status !== 'PENDING',
    );
    // a generated set goes to the artifact store; this worker keeps it unpacked in its cache
    expect(ready).toMatchObject({
      status: 'READY',
      imageCount: 16,
      captionCount: 80,
      imagesDir: null,
      blobId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const failed = await until(
      () => datasetRow(cocoId),
      (d) => d.status !== 'PENDING',
    );
    expect(failed.status).toBe('FAILED');
    // Dataset.error is public: the reason without file names or paths (the worker log has them)
    expect(failed.error).toBe('1 image file(s) listed in the annotations do not exist (MISSING_IMAGE)');
    const dir = join(dataDir, 'cache', ready.blobId!, 'images');
    pngs = await Promise.all((await readdir(dir)).slice(0, 4).map((f) => readFile(join(dir, f))));
  });

  it('trains with imageSize/channels overrides and saves a Model linked to the run', async () => {
    const before = await scrape();
    const runId = await startRun(datasetId, TINY);
    const run = await until(
      () => runRow(runId),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    expect(run.error).toBeNull();
    expect(run).toMatchObject({ status: 'SUCCEEDED', workerId: 'w-test', heartbeatAt: null });
    expect(await steps(runId)).toEqual(oneTo(run.totalSteps!));
    // one step counted per stored step, one epoch time per epoch, the speed of the last step
    const after = await scrape();
    expect(sampleValue(after, 'glimpse_training_steps_total') - sampleValue(before, 'glimpse_training_steps_total')).toBe(run.totalSteps);
    expect(countOf(after, 'glimpse_training_epoch_duration_seconds') - countOf(before, 'glimpse_training_epoch_duration_seconds')).toBe(
      TINY.epochs,
    );
    expect(sampleValue(after, 'glimpse_training_examples_per_second')).toBeGreaterThan(0);
    const model = await db.prisma.model.findUniqueOrThrow({ where: { runId } });
    expect(model.config).toMatchObject({ encoder: { kind: 'cnn', imageSize: 32, channels: [8, 16] }, units: 32, embeddingDim: 16 });
    expect(model.metrics).toMatchObject({ valLoss: expect.any(Number), bleu4: expect.any(Number) });
    // the model is a blob in the artifact store; the folder this worker wrote is its cache entry
    expect(model.path).toBeNull();
    modelId = model.id;
    modelPath = join(dataDir, 'cache', model.blobId!);
  });

  it("warm-starts a run from that model's weights (initFrom) and says why it stopped; a deleted parent fails the run", async () => {
    const parentFirstLoss = (
      await db.prisma.lossPoint.findFirstOrThrow({ where: { run: { model: { id: modelId } } }, orderBy: { step: 'asc' } })
    ).loss;
    const create = (config: Prisma.InputJsonObject, parentModelId: string | null) =>
      db.prisma.$transaction(async (tx) => {
        const run = await tx.trainingRun.create({ data: { datasetId, config, parentModelId } });
        await queue.enqueueTraining(tx, { runId: run.id });
        return run.id;
      });
    const runId = await create({ ...TINY, epochs: 1, initFrom: modelId }, modelId);
    const run = await until(
      () => runRow(runId),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    expect(run.error).toBeNull();
    expect(run).toMatchObject({ status: 'SUCCEEDED', parentModelId: modelId, stopReason: 'all 1 epoch' });
    // its first batch already has the parent's weights: far below the parent's own first loss (random weights)
    const firstLoss = (await db.prisma.lossPoint.findUniqueOrThrow({ where: { runId_step: { runId, step: 1 } } })).loss;
    expect(firstLoss).toBeLessThan(parentFirstLoss * 0.8);
    const child = await db.prisma.model.findUniqueOrThrow({ where: { runId } });
    expect(child.config).toMatchObject({ encoder: { kind: 'cnn', imageSize: 32, channels: [8, 16] }, units: 32, embeddingDim: 16 });

    const orphan = await create({ ...TINY, epochs: 1, initFrom: 'a-deleted-model' }, null);
    const failed = await until(
      () => runRow(orphan),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/model a-deleted-model, which the run starts from \(initFrom\), was deleted/);
  });

  it('cancels at a batch boundary with a checkpoint, then resumes from it without repeating a step', async () => {
    const runId = await startRun(datasetId, { ...TINY, epochs: 4, seed: 9 });
    await until(
      () => steps(runId),
      (s) => s.length >= 3,
    );
    await db.prisma.trainingRun.update({ where: { id: runId }, data: { cancelRequested: true } });
    const cancelled = await until(
      () => runRow(runId),
      (r) => r.status !== 'RUNNING',
    );
    expect(cancelled).toMatchObject({ status: 'CANCELLED', workerId: 'w-test', heartbeatAt: null });
    expect(cancelled.step).toBeLessThan(cancelled.totalSteps!);
    const ck = await db.prisma.checkpoint.findFirstOrThrow({ where: { runId }, orderBy: { step: 'desc' } });
    expect(ck.step).toBe(cancelled.step);

    // what resumeTraining does
    await db.prisma.$transaction(async (tx) => {
      await tx.trainingRun.update({ where: { id: runId }, data: { status: 'QUEUED', cancelRequested: false, finishedAt: null } });
      await queue.enqueueTraining(tx, { runId });
    });
    const done = await until(
      () => runRow(runId),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(await steps(runId)).toEqual(oneTo(done.totalSteps!));
    expect(await db.prisma.epochSummary.count({ where: { runId } })).toBe(4);
  });

  it('decodes the pending requests of a model together, streaming tokens from index 0', async () => {
    const ids = await requestCaptions(modelId, pngs.slice(0, 3));
    const rows = await finished(ids);
    for (const r of rows) {
      expect(r.status).toBe('SUCCEEDED');
      expect(r.timings).toMatchObject({ batchSize: 3 });
      expect(r.gridSize).toBe(8);
      expectStoredInOrder(r);
      expect(r.imageBytes).toBeNull(); // retention: the image goes when the caption is done
    }
  });

  it('decodes requests queued while it decodes (fetched by the running handler) and completes every job', async () => {
    const first = await requestCaptions(modelId, pngs.slice(0, 3));
    const later = await requestCaptions(modelId, pngs.slice(0, 3));
    const rows = await finished([...first, ...later]);
    expect(rows.map((r) => [r.status, r.error])).toEqual(Array(6).fill(['SUCCEEDED', null]));
    // every job settled by the handler (a job left active would be decoded again after its expiry)
    const states = await until(
      () =>
        db.prisma.$queryRawUnsafe<{ state: string }[]>(
          `SELECT state::text FROM pgboss.job WHERE name = 'caption' AND data->>'requestId' = ANY($1::text[])`,
          [...first, ...later],
        ),
      (r) => r.length === 6 && r.every((j) => j.state === 'completed'),
    );
    expect(states).toHaveLength(6);
  });

  it('stores every token of a beam search (announced at the end) once, from index 0', async () => {
    const ids = await db.prisma.$transaction(async (tx) => {
      const made: string[] = [];
      for (const bytes of pngs.slice(0, 2)) {
        const r = await tx.captionRequest.create({
          data: { modelId, imageHash: `beam${made.length}`, imageBytes: new Uint8Array(bytes), method: 'BEAM', beamWidth: 3 },
        });
        await queue.enqueueCaption(tx, { requestId: r.id, modelId });
        made.push(r.id);
      }
      return made;
    });
    for (const r of await finished(ids)) {
      expect(r.status).toBe('SUCCEEDED');
      expect(r.tokens.length).toBeGreaterThan(0);
      expectStoredInOrder(r);
    }
  });

  it('fails only the request whose image cannot be decoded, with the image error', async () => {
    const broken = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(40, 1)]);
    const [good, bad] = await finished(await requestCaptions(modelId, [pngs[3]!, broken]));
    expect(good!.status).toBe('SUCCEEDED');
    expect(good!.caption).toBeTruthy();
    expect(bad!.status).toBe('FAILED');
    expect(bad!.error).toMatch(/image/i);
    expect(bad!.tokens).toEqual([]);
    expect(bad!.imageBytes).toBeNull(); // … or has failed
  });

  it('keeps the images of ended requests with GLIMPSE_KEEP_CAPTION_IMAGES=true', async () => {
    const keep = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_KEEP_CAPTION_IMAGES: 'true' });
    const broken = Buffer.from('not an image at all');
    const rows = await db.prisma.$transaction((tx) =>
      Promise.all(
        [pngs[0]!, broken].map((bytes, i) =>
          tx.captionRequest.create({ data: { modelId, imageHash: `keep${i}`, imageBytes: new Uint8Array(bytes) } }),
        ),
      ),
    );
    const captioners = new CaptionerCache(1);
    await captionJob(
      rows.map((r) => ({ requestId: r.id, modelId })),
      {
        config: keep,
        prisma: db.prisma,
        queue,
        workerId: 'w-keep',
        log: quiet,
        shutdown: new AbortController().signal,
        captioners,
      },
    );
    await captioners.clear();
    const [good, bad] = await finished(rows.map((r) => r.id));
    expect([good!.status, bad!.status]).toEqual(['SUCCEEDED', 'FAILED']);
    expect(Buffer.from(good!.imageBytes!)).toEqual(pngs[0]);
    expect(Buffer.from(bad!.imageBytes!)).toEqual(broken);
  });

  it('keeps a bounded number of captioners, disposing the least recently used', async () => {
    const disposed: string[] = [];
    const cache = new CaptionerCache(2, async (dir) => {
      const c = await loadCaptioner(dir);
      return { ...c, dispose: () => (disposed.push(dir), c.dispose()) };
    });
    const a = await cache.get('a', modelPath);
    await cache.get('b', modelPath);
    expect(await cache.get('a', modelPath)).toBe(a); // reused, and now most recent
    await cache.get('c', modelPath); // evicts b
    await new Promise((r) => setImmediate(r));
    expect(disposed).toHaveLength(1);
    expect(cache.size).toBe(2);
    const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#3060c0' } })
      .png()
      .toBuffer();
    expect((await a.caption(png)).tokens.length).toBeGreaterThan(0);
    await cache.clear();
    expect(disposed).toHaveLength(3);
  });

  it("leaves a worker's own late runs to it and takes back another's", async () => {
    const stale = new Date(Date.now() - 60_000);
    const stuck = (workerId: string) =>
      db.prisma.trainingRun.create({
        // a pending cancel: the reaped run ends CANCELLED instead of being queued for this worker
        data: { datasetId, config: TINY, status: 'RUNNING', workerId, heartbeatAt: stale, cancelRequested: true },
      });
    const mine = await stuck('w-busy');
    const dead = await stuck('w-dead');
    const reaped = await reapStaleRuns(db.prisma, queue, { heartbeatSeconds: 1, ownWorkerId: 'w-busy' });
    expect(reaped).toEqual([{ id: dead.id, status: 'CANCELLED' }]);
    expect((await runRow(mine.id)).status).toBe('RUNNING');
    await db.prisma.trainingRun.update({ where: { id: mine.id }, data: { status: 'CANCELLED' } });
  });

  it('removes its Worker row on a graceful stop', async () => {
    await worker.stop({ graceful: true });
    expect(await db.prisma.worker.count({ where: { id: 'w-test' } })).toBe(0);
  });
});
