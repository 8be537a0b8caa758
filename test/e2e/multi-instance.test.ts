// Two API instances and two workers (each with its own Prisma client, event bus and queue) on one
// Postgres: runs started on API A are trained by both workers at once, one run each, and followed
// from API B; a caption requested on B streams from A; serverInfo counts both workers.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../../src/db/client.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { startApi, type RunningApi } from '../../src/server/app.ts';
import { collect, type GraphQLResponse } from '../api/harness.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { quietLog, syntheticImagesDir } from './shared.ts';

const PROGRESS = `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind step status } }`;
const CAPTION = `subscription($id: ID!) { captionStream(requestId: $id) { index token done caption } }`;

interface Instance {
  prisma: PrismaClient;
  events: EventBus;
  queue: JobQueue;
  close(): Promise<void>;
}

let db: TestDatabase;
let dataDir: string;
let config: Config;
const instances: Instance[] = [];
const apis: RunningApi[] = [];
const workers: RunningWorker[] = [];
const clients: Client[] = [];

async function instance(): Promise<Instance> {
  const prisma = createPrisma(db.url, { max: 4 });
  const events = await createEventBus(db.url);
  const queue = await createQueue(db.url, { max: 2 });
  await queue.start();
  const it = { prisma, events, queue, close: async () => (await queue.stop(), await events.close(), await prisma.$disconnect()) };
  instances.push(it);
  return it;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-multi-'));
  config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1' });
  db = await createTestDatabase();
  for (let i = 0; i < 2; i++) apis.push(await startApi({ ...(await instance()), config, port: 0, host: '127.0.0.1' }));
  for (const id of ['worker-1', 'worker-2']) {
    const { prisma, queue } = await instance();
    workers.push(await startWorker({ config, prisma, queue, workerId: id, pollingIntervalSeconds: 0.5, log: quietLog }));
  }
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  for (const w of workers) await w.stop({ graceful: true });
  for (const a of apis) await a.close();
  for (const i of instances) await i.close();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function gql(api: RunningApi, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  const res = await fetch(api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLResponse;
}

function ws(api: RunningApi): Client {
  const client = createClient({ url: api.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(client);
  return client;
}

describe('two API instances and two workers on one Postgres', () => {
  it('trains two runs at once, one per worker, followed from the other API; captions across instances', async () => {
    const [a, b] = apis as [RunningApi, RunningApi];
    const info = await gql(b, `{ serverInfo { workers backend queueDepth } }`);
    expect(info.data!.serverInfo).toMatchObject({ workers: 2, backend: expect.any(String), queueDepth: expect.any(Number) });

    const created = await gql(a, `mutation { createDataset(input: { name: "shapes", synthetic: { images: 8, seed: 4 } }) { id } }`);
    const datasetId = created.data!.createDataset.id;
    await until(
      async () => (await gql(b, `query($id: ID!) { dataset(id: $id) { status } }`, { id: datasetId })).data!.dataset.status,
      (s) => s === 'READY',
    );

    const start = (seed: number) =>
      gql(a, `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
        input: { datasetId, epochs: 1, batchSize: 16, units: 16, embeddingDim: 8, vocabSize: 30, seed, valFraction: 0.2 },
      });
    const runIds = [(await start(1)).data!.startTraining.id, (await start(2)).data!.startTraining.id] as string[];
    const streams = runIds.map((runId) =>
      collect<{ trainingProgress: { kind: string; step: number; status: string } }>(ws(b), PROGRESS, { runId }),
    );
    await Promise.all(streams.map((s) => s.completed));

    const runs = await db.prisma.trainingRun.findMany({ where: { id: { in: runIds } }, include: { model: true } });
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(new Set(runs.map((r) => r.workerId))).toEqual(new Set(['worker-1', 'worker-2']));
    for (const [i, s] of streams.entries()) {
      const events = s.results.map((r) => r.data!.trainingProgress);
      const total = runs.find((r) => r.id === runIds[i])!.totalSteps!;
      expect(events.filter((e) => e.kind === 'BATCH').map((e) => e.step)).toEqual(Array.from({ length: total }, (_, k) => k + 1));
      expect(events.at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED' });
    }

    const imagesDir = await syntheticImagesDir(db.prisma, dataDir, datasetId);
    const png = await readFile(join(imagesDir, (await readdir(imagesDir))[0]!));
    const requested = await gql(b, `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
      input: { modelId: runs[0]!.model!.id, imageBase64: png.toString('base64') },
    });
    expect(requested.errors).toBeUndefined();
    const caption = collect<{ captionStream: { done: boolean; caption: string | null } }>(ws(a), CAPTION, {
      id: requested.data!.requestCaption.id,
    });
    await caption.completed;
    expect(caption.results.at(-1)!.data!.captionStream).toMatchObject({ done: true, caption: expect.any(String) });
  });
});
