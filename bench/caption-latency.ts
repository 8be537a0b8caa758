// Caption latency through the real API (issue 12): requestCaption over HTTP → the final captionStream
// event over graphql-ws, one b1 greedy caption at a time, with the workers as real child processes
// (src/jobs/worker-main.ts, as `npm start` runs them). Four measurements:
//   idle      one worker taking every job, nothing else running
//   training  the same worker while it trains a run (captions served between its training batches)
//   split     two workers, GLIMPSE_WORKER_JOBS=training,dataset and =caption, while the first trains
// The model is the demo set's (shapes-demo, 600 images) with the API's default settings, trained for
// --epochs (default 1: the architecture and so the decode cost are those of a full run).
//
//   npx tsx bench/caption-latency.ts [--captions 30] [--epochs 1] [--train '{"units":128,"embeddingDim":64}']
// (--train: more StartTrainingInput fields for both runs, e.g. another architecture than the defaults)
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default
// postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created, migrated and dropped.
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import sharp from 'sharp';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/index.ts';
import { createPrisma } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createEventBus } from '../src/events/index.ts';
import { registerDemoDataset } from '../src/queue/demo-dataset.ts';
import { createQueue } from '../src/queue/queue.ts';
import { WORKER_ENTRY } from '../src/process/supervisor.ts';
import { startApi } from '../src/server/app.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CAPTIONS = arg('captions', 30);
const EPOCHS = arg('epochs', 1);
const WARM_UP = 2;
const trainIndex = process.argv.indexOf('--train');
const TRAIN: Record<string, unknown> = trainIndex > 0 ? JSON.parse(process.argv[trainIndex + 1]!) : {};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(v)}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-latency-'));
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_latency_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  await migrate(dbUrl);
  const prisma = createPrisma(dbUrl);
  const events = await createEventBus(dbUrl);
  const queue = await createQueue(dbUrl);
  await queue.start();
  const config = loadConfig({
    ...process.env,
    GLIMPSE_DATA_DIR: join(dir, 'api'),
    GLIMPSE_PUBLIC_READ: 'true',
    GLIMPSE_MUTATIONS_PER_MINUTE: '100000',
  });
  const api = await startApi({ config, prisma, events, queue, port: 0, host: '127.0.0.1' });
  const ws = createClient({ url: api.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false });
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors[0]!.message);
    return body.data;
  };
  const workers: ChildProcess[] = [];
  const startWorkers = (jobs: string[]) => {
    for (const [i, j] of jobs.entries()) {
      const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
        env: {
          ...process.env,
          DATABASE_URL: dbUrl,
          GLIMPSE_DATA_DIR: join(dir, `worker-${workers.length}-${i}`),
          GLIMPSE_WORKER_JOBS: j,
          GLIMPSE_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'inherit', 'inherit'], // GLIMPSE_LOG_LEVEL=warn: only warnings and errors
      });
      workers.push(proc);
    }
    return until(
      () => prisma.worker.count(),
      (n) => n === jobs.length,
      120_000,
    );
  };
  const stopWorkers = async () => {
    await Promise.all(workers.splice(0).map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
    await prisma.worker.deleteMany({});
  };

  try {
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ${new Date().toISOString()}`,
    );
    await startWorkers(['training,caption,dataset']);
    const demo = (await registerDemoDataset(prisma, queue))!;
    await until(
      () => prisma.dataset.findUniqueOrThrow({ where: { id: demo.id } }),
      (d) => d.status === 'READY',
      300_000,
    );
    const trainStarted = Date.now();
    const first = await gql(
      `mutation($i: StartTrainingInput!) { startTraining(input: $i) { id config { epochs batchSize units embeddingDim } } }`,
      {
        i: { ...TRAIN, datasetId: demo.id, epochs: EPOCHS },
      },
    );
    console.log(
      `model: shapes-demo, API defaults but ${JSON.stringify({ ...TRAIN, epochs: EPOCHS })}: ${JSON.stringify(first.startTraining.config)}`,
    );
    const trained = await until(
      () => prisma.trainingRun.findUniqueOrThrow({ where: { id: first.startTraining.id }, include: { model: true } }),
      (r) => ['SUCCEEDED', 'FAILED'].includes(r.status),
      3_600_000,
    );
    if (!trained.model) throw new Error(`training failed: ${trained.error}`);
    console.log(`trained in ${((Date.now() - trainStarted) / 1000).toFixed(0)} s`);
    const modelId = trained.model.id;
    const image = (
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } })
        .composite([
          {
            input: Buffer.from(
              '<svg width="64" height="64"><circle cx="20" cy="20" r="10" fill="red"/><rect x="36" y="36" width="18" height="18" fill="blue"/></svg>',
            ),
          },
        ])
        .png()
        .toBuffer()
    ).toString('base64');

    const caption = async (): Promise<{ ms: number; decodeMs: number }> => {
      const started = performance.now();
      const { requestCaption } = await gql(`mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id } }`, {
        i: { modelId, imageBase64: image },
      });
      await new Promise<void>((resolve, reject) => {
        ws.subscribe(
          { query: `subscription($id: ID!) { captionStream(requestId: $id) { done } }`, variables: { id: requestCaption.id } },
          { next: () => undefined, error: reject, complete: resolve },
        );
      });
      const ms = performance.now() - started;
      const row = await prisma.captionRequest.findUniqueOrThrow({ where: { id: requestCaption.id } });
      return { ms, decodeMs: (row.timings as { decodeMs: number }).decodeMs };
    };
    const measure = async (label: string) => {
      for (let i = 0; i < WARM_UP; i++) await caption();
      const runs: { ms: number; decodeMs: number }[] = [];
      for (let i = 0; i < CAPTIONS; i++) runs.push(await caption());
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      const decode = runs.map((r) => r.decodeMs).sort((a, b) => a - b);
      console.log(
        `${label.padEnd(44)} p50 ${fmt(percentile(ms, 50)).padStart(8)}  p95 ${fmt(percentile(ms, 95)).padStart(8)}  max ${fmt(ms.at(-1)!).padStart(8)}  decode p50 ${fmt(percentile(decode, 50))}`,
      );
    };
    const whileTraining = async (label: string) => {
      const { startTraining } = await gql(`mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, {
        i: { ...TRAIN, datasetId: demo.id, epochs: 50 },
      });
      await until(
        () => prisma.lossPoint.count({ where: { runId: startTraining.id } }),
        (n) => n >= 2,
        600_000,
      );
      await measure(label);
      const steps = await prisma.lossPoint.count({ where: { runId: startTraining.id } });
      await gql(`mutation($id: ID!) { cancelTraining(id: $id) { status } }`, { id: startTraining.id });
      await until(
        () => prisma.trainingRun.findUniqueOrThrow({ where: { id: startTraining.id } }),
        (r) => r.status === 'CANCELLED',
        600_000,
      );
      console.log(`${''.padEnd(44)} (the run trained to step ${steps} meanwhile)`);
    };

    console.log(`${CAPTIONS} captions each (after ${WARM_UP} warm-up), b1 greedy, API request → final captionStream event:`);
    await measure('idle, one worker');
    await whileTraining('training, same worker');
    await stopWorkers();
    await startWorkers(['training,dataset', 'caption']);
    await measure('idle, caption worker beside the trainer');
    await whileTraining('training, caption worker beside the trainer');
  } finally {
    await stopWorkers().catch(() => undefined);
    await ws.dispose();
    await api.close();
    await queue.stop({ graceful: false });
    await events.close();
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
