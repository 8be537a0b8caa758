// The probes and the metrics of real processes on a Postgres this test owns (never the shared test server):
//   - `src/main.ts` (npm start's supervisor: API + two worker children): one scrape of the API carries
//     both children's metrics (over IPC); Postgres down → /readyz 503 while /livez stays 200, back → 200;
//     SIGTERM → /readyz 503 within 100 ms while /livez answers 200 until the process stops listening,
//     and it exits 0;
//   - a standalone worker with GLIMPSE_METRICS_PORT serves its own /metrics, /livez and /readyz.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { samples, scrapeMetrics, sampleValue } from '../helpers/metrics.ts';
import { freePort, ownPostgresDir, startOwnPostgres } from '../helpers/own-postgres.ts';
import { until } from '../helpers/until.ts';
import { alive, allWorkerPids, launch, type Instance } from './process-tree.ts';

let pgDir: string;
let appDir: string;
let pgPort: number;
let db: Database | undefined;
const instances: Instance[] = [];

beforeAll(async () => {
  pgDir = await ownPostgresDir('glimpse-health-pg-');
  appDir = await mkdtemp(join(tmpdir(), 'glimpse-health-app-'));
  pgPort = await freePort();
  db = await startOwnPostgres(pgDir, pgPort);
});
afterAll(async () => {
  if (process.env.TEST_LOG_DIR) await writeFile(join(process.env.TEST_LOG_DIR, 'health.log'), instances.map((i) => i.output()).join('\n'));
  for (const i of instances) {
    if (i.child.exitCode === null) process.kill(-i.pgid, 'SIGKILL');
    for (const pid of allWorkerPids(i)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await db?.stop();
  await rm(pgDir, { recursive: true, force: true });
  await rm(appDir, { recursive: true, force: true });
});

interface Probe {
  path: string;
  sentAt: number;
  status: number | 'refused';
}

const probe = async (base: string, path: string): Promise<Probe> => {
  const sentAt = performance.now();
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return { path, sentAt, status: res.status };
  } catch {
    return { path, sentAt, status: 'refused' };
  }
};
const status = async (base: string, path: string) => (await probe(base, path)).status;

describe('npm start: probes and one scrape for the whole process tree', () => {
  it('merges the children’s metrics, follows Postgres, and drains with /readyz 503 and /livez 200', async () => {
    // a drain delay, as behind a load balancer: without one an idle process stops listening within milliseconds
    const i = launch({ DATABASE_URL: db!.url, GLIMPSE_DATA_DIR: appDir, GLIMPSE_DB_GRACE_SECONDS: '0', GLIMPSE_DRAIN_DELAY_SECONDS: '1' });
    instances.push(i);
    const url = await i.ready;
    expect(url, i.output()).toBeDefined();
    const base = url!.replace(/\/graphql$/, '');

    // both children answer the scrape once they have started (their series carry their role)
    const scrape = await until(
      () => scrapeMetrics(base),
      (s) => sampleValue(s, 'glimpse_metrics_children_missing') === 0,
      120_000,
      500,
    );
    const processes = samples(scrape, 'process_cpu_seconds_total').map((s) => s.labels?.process);
    expect(processes.sort()).toEqual(['api', 'caption-worker', 'worker']);
    expect(
      samples(scrape, 'glimpse_training_steps_total')
        .map((s) => s.labels?.process)
        .sort(),
    ).toEqual(['caption-worker', 'worker']);
    expect(await status(base, '/livez')).toBe(200);
    expect(await status(base, '/readyz')).toBe(200);

    // Postgres gone: not ready, still alive; back: ready again
    await db!.stop();
    await until(
      () => status(base, '/readyz'),
      (s) => s === 503,
      30_000,
      200,
    );
    expect(await status(base, '/livez')).toBe(200);
    expect(sampleValue(await scrapeMetrics(base), 'glimpse_database_up')).toBe(0);
    db = await startOwnPostgres(pgDir, pgPort);
    await until(
      () => status(base, '/readyz'),
      (s) => s === 200,
      60_000,
      200,
    );

    // SIGTERM: every probe from 100 ms on says draining (for the drain delay, then the drain); /livez answers 200
    // until the API stops listening
    const sentTerm = performance.now();
    process.kill(i.child.pid!, 'SIGTERM');
    const probes: Probe[] = [];
    while (probes.at(-1)?.status !== 'refused' || probes.at(-2)?.status !== 'refused') {
      probes.push(await probe(base, '/readyz'), await probe(base, '/livez'));
      if (performance.now() - sentTerm > 60_000) break;
    }
    const answered = (path: string) => probes.filter((p) => p.path === path && p.status !== 'refused');
    const late = answered('/readyz').filter((p) => p.sentAt - sentTerm >= 100);
    expect(late.length, JSON.stringify(probes)).toBeGreaterThan(0);
    expect(
      late.every((p) => p.status === 503),
      JSON.stringify(probes),
    ).toBe(true);
    const firstDraining = Math.min(
      ...answered('/readyz')
        .filter((p) => p.status === 503)
        .map((p) => p.sentAt),
    );
    expect(
      answered('/livez').every((p) => p.status === 200),
      JSON.stringify(probes),
    ).toBe(true);
    expect(answered('/livez').some((p) => p.sentAt > firstDraining)).toBe(true);
    expect(await i.exited).toBe(0);
  }, 300_000);
});

describe('a standalone worker', () => {
  it('serves /metrics, /livez and /readyz on GLIMPSE_METRICS_PORT', async () => {
    const port = await freePort();
    const i = launch(
      { DATABASE_URL: db!.url, GLIMPSE_DATA_DIR: join(appDir, 'worker'), GLIMPSE_METRICS_PORT: String(port), GLIMPSE_API_KEYS: 'k1' },
      { command: [process.execPath, '--import', 'tsx', 'src/main.ts', 'worker'] },
    );
    instances.push(i);
    const base = `http://127.0.0.1:${port}`;
    await until(
      () => status(base, '/readyz'),
      (s) => s === 200 || i.child.exitCode !== null,
      120_000,
      500,
    );
    expect(await status(base, '/readyz'), i.output()).toBe(200);
    expect(await status(base, '/livez')).toBe(200);
    expect(await status(base, '/metrics')).toBe(401);
    const scrape = await scrapeMetrics(base, 'k1');
    expect(samples(scrape, 'glimpse_training_steps_total').map((s) => s.labels?.process)).toEqual(['worker']);
    expect(sampleValue(scrape, 'glimpse_caption_requests_total')).toBe(0);
    process.kill(i.child.pid!, 'SIGTERM');
    expect(await i.exited).toBe(0);
  }, 180_000);
});
