// The API's latency for normal requests, alone and while an abusive client runs. The API is the real one
// (`src/main.ts api`, its own process, default limits) on a fresh database of the Postgres at DATABASE_URL
// (default postgresql://postgres@127.0.0.1:5432/postgres as the admin connection); the abuser is another
// process sending, round robin from 4 loops: a 6 MB query of 200,000 aliases, a 42-deep query, 1,000 aliases
// of trainingRuns { lossCurve }, a query over the cost budget, a 20 MB WebSocket message, and 15 mutations at a
// time (deleteModel of an unknown id) until the rate limit answers.
//
//   npx tsx bench/abuse-latency.ts [seconds per phase, default 15]
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPrisma } from '../src/db/client.ts';
import WebSocket from 'ws';

const PORT = 4599;
const URL_ = `http://127.0.0.1:${PORT}/graphql`;
const NORMAL = [
  `{ serverInfo { version workers queueDepth } datasets { id name status } }`,
  `{ trainingRuns(first: 20) { edges { node { id status step lossCurve(maxPoints: 200) { step loss } } } } }`,
  `{ models { id name metrics } }`,
];

const post = async (body: string): Promise<{ status: number; code?: string }> => {
  const res = await fetch(URL_, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, code: json.errors?.[0]?.extensions?.code };
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---- the abuser (child process) ----
async function abuse(seconds: number): Promise<void> {
  const aliases = (n: number, s: string) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${s}`).join(' ')} }`;
  let deep = 'id';
  for (let i = 0; i < 41; i++) deep = i % 2 === 0 ? `run { ${deep} }` : `model { ${deep} }`;
  const bodies = [
    JSON.stringify({ query: aliases(200_000, 'serverInfo { version }') }),
    JSON.stringify({ query: `{ models { ${deep} } }` }),
    JSON.stringify({ query: aliases(1000, 'trainingRuns { edges { node { lossCurve { loss } } } }') }),
    JSON.stringify({ query: `{ trainingRuns(first: 100) { edges { node { lossCurve(maxPoints: 10000) { loss } } } } }` }),
    JSON.stringify({ query: `mutation { ${Array.from({ length: 15 }, (_, i) => `m${i}: deleteModel(id: "nope")`).join(' ')} }` }),
  ];
  const huge = JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(20 * 1024 * 1024) } });
  const wsAbuse = () =>
    new Promise<string>((resolve) => {
      const socket = new WebSocket(URL_.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.on('error', () => {});
      socket.once('open', () => socket.send(huge));
      socket.once('close', (code) => resolve(`ws ${code}`));
    });
  const counts = new Map<string, number>();
  const deadline = Date.now() + seconds * 1000;
  let turn = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      const k = turn++ % (bodies.length + 1);
      const outcome =
        k === bodies.length
          ? await wsAbuse()
          : await post(bodies[k]!).then(
              (r) => `${r.status} ${r.code}`,
              (e: Error) => e.message,
            );
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
  process.send!(Object.fromEntries(counts));
}

// ---- the measuring side ----
async function measure(seconds: number): Promise<number[]> {
  const times: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  let i = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      const body = JSON.stringify({ query: NORMAL[i++ % NORMAL.length] });
      const started = performance.now();
      const { status, code } = await post(body);
      if (status !== 200 || code) throw new Error(`normal request failed: ${status} ${code}`);
      times.push(performance.now() - started);
    }
  };
  await Promise.all([loop(), loop()]);
  return times.sort((a, b) => a - b);
}

async function seed(url: string): Promise<void> {
  const prisma = createPrisma(url);
  const dataset = await prisma.dataset.create({ data: { name: 'bench', kind: 'SYNTHETIC', status: 'READY' } });
  for (let r = 0; r < 20; r++) {
    const run = await prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {}, status: 'SUCCEEDED' } });
    const points = Array.from({ length: 2000 }, (_, i) => ({
      runId: run.id,
      step: i + 1,
      epoch: 1,
      batch: i + 1,
      loss: 1 / (i + 1),
      examplesPerSec: 100,
    }));
    await prisma.lossPoint.createMany({ data: points });
  }
  await prisma.$disconnect();
}

async function waitForApi(child: ChildProcess): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the API did not start');
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 15);
  const admin = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_abuse_bench_${process.pid}`;
  const adminClient = new pg.Client(admin);
  adminClient.on('error', (e) => console.error('admin connection:', e.message));
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  const dbUrl = Object.assign(new URL(admin), { pathname: `/${name}` }).href;
  const self = fileURLToPath(import.meta.url);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    GLIMPSE_DATA_DIR: `/tmp/${name}`,
    GLIMPSE_LOG_LEVEL: 'error',
  };
  delete env.GLIMPSE_API_KEYS;
  const api = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'api'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForApi(api);
    await seed(dbUrl);
    await measure(2); // warm-up
    const alone = await measure(seconds);
    const abuser = spawn(process.execPath, [...process.execArgv, self, '--abuser', String(seconds + 1)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const abuseCounts = new Promise<Record<string, number>>((resolve) =>
      abuser.once('message', (m) => resolve(m as Record<string, number>)),
    );
    await new Promise((r) => setTimeout(r, 500));
    const underAbuse = await measure(seconds);
    const counts = await abuseCounts;
    const row = (label: string, t: number[]) =>
      `| ${label} | ${t.length} | ${percentile(t, 50).toFixed(1)} | ${percentile(t, 99).toFixed(1)} | ${t[t.length - 1]!.toFixed(1)} |`;
    console.log(
      `\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ${seconds} s per phase, 2 normal clients\n`,
    );
    console.log('| normal requests | count | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|');
    console.log(row('alone', alone));
    console.log(row('while the abuser runs', underAbuse));
    console.log('\n| abusive request → answer | count |\n|---|---:|');
    for (const [outcome, n] of Object.entries(counts).sort()) console.log(`| ${outcome} | ${n} |`);
  } catch (e) {
    console.error('bench failed:', e);
    process.exitCode = 1;
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
    await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await adminClient.end();
  }
}

if (process.argv[2] === '--abuser') await abuse(Number(process.argv[3]));
else await main();
