// Postgres lost under a running `npm start` (src/main.ts on DATABASE_URL = a Postgres this test owns
// kills and restarts: never the machine's shared server). While it is down the API answers 503 (GraphQL and
// /healthz) and logs the outage once, not once per failed query; the worker process survives
// (no death through TF.js-wasm's process handlers); when Postgres is back the API serves again and
// the worker finishes the training it was running, every step stored once. Down for longer than
// GLIMPSE_DB_GRACE_SECONDS, the process exits 69 (stopping its worker).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database } from '../../src/db/database.ts';
import { collect } from '../api/harness.ts';
import { freePort, ownPostgresDir, startOwnPostgres } from '../helpers/own-postgres.ts';
import { until } from '../helpers/until.ts';
import {
  alive,
  postmasterPid,
  smallDataset,
  gql,
  healthz,
  launch,
  startTraining,
  workerPids,
  allWorkerPids,
  type Instance,
} from './process-tree.ts';

let pgDir: string;
let appDir: string;
let port: number;
let db: Database | undefined;
let instance: Instance | undefined;

const startPostgres = async () => {
  db = await startOwnPostgres(pgDir, port);
  return db;
};

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db!.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  pgDir = await ownPostgresDir('glimpse-outage-pg-');
  appDir = await mkdtemp(join(tmpdir(), 'glimpse-outage-app-'));
  port = await freePort();
  await startPostgres();
});
afterAll(async () => {
  if (process.env.TEST_LOG_DIR && instance) await writeFile(join(process.env.TEST_LOG_DIR, 'db-outage.log'), instance.output());
  if (instance && instance.child.exitCode === null) process.kill(-instance.pgid, 'SIGKILL');
  for (const pid of instance ? allWorkerPids(instance) : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await db?.stop();
  await rm(pgDir, { recursive: true, force: true });
  await rm(appDir, { recursive: true, force: true });
});

describe('Postgres lost and back under npm start', () => {
  it('answers 503 while it is down, reconnects, and the worker resumes its run; past the grace period it exits 69', async () => {
    instance = launch({ DATABASE_URL: db!.url, GLIMPSE_DATA_DIR: appDir, GLIMPSE_DB_GRACE_SECONDS: '12' });
    const url = (await instance.ready)!;
    expect(url, instance.output()).toBeDefined();
    const datasetId = await smallDataset(url);
    const runId = await startTraining(url, { datasetId, epochs: 2, checkpointEvery: 10 });
    const steps = async () =>
      (await query<{ step: number }>(`SELECT step FROM "LossPoint" WHERE "runId" = $1 ORDER BY step`, [runId])).map((r) => r.step);
    await until(steps, (s) => s.length >= 3, 90_000, 200);
    const [workerPid] = workerPids(instance);

    // killed: immediate shutdown (SIGQUIT: no checkpoint, crash recovery on the next start), every connection cut
    const postmaster = (await postmasterPid(pgDir))!;
    process.kill(postmaster, 'SIGQUIT');
    await until(
      async () => alive(postmaster),
      (a) => !a,
      30_000,
      50,
    );
    const down = await until(
      () => healthz(url),
      (h) => h.status === 503,
      20_000,
      200,
    );
    expect(down.body).toMatchObject({ status: 'unavailable', database: 'down' });
    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ serverInfo { workers } }' }),
      });
    const res = await until(post, (r) => r.status === 503, 10_000, 200);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('SERVICE_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 3000));
    const outageLines = instance.lines().filter((l) => l.role === 'supervisor' && l.level >= 50);
    expect(outageLines.filter((l) => /^database unreachable/.test(l.msg))).toHaveLength(1);
    expect(outageLines.length).toBeLessThanOrEqual(3); // bounded: not one line per failed query

    await startPostgres(); // same data dir, same port
    await until(
      () => healthz(url),
      (h) => h.status === 200,
      30_000,
      200,
    );
    // a subscriber of the resumed run: the API's event bus has reconnected and LISTENs again
    const ws = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const progress = collect<{ trainingProgress: { kind: string; step: number; status: string | null } }>(
      ws,
      `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind step status } }`,
      { runId },
    );
    expect(instance.lines().some((l) => /^database reachable again/.test(l.msg))).toBe(true);
    const info = await gql<{ trainingRun: { totalSteps: number } }>(url, `query($id: ID!) { trainingRun(id: $id) { totalSteps } }`, {
      id: runId,
    });
    const finished = await until(
      () =>
        gql<{ trainingRun: { status: string; error: string | null } }>(url, `query($id: ID!) { trainingRun(id: $id) { status error } }`, {
          id: runId,
        }),
      (d) => ['SUCCEEDED', 'FAILED'].includes(d.trainingRun.status),
      120_000,
      500,
    );
    expect(finished.trainingRun).toEqual({ status: 'SUCCEEDED', error: null });
    expect(await steps()).toEqual(Array.from({ length: info.trainingRun.totalSteps }, (_, i) => i + 1));
    await progress.completed;
    expect(progress.results.filter((r) => r.errors)).toEqual([]);
    const events = progress.results.map((r) => r.data!.trainingProgress);
    expect(events.filter((e) => e.kind === 'STATUS').at(-1)!.status).toBe('SUCCEEDED');
    expect(events.filter((e) => e.kind === 'BATCH').at(-1)!.step).toBe(info.trainingRun.totalSteps);
    await ws.dispose();
    // the same worker process lived through the outage
    expect(workerPids(instance)).toEqual([workerPid]);
    expect(alive(workerPid!)).toBe(true);

    // gone for good: after GLIMPSE_DB_GRACE_SECONDS the process exits 69 and takes its worker along
    await db!.stop();
    expect(await instance.exited).toBe(69);
    expect(instance.lines().some((l) => l.level === 60 && /GLIMPSE_DB_GRACE_SECONDS/.test(l.msg))).toBe(true);
    await until(
      async () => alive(workerPid!),
      (a) => !a,
      30_000,
    );
  }, 240_000);
});
