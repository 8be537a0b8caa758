// `npm start` (src/main.ts) runs a caption worker beside the training worker (GLIMPSE_CAPTION_WORKER,
// default true): two worker processes with their roles; captions requested while a run trains are
// served by the caption worker and complete while the run is still RUNNING, woken by NOTIFY (the
// latencies are printed: bench/caption-latency.ts measures them on the demo model). With
// GLIMPSE_CAPTION_WORKER=false there is one worker for everything.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { alive, gql, launch, type Instance } from './process-tree.ts';

let db: TestDatabase;
let dataDir: string;
const started: Instance[] = [];
const childPids = (s: Instance) =>
  s.lines().flatMap((l) => (typeof l.workerPid === 'number' && / process \d+ starting$/.test(l.msg) ? [l.workerPid] : []));

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-caption-worker-'));
});
afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode === null && s.child.signalCode === null) process.kill(-s.pgid, 'SIGKILL');
    for (const pid of childPids(s)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const TINY = { batchSize: 8, units: 16, embeddingDim: 8, vocabSize: 30, seed: 2, encoder: { imageSize: 32, channels: [4, 8] } };

describe('npm start with a caption worker beside the training worker', () => {
  it('serves captions from the caption worker while a run trains', async () => {
    const s = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir });
    started.push(s);
    const url = (await s.ready)!;
    expect(url).toBeDefined();
    const workers = await until(
      () => db.prisma.worker.findMany(),
      (w) => w.length === 2,
      90_000,
    );
    expect(workers.map((w) => w.roles.join(',')).sort()).toEqual(['caption', 'training,dataset,evaluation,bulk-caption']);
    const trainer = workers.find((w) => w.roles.includes('training'))!;
    const captioner = workers.find((w) => w.roles.includes('caption'))!;
    expect(
      s
        .lines()
        .filter((l) => / process \d+ starting$/.test(l.msg))
        .map((l) => l.msg.replace(/\d+/, 'N'))
        .sort(),
    ).toEqual(['caption worker process N starting', 'worker process N starting']);

    const { createDataset } = await gql(
      url,
      `mutation { createDataset(input: { name: "tiny", synthetic: { images: 12, seed: 4 } }) { id } }`,
    );
    await until(
      () => db.prisma.dataset.findUniqueOrThrow({ where: { id: createDataset.id } }),
      (d) => d.status === 'READY',
      90_000,
    );
    const start = async (epochs: number) =>
      (
        await gql(url, `mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, {
          i: { datasetId: createDataset.id, epochs, ...TINY },
        })
      ).startTraining.id as string;
    const first = await start(1);
    const model = await until(
      () => db.prisma.model.findFirst({ where: { runId: first } }),
      (m) => m !== null,
      180_000,
    );

    // a long run: captions are requested while it trains
    const long = await start(200);
    await until(
      () => db.prisma.lossPoint.count({ where: { runId: long } }),
      (n) => n >= 2,
      120_000,
    );
    const ws: Client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket });
    const image = (
      await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c33' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const latencies: number[] = [];
    const ids: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        const { requestCaption } = await gql(url, `mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id } }`, {
          i: { modelId: model!.id, imageBase64: image },
        });
        await new Promise<void>((resolve, reject) =>
          ws.subscribe(
            { query: `subscription($id: ID!) { captionStream(requestId: $id) { done } }`, variables: { id: requestCaption.id } },
            { next: () => undefined, error: reject, complete: resolve },
          ),
        );
        latencies.push(performance.now() - t0);
        ids.push(requestCaption.id);
      }
    } finally {
      await ws.dispose();
    }
    const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: long } });
    expect(run.status).toBe('RUNNING'); // every caption completed while the run trained
    expect(run.workerId).toBe(trainer.id);
    const requests = await db.prisma.captionRequest.findMany({ where: { id: { in: ids } } });
    expect(requests.map((r) => [r.status, r.workerId])).toEqual(ids.map(() => ['SUCCEEDED', captioner.id]));
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`captions while training (ms, request → final event): ${sorted.map((l) => l.toFixed(0)).join(', ')}`);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(2000);
    await gql(url, `mutation($id: ID!) { cancelTraining(id: $id) { status } }`, { id: long });
  }, 420_000);
});
