// NOTIFY wake-ups end to end: a worker whose queues poll only every 5 minutes generates a dataset, trains a
// run and answers six captions before its first polling tick after start, because each enqueue's NOTIFY
// wakes it (a polling worker would wait for a tick for each job). The fact checked is that ordering, not
// a latency: the latencies are printed (bench/caption-latency.ts measures them). Captions: real HTTP
// requestCaption → real graphql-ws captionStream until the final event.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { until } from '../helpers/until.ts';
import { quietLog } from './shared.ts';

const POLLING_SECONDS = 300;
let t: TestApi;
let worker: RunningWorker;
let dataDir: string;
/** when the worker started: its queues fetched then, and next one polling interval later */
let workerStartedAt: number;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-wake-'));
  const env = { GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1' };
  t = await startTestApi(env);
  workerStartedAt = Date.now();
  worker = await startWorker({
    config: loadConfig(env),
    prisma: t.db.prisma,
    queue: t.queue,
    pollingIntervalSeconds: POLLING_SECONDS,
    log: quietLog,
  });
});
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a worker polling every 5 minutes, woken by NOTIFY', () => {
  it('generates, trains and captions without waiting for a polling tick', async () => {
    const beforeTick = () => expect(Date.now() - workerStartedAt).toBeLessThan(POLLING_SECONDS * 1000);
    const created = await t.gql(`mutation { createDataset(input: { name: "wake", synthetic: { images: 12, seed: 4 } }) { id } }`);
    const datasetId = created.data!.createDataset.id as string;
    await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status === 'READY',
      POLLING_SECONDS * 1000,
      50,
    );
    const started = await t.gql(`mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, {
      i: {
        datasetId,
        epochs: 1,
        batchSize: 8,
        units: 16,
        embeddingDim: 8,
        vocabSize: 30,
        seed: 2,
        encoder: { imageSize: 32, channels: [4, 8] },
      },
    });
    const runId = started.data!.startTraining.id as string;
    const model = await until(
      () => t.db.prisma.model.findFirst({ where: { runId } }),
      (m) => m !== null,
      POLLING_SECONDS * 1000,
      50,
    );
    beforeTick(); // the dataset and training jobs were fetched on their wake-ups

    const image = (
      await sharp({ create: { width: 32, height: 32, channels: 3, background: '#36c' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const ws = t.ws();
    const runs: { ms: number; decodeMs: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const res = await t.gql(`mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id } }`, {
        i: { modelId: model!.id, imageBase64: image },
      });
      const id = res.data!.requestCaption.id as string;
      await new Promise<void>((resolve, reject) =>
        ws.subscribe(
          { query: `subscription($id: ID!) { captionStream(requestId: $id) { done } }`, variables: { id } },
          { next: () => undefined, error: reject, complete: resolve },
        ),
      );
      const ms = performance.now() - t0;
      const row = await t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } });
      expect(row.status).toBe('SUCCEEDED');
      runs.push({ ms, decodeMs: (row.timings as { decodeMs: number }).decodeMs });
    }
    beforeTick(); // and so were the six captions
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    console.log(
      `caption latency, woken by NOTIFY (ms): ${ms.map((m) => m.toFixed(0)).join(', ')}; decode: ${runs.map((r) => r.decodeMs.toFixed(0)).join(', ')}`,
    );
  }, 360_000);
});
