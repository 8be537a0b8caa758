// What a Prometheus scrape costs under `npm start`'s layout: `src/main.ts` as a real process tree (API +
// training worker + caption worker, each asked over IPC on every scrape), idle, on a scratch database.
// Prints the latency of GET /metrics (p50/p95/max), its size and series count, and /livez and /readyz.
//
//   npx tsx bench/metrics-scrape.ts [--scrapes 50]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default
// postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created and dropped.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ensureDatabase } from '../src/db/database.ts';

const at = process.argv.indexOf('--scrapes');
const SCRAPES = at > 0 ? Number(process.argv[at + 1]) : 50;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function timed(url: string): Promise<{ ms: number; text: string; status: number }> {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  return { ms: performance.now() - started, text, status: res.status };
}

async function main(): Promise<void> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_bench_metrics_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'glimpse-bench-metrics-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATABASE_URL: url.toString(), GLIMPSE_DATA_DIR: dataDir, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    let base: string | undefined;
    for (let waited = 0; !base; waited += 200) {
      if (waited > 120_000 || child.exitCode !== null) throw new Error(`no API:\n${out}`);
      base = /GraphQL API and IDE at (\S+)\/graphql/.exec(out)?.[1];
      await sleep(200);
    }
    // until both children answer the scrape
    for (
      let waited = 0;
      !/^glimpse_metrics_children_missing\{process="api"\} 0$/m.test((await timed(`${base}/metrics`)).text);
      waited += 500
    ) {
      if (waited > 120_000) throw new Error('the children never answered');
      await sleep(500);
    }
    const rows: [string, number[]][] = [];
    let last = '';
    for (const path of ['/metrics', '/livez', '/readyz']) {
      const times: number[] = [];
      for (let i = 0; i < SCRAPES; i++) {
        const { ms, text, status } = await timed(`${base}${path}`);
        if (status !== 200) throw new Error(`${path}: ${status}`);
        times.push(ms);
        if (path === '/metrics') last = text;
      }
      rows.push([path, times]);
    }
    const series = last.split('\n').filter((l) => l && !l.startsWith('#')).length;
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()[0]!.toFixed(2)}; ${SCRAPES} requests each, one after another`,
    );
    console.log(`/metrics: ${last.length} bytes, ${series} samples (API + 2 worker children)`);
    console.log('| endpoint | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|');
    for (const [label, values] of rows) {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `| ${label} | ${[percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1)!].map((v) => v.toFixed(1)).join(' | ')} |`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

await main();
