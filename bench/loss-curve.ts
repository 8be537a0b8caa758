// lossCurve on short and long runs (issue 19): a run of 3,000 and one of 300,000 loss points (inserted
// in one statement each, through the LossBucket trigger), then `trainingRun(id) { lossCurve(maxPoints) }`
// over HTTP through the real API, p50/p95 per size and maxPoints; beside it, for reference, the
// curve as the API computed it before the pyramid (ntile buckets over every point, one SQL statement),
// the same request for the run's id alone (the floor: HTTP, GraphQL, one row), and what the trigger
// costs a worker's one-row LossPoint write (with it, and with triggers off for the session).
//
//   npx tsx bench/loss-curve.ts [--runs 30]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default postgresql://postgres@127.0.0.1:5432/postgres;
// a scratch database is created, migrated and dropped.
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { loadConfig } from '../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createEventBus } from '../src/events/index.ts';
import { createQueue } from '../src/queue/queue.ts';
import { lossCurve } from '../src/resolvers/training/loss-curve.ts';
import { startApi } from '../src/server/app.ts';
import { insertLongRun } from '../test/helpers/long-run.ts';

const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 30;
const SIZES = [3_000, 300_000];
const MAX_POINTS = [500, 2_000];
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function timed(runs: number, call: () => Promise<void>): Promise<number[]> {
  await call(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await call();
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

/** the query lossCurve ran before the pyramid (git show 3495e0e:src/resolvers/training/loss-curve.ts) */
const ntileCurve = (prisma: PrismaClient, runId: string, maxPoints: number) => prisma.$queryRaw`
  SELECT max(step)::int AS step, avg(loss)::float8 AS loss FROM (
    SELECT step, loss, ntile(${maxPoints}::int) OVER (ORDER BY step) AS bucket FROM "LossPoint" WHERE "runId" = ${runId} AND step > 0
  ) AS buckets GROUP BY bucket ORDER BY bucket`;

/** one-row inserts after the run's last step (as the worker writes a batch), with and without the trigger: [p50, p95] */
async function oneRowWrites(url: string, runId: string): Promise<{ with: string[]; without: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let step = 1_000_000;
  const write = async () =>
    void (await client.query(
      'INSERT INTO "LossPoint" ("runId", step, epoch, batch, loss, "examplesPerSec") VALUES ($1, $2, 1, 1, 1.5, 50)',
      [runId, ++step],
    ));
  try {
    const withTrigger = await timed(RUNS, write);
    await client.query('SET session_replication_role = replica'); // no triggers in this session (superuser)
    const without = await timed(RUNS, write);
    const cells = (xs: number[]) => [percentile(xs, 50), percentile(xs, 95)].map((v) => v.toFixed(1));
    return { with: cells(withTrigger), without: cells(without) };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_bench_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const prisma = createPrisma(url.toString());
  const events = await createEventBus(url.toString());
  const queue = await createQueue(url.toString());
  await queue.start();
  const api = await startApi({
    config: loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-bench-loss-curve' }),
    prisma,
    events,
    queue,
    port: 0,
    host: '127.0.0.1',
  });
  try {
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()[0]!.toFixed(2)}; ${RUNS} calls each`);
    const runs = new Map<number, string>();
    for (const steps of SIZES) {
      const started = performance.now();
      runs.set(steps, await insertLongRun(prisma, steps));
      console.log(
        `${steps} points inserted (one INSERT, buckets by the trigger) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    await prisma.$executeRawUnsafe('ANALYZE');
    const floor = await timed(RUNS, async () => {
      const res = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query($id: ID!) { trainingRun(id: $id) { id } } ', variables: { id: runs.get(300_000) } }),
      });
      await res.json();
    });
    console.log(
      `floor, trainingRun(id) { id } over HTTP: p50 ${percentile(floor, 50).toFixed(1)} ms, p95 ${percentile(floor, 95).toFixed(1)} ms`,
    );
    console.log(
      '| points | maxPoints | points answered | lossCurve() in-process p50 / p95 ms | over HTTP p50 / p95 ms | before (ntile SQL, in-process) p50 / p95 ms |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const steps of SIZES) {
      for (const maxPoints of MAX_POINTS) {
        const runId = runs.get(steps)!;
        let answered = 0;
        const http = await timed(RUNS, async () => {
          const res = await fetch(api.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              query: 'query($id: ID!, $n: Int!) { trainingRun(id: $id) { lossCurve(maxPoints: $n) { step epoch loss examplesPerSec } } }',
              variables: { id: runId, n: maxPoints },
            }),
          });
          const body = (await res.json()) as { data?: { trainingRun: { lossCurve: unknown[] } }; errors?: unknown };
          if (!body.data) throw new Error(JSON.stringify(body.errors));
          answered = body.data.trainingRun.lossCurve.length;
        });
        const inProcess = await timed(RUNS, async () => void (await lossCurve(prisma, runId, 0, maxPoints)));
        const before = await timed(Math.min(RUNS, 10), async () => void (await ntileCurve(prisma, runId, maxPoints)));
        const cells = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 95).toFixed(1)}`;
        console.log(
          `| ${steps.toLocaleString('en')} | ${maxPoints} | ${answered} | ${cells(inProcess)} | ${cells(http)} | ${cells(before)} |`,
        );
      }
    }
    // last: these points land after the 300,000-step run's end
    const writes = await oneRowWrites(url.toString(), runs.get(300_000)!);
    console.log(
      `one-row LossPoint insert after 300,000 points: with the bucket trigger p50 ${writes.with[0]} ms, p95 ${writes.with[1]} ms; ` +
        `triggers off p50 ${writes.without[0]} ms, p95 ${writes.without[1]} ms`,
    );
  } finally {
    await api.close();
    await queue.stop({ graceful: false });
    await events.close();
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

await main();
