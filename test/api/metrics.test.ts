// GET /metrics, /livez and /readyz of a real API on a real database, with a real caption worker in-process
// (an untrained tiny model, the cpu backend) whose registry the API merges into its scrape the way
// `npm start` merges its children's (test/e2e/health.test.ts covers the IPC path). Each scrape is parsed
// with parse-prometheus-text-format: one caption moves the caption counters and the batch-size histogram
// by exactly one, the queue depth is the jobs waiting, and 200 client-chosen operation names leave every
// label with a bounded set of values.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { artifactCacheCounts } from '../../src/jobs/artifacts.ts';
import { createWorkerMetrics } from '../../src/jobs/metrics.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { startApi, type RunningApi } from '../../src/server/app.ts';
import { saveTinyModel } from '../cli/tiny-model.ts';
import { countOf, labelValues, samples, scrapeMetrics, sampleValue, type Scrape } from '../helpers/metrics.ts';
import { until } from '../helpers/until.ts';
import { quietLog } from '../helpers/worker.ts';
import { collect, startTestApi, type TestApi } from './harness.ts';

const MAX_NAMES = 10;
let t: TestApi;
let base: string;
let dataDir: string;
let worker: RunningWorker | undefined;
let modelId: string;
let png: string;
const workerMetrics = createWorkerMetrics({ maxModels: 5, cacheCounts: artifactCacheCounts });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-metrics-'));
  await saveTinyModel(join(dataDir, 'model'));
  t = await startTestApi(
    { GLIMPSE_METRICS_MAX_OPERATION_NAMES: String(MAX_NAMES) },
    { metricsSources: [() => workerMetrics.registry.getMetricsAsJSON()] },
  );
  base = t.api.url.replace(/\/graphql$/, '');
  modelId = (await t.db.prisma.model.create({ data: { name: 'tiny', path: join(dataDir, 'model'), vocabSize: 10, config: {} } })).id;
  png = (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .png()
      .toBuffer()
  ).toString('base64');
  const config = loadConfig({
    GLIMPSE_DATA_DIR: dataDir,
    GLIMPSE_BACKEND: 'cpu',
    GLIMPSE_WORKER_JOBS: 'caption',
    GLIMPSE_HEARTBEAT_SECONDS: '1',
  });
  worker = await startWorker({
    config,
    prisma: t.db.prisma,
    queue: t.queue,
    workerId: 'w-metrics',
    pollingIntervalSeconds: 0.5,
    log: quietLog,
    metrics: workerMetrics,
  });
}, 120_000);
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const REQUEST = `mutation RequestCaption($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`;
const requestCaption = async () => (await t.gql(REQUEST, { input: { modelId, imageBase64: png } })).data!.requestCaption.id as string;

describe('/metrics', () => {
  it('one caption request moves the caption counters and the batch-size histogram by exactly one', async () => {
    const before = await scrapeMetrics(base);
    const id = await requestCaption();
    await until(
      () => t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } }),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      60_000,
    );
    // followed over graphql-ws: counted by transport (a subscription is not timed)
    const follow = collect(t.ws(), `subscription Follow($id: ID!) { captionStream(requestId: $id) { done } }`, { id });
    await follow.completed;
    const after = await scrapeMetrics(base);
    const delta = (read: (s: Scrape) => number) => read(after) - read(before);
    expect(delta((s) => sampleValue(s, 'glimpse_caption_requests_total', { model: 'tiny', status: 'succeeded' }))).toBe(1);
    expect(delta((s) => sampleValue(s, 'glimpse_caption_requests_total'))).toBe(1);
    expect(delta((s) => countOf(s, 'glimpse_caption_batch_size'))).toBe(1);
    for (const histogram of ['glimpse_caption_queue_wait_seconds', 'glimpse_caption_decode_seconds', 'glimpse_caption_latency_seconds']) {
      expect(
        delta((s) => countOf(s, histogram)),
        histogram,
      ).toBe(1);
    }
    const mutation = { transport: 'http', type: 'mutation', name: 'RequestCaption' };
    expect(delta((s) => sampleValue(s, 'glimpse_graphql_operations_total', mutation))).toBe(1);
    const subscription = { transport: 'ws', type: 'subscription', name: 'Follow' };
    expect(delta((s) => sampleValue(s, 'glimpse_graphql_operations_total', subscription))).toBe(1);
    expect(samples(after, 'glimpse_graphql_operation_duration_seconds')).not.toEqual([]);
    // the worker's series carry its process label, the API's theirs
    expect(sampleValue(after, 'glimpse_caption_requests_total', { process: 'worker' })).toBe(
      sampleValue(after, 'glimpse_caption_requests_total'),
    );
    expect(sampleValue(after, 'glimpse_workers_live', { role: 'caption' })).toBe(1);
    expect(sampleValue(after, 'glimpse_workers_live', { role: 'training' })).toBe(0);
    expect(sampleValue(after, 'glimpse_database_up')).toBe(1);
    expect(
      samples(after, 'process_cpu_seconds_total')
        .map((s) => s.labels?.process)
        .sort(),
    ).toEqual(['api', 'worker']);
  });

  it('reports the queue depth as the jobs waiting, with the oldest one’s age', async () => {
    await worker!.stop({ graceful: true });
    worker = undefined;
    for (let i = 0; i < 3; i++) await requestCaption();
    await new Promise((r) => setTimeout(r, 50));
    const scrape = await scrapeMetrics(base);
    const waiting = await t.queue.depth();
    expect(waiting.caption).toBe(3);
    expect(sampleValue(scrape, 'glimpse_queue_depth', { queue: 'caption' })).toBe(waiting.caption);
    expect(sampleValue(scrape, 'glimpse_queue_depth', { queue: 'training' })).toBe(0);
    expect(sampleValue(scrape, 'glimpse_queue_oldest_job_age_seconds', { queue: 'caption' })).toBeGreaterThan(0);
    expect(sampleValue(scrape, 'glimpse_queue_oldest_job_age_seconds', { queue: 'training' })).toBe(0);
  });

  it('keeps every label bounded: 200 distinct operation names, and no id anywhere', async () => {
    for (let i = 0; i < 200; i++) await t.gql(`query Probe${i} { __typename }`);
    const scrape = await scrapeMetrics(base);
    const names = samples(scrape, 'glimpse_graphql_operations_total', { type: 'query' }).map((s) => s.labels!.name!);
    expect(names).toContain('other');
    expect(new Set(names).size).toBeLessThanOrEqual(MAX_NAMES + 1);
    // RequestCaption and Follow took two of the ten places; the rest of the 200 went to `other`
    expect(sampleValue(scrape, 'glimpse_graphql_operations_total', { type: 'query', name: 'other' })).toBe(200 - (MAX_NAMES - 2));
    for (const [label, values] of labelValues(scrape)) expect(values.size, label).toBeLessThanOrEqual(MAX_NAMES + 1);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toContain(modelId);
    const ids = await t.db.prisma.captionRequest.findMany({ select: { id: true } });
    for (const { id } of ids) expect(text).not.toContain(id);
  });
});

describe('probes and access', () => {
  let keyed: RunningApi;
  let draining = false;
  let keyedBase: string;
  beforeAll(async () => {
    const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_API_KEYS: 'k1' });
    keyed = await startApi({
      config,
      prisma: t.db.prisma,
      events: t.events,
      queue: t.queue,
      port: 0,
      host: '127.0.0.1',
      draining: () => draining,
    });
    keyedBase = keyed.url.replace(/\/graphql$/, '');
  });
  afterAll(() => keyed?.close());

  it('/metrics needs a key when keys are set; /livez and /readyz do not', async () => {
    expect((await fetch(`${keyedBase}/metrics`)).status).toBe(401);
    expect((await fetch(`${keyedBase}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect(sampleValue(await scrapeMetrics(keyedBase, 'k1'), 'glimpse_database_up')).toBe(1);
    const live = await fetch(`${keyedBase}/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok', eventLoopDelaySeconds: expect.any(Number) });
    const ready = await fetch(`${keyedBase}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('/readyz answers 503 once the process drains, /livez stays 200', async () => {
    draining = true;
    const ready = await fetch(`${keyedBase}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'draining' }]);
    expect((await fetch(`${keyedBase}/livez`)).status).toBe(200);
  });

  it('/readyz answers 503 while a migration this code knows is not applied', async () => {
    draining = false;
    const last = await t.db.prisma.$queryRawUnsafe<{ migration_name: string }[]>(
      `SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1`,
    );
    await t.db.prisma.$executeRawUnsafe(
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`,
      last[0]!.migration_name,
    );
    try {
      const ready = await fetch(`${keyedBase}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([503, { status: 'unavailable', database: 'up', migrations: '1 not applied' }]);
    } finally {
      await t.db.prisma.$executeRawUnsafe(
        `UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE migration_name = $1`,
        last[0]!.migration_name,
      );
    }
    expect((await fetch(`${keyedBase}/readyz`)).status).toBe(200);
  });
});
