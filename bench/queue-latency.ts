// Latencies of the wake-up path, the numbers the tests deliberately do not assert (their outcomes are
// ordering facts: test/queue/queue-wake.test.ts, test/events/bus.test.ts, test/queue/queue-reaper.test.ts):
//   notify → bus      a NOTIFY (its own transaction, from the call) until an EventBus subscriber wakes
//   job, wake-up      a committed enqueue until the pg-boss handler runs, worker polling every 60 s
//   job, polling      the same with wake-ups off, polling every 1 s (about half the interval on average)
//   dead worker       a RUNNING run's last heartbeat until the reaper takes it back (heartbeat 0.5 s, 3 beats)
//
//   npx tsx bench/queue-latency.ts [--runs 20]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default
// postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created, migrated and dropped.
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPrisma, type PrismaClient } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createEventBus, notify } from '../src/events/index.ts';
import { claimRun, heartbeat } from '../src/runs/index.ts';
import { createQueue, type JobQueue } from '../src/queue/queue.ts';
import { startReaper } from '../src/queue/reaper.ts';

const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 20;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** polls `done` every millisecond; the time it first held (performance.now()) */
async function whenTrue(done: () => boolean, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(1);
  }
  return performance.now();
}

async function notifyToBus(url: string, prisma: PrismaClient): Promise<number[]> {
  const bus = await createEventBus(url);
  const out: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const key = randomUUID();
      const sub = bus.subscribe('training_run', key);
      let wokenAt = 0;
      const woken = sub.next().then(() => {
        wokenAt = performance.now();
      });
      const calledAt = performance.now();
      await notify(prisma, 'training_run', key);
      await woken;
      out.push(wokenAt - calledAt);
      await sub.return!();
    }
  } finally {
    await bus.close();
  }
  return out;
}

async function jobToHandler(url: string, prisma: PrismaClient, api: JobQueue, wakeOnNotify: boolean): Promise<number[]> {
  const worker = await createQueue(url, { max: 2, wakeOnNotify });
  await worker.start();
  const received = new Map<string, number>();
  await worker.work('dataset', { pollingIntervalSeconds: wakeOnNotify ? 60 : 1 }, async (jobs) => {
    for (const j of jobs) received.set(j.data.datasetId, performance.now());
  });
  const out: number[] = [];
  try {
    await sleep(500); // the first (empty) fetch is over
    for (let i = 0; i < RUNS; i++) {
      const datasetId = randomUUID();
      await prisma.$transaction((tx) => api.enqueueDataset(tx, { datasetId }));
      const committedAt = performance.now();
      out.push((await whenTrue(() => received.has(datasetId))) - committedAt);
      await sleep(Math.random() * 200); // commits at no fixed phase of the polling tick
    }
  } finally {
    await worker.stop({ graceful: false });
  }
  return out;
}

async function deadWorker(prisma: PrismaClient, api: JobQueue): Promise<number[]> {
  const datasetId = (await prisma.dataset.create({ data: { name: `bench-${randomUUID()}`, kind: 'SYNTHETIC' } })).id;
  const reaped = new Map<string, number>();
  const reaper = startReaper(prisma, api, {
    heartbeatSeconds: 0.5,
    onReaped: (runs) => runs.forEach((r) => reaped.set(r.id, performance.now())),
  });
  const out: number[] = [];
  try {
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const runId = (await prisma.trainingRun.create({ data: { datasetId, config: {} } })).id;
      await claimRun(prisma, runId, 'bench-worker');
      for (let beat = 0; beat < 3; beat++) {
        await sleep(200);
        await heartbeat(prisma, runId, 'bench-worker');
      }
      const lastBeatAt = performance.now(); // the worker "dies" here
      out.push((await whenTrue(() => reaped.has(runId))) - lastBeatAt);
    }
  } finally {
    await reaper.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_bench_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const prisma = createPrisma(url.toString(), { max: 4 });
  const api = await createQueue(url.toString(), { max: 2 });
  await api.start();
  try {
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()[0]!.toFixed(2)}; ${RUNS} runs each`);
    const rows: [string, number[]][] = [
      ['notify() → bus subscriber woken', await notifyToBus(url.toString(), prisma)],
      ['enqueue committed → handler, wake-ups (60 s polling)', await jobToHandler(url.toString(), prisma, api, true)],
      ['enqueue committed → handler, polling only (1 s)', await jobToHandler(url.toString(), prisma, api, false)],
      ['last heartbeat → reaped (0.5 s × 3 beats)', await deadWorker(prisma, api)],
    ];
    console.log('| path | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|');
    for (const [label, values] of rows) {
      const sorted = [...values].sort((a, b) => a - b);
      const cells = [percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1)!].map((v) => v.toFixed(1));
      console.log(`| ${label} | ${cells.join(' | ')} |`);
    }
  } finally {
    await api.stop({ graceful: false });
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

await main();
