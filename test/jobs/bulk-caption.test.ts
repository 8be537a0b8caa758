// Bulk captioning end to end over the real API and a real in-process worker: a 200-image synthetic set
// captioned by a tiny model with one mutation (progress streamed over graphql-ws), the results paginated and
// the COCO-style JSON downloaded and parsed; typed errors; cancel; a job that continues after the results a
// dead worker stored; a paused queue that keeps its jobs until resumed; HIGH priority taken before LOW.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { collect, codes, startTestApi, type GraphQLResponse, type TestApi } from '../api/harness.ts';
import { saveTinyModel } from '../cli/tiny-model.ts';
import { until } from '../helpers/until.ts';
import { quietLog } from '../helpers/worker.ts';

let t: TestApi;
let worker: RunningWorker;
let dataDir: string;
let modelId: string;
let datasetId: string;
/** a 12-image set for the queue tests: what they check is the order, not the work */
let smallId: string;

const JOB = 'id status done total failed priority resultsUrl startedAt';
const CAPTION_DATASET = `mutation($input: CaptionDatasetInput!) { captionDataset(input: $input) { ${JOB} } }`;
const jobRow = (id: string) => t.db.prisma.bulkCaptionJob.findUniqueOrThrow({ where: { id } });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-bulk-'));
  t = await startTestApi({ GLIMPSE_DATA_DIR: dataDir });
  const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', GLIMPSE_WORKER_JOBS: 'dataset,bulk-caption' });
  worker = await startWorker({
    config,
    prisma: t.db.prisma,
    queue: t.queue,
    workerId: 'w-bulk',
    pollingIntervalSeconds: 0.5,
    log: quietLog,
  });
  const modelDir = join(dataDir, 'tiny-model');
  await saveTinyModel(modelDir);
  modelId = (await t.db.prisma.model.create({ data: { name: 'tiny', path: modelDir, vocabSize: 10, config: {} } })).id;
  const created = await t.gql(`mutation { createDataset(input: { name: "bulk", synthetic: { images: 200, seed: 4 } }) { id } }`);
  expect(created.errors).toBeUndefined();
  datasetId = created.data!.createDataset.id;
  const small = await t.gql(`mutation { createDataset(input: { name: "small", synthetic: { images: 12, seed: 5 } }) { id } }`);
  smallId = small.data!.createDataset.id;
  await until(
    () => t.db.prisma.dataset.findMany({ where: { id: { in: [datasetId, smallId] } } }),
    (sets) => sets.length === 2 && sets.every((d) => d.status === 'READY'),
  );
}, 120_000);
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('captionDataset', () => {
  it('captions all 200 images as one job: progress streamed, results paginated, COCO JSON downloaded', async () => {
    const res = await t.gql(CAPTION_DATASET, { input: { modelId, datasetId } });
    expect(res.errors).toBeUndefined();
    const job = res.data!.captionDataset;
    expect(job).toMatchObject({ status: 'QUEUED', done: 0, total: 200, priority: 'NORMAL' });
    const progress = collect<{ bulkCaptionProgress: { status: string; done: number } }>(
      t.ws(),
      `subscription($id: ID!) { bulkCaptionProgress(id: $id) { status done total } }`,
      { id: job.id },
    );
    await progress.completed;
    const events = progress.results.map((r) => r.data!.bulkCaptionProgress);
    expect(events.at(-1)).toEqual({ status: 'SUCCEEDED', done: 200, total: 200 });
    // batches of GLIMPSE_CAPTION_BATCH_SIZE (64): progress moved in steps, never backwards
    const done = events.map((e) => e.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(new Set(done).size).toBeGreaterThan(1);

    // every result, page by page, in the dataset's image order
    const seen: { index: number; imageId: string; caption: string | null; logProb: number | null }[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse = await t.gql(
        `query($id: ID!, $after: String) { bulkCaptionResults(jobId: $id, first: 75, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { index imageId fileName caption logProb error } } } }`,
        { id: job.id, after },
      );
      expect(page.errors).toBeUndefined();
      const conn: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: (typeof seen)[number] }[] } =
        page.data!.bulkCaptionResults;
      expect(conn.totalCount).toBe(200);
      seen.push(...conn.edges.map((e) => e.node));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const r of seen) {
      expect(typeof r.caption).toBe('string');
      expect(r.logProb).toBeLessThanOrEqual(0);
    }

    // the download: COCO-style results, one per image, the same captions
    const download = await fetch(new URL(job.resultsUrl, t.api.url));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/application\/json/);
    const coco = (await download.json()) as { image_id: number | string; caption: string }[];
    expect(coco).toHaveLength(200);
    expect(coco.map((c) => c.caption)).toEqual(seen.map((r) => r.caption));
    expect(coco.map((c) => String(c.image_id))).toEqual(seen.map((r) => r.imageId));

    const list = await t.gql(`{ bulkCaptionJobsConnection(first: 5) { totalCount edges { node { id status } } } }`);
    expect(list.data!.bulkCaptionJobsConnection.edges[0].node).toEqual({ id: job.id, status: 'SUCCEEDED' });
  }, 120_000);

  it('refuses unknown references, a dataset not READY and bad settings with typed errors; cancel of an ended job is CONFLICT', async () => {
    const missing = '00000000-0000-0000-0000-000000000000';
    expect(codes(await t.gql(CAPTION_DATASET, { input: { modelId: missing, datasetId } }))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(CAPTION_DATASET, { input: { modelId, datasetId: missing } }))).toEqual(['NOT_FOUND']);
    const pending = await t.db.prisma.dataset.create({ data: { name: 'pending', kind: 'SYNTHETIC', status: 'PENDING' } });
    expect(codes(await t.gql(CAPTION_DATASET, { input: { modelId, datasetId: pending.id } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(CAPTION_DATASET, { input: { modelId, datasetId, method: 'SAMPLE' } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(CAPTION_DATASET, { input: { modelId, datasetId, beamWidth: 1000 } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(`{ bulkCaptionResults(jobId: "${missing}") { totalCount } }`))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(`{ bulkCaptionJob(id: "x") { id } }`))).toEqual(['NOT_FOUND']);
    const ended = await t.db.prisma.bulkCaptionJob.findFirstOrThrow({ where: { status: 'SUCCEEDED' } });
    const cancel = await t.gql(`mutation($id: ID!) { cancelBulkCaption(id: $id) { status } }`, { id: ended.id });
    expect(codes(cancel)).toEqual(['CONFLICT']);
    expect((await fetch(new URL(`/bulk-captions/${missing}/results.json`, t.api.url))).status).toBe(404);
  });

  it('continues after the results a dead worker stored, keeping them', async () => {
    // what a worker that died after two stored results leaves: RUNNING, done 2, its pg-boss job retried
    const job = await t.db.prisma.bulkCaptionJob.create({ data: { modelId, datasetId: smallId, status: 'RUNNING', total: 12, done: 2 } });
    await t.db.prisma.bulkCaptionResult.createMany({
      data: [0, 1].map((index) => ({ jobId: job.id, index, imageId: `kept${index}`, fileName: 'f', caption: 'kept' })),
    });
    await t.db.prisma.$transaction((tx) => t.queue.enqueueBulkCaption(tx, { jobId: job.id }, 'NORMAL'));
    const ended = await until(
      () => jobRow(job.id),
      (j) => j.status === 'SUCCEEDED',
      60_000,
    );
    expect(ended.done).toBe(12);
    const results = await t.db.prisma.bulkCaptionResult.findMany({ where: { jobId: job.id }, orderBy: { index: 'asc' } });
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(results.slice(0, 2).map((r) => r.caption)).toEqual(['kept', 'kept']);
    expect(results[2]!.caption).not.toBe('kept');
  }, 90_000);
});

describe('queue control and priorities', () => {
  it('a paused queue keeps its jobs QUEUED; after resume they run, HIGH before LOW; cancel of a queued job at once', async () => {
    const paused = await t.gql(`mutation { pauseQueue(name: "bulk-caption") { name paused } }`);
    expect(paused.data!.pauseQueue).toEqual({ name: 'bulk-caption', paused: true });
    expect(codes(await t.gql(`mutation { pauseQueue(name: "nope") { name } }`))).toEqual(['BAD_USER_INPUT']);
    // the worker reads the pause within its polling interval (0.5 s)
    await new Promise((r) => setTimeout(r, 1500));
    const start = async (priority: string) =>
      (await t.gql(CAPTION_DATASET, { input: { modelId, datasetId: smallId, priority } })).data!.captionDataset;
    const low = await start('LOW');
    const high = await start('HIGH');
    const doomed = await start('NORMAL');
    const queues = await t.gql(`{ queues { name paused depth } }`);
    expect(queues.data!.queues).toContainEqual({ name: 'bulk-caption', paused: true, depth: 3 });
    await new Promise((r) => setTimeout(r, 2000));
    for (const id of [low.id, high.id, doomed.id]) expect(await jobRow(id)).toMatchObject({ status: 'QUEUED', done: 0 });
    const cancelled = await t.gql(`mutation($id: ID!) { cancelBulkCaption(id: $id) { status } }`, { id: doomed.id });
    expect(cancelled.data!.cancelBulkCaption.status).toBe('CANCELLED');

    expect((await t.gql(`mutation { resumeQueue(name: "bulk-caption") { paused } }`)).data!.resumeQueue.paused).toBe(false);
    const [l, h] = await Promise.all(
      [low.id, high.id].map((id) =>
        until(
          () => jobRow(id),
          (j) => j.status === 'SUCCEEDED',
          90_000,
        ),
      ),
    );
    expect(h!.startedAt!.getTime()).toBeLessThan(l!.startedAt!.getTime());
    expect((await jobRow(doomed.id)).done).toBe(0);
  }, 120_000);
});
