// Captions under load (issue 19): N concurrent clients, each sends requestCaption over HTTP for a real image,
// then follows captionStream over graphql-ws (the real `graphql-ws` client on `ws`) to its final event. Per N
// one row: completed, typed refusals by code (SERVICE_OVERLOADED, RATE_LIMITED, …: each a client told to retry),
// internal errors, other failures (socket, timeout), latency request → final event (p50/p95/max), captions/s
// (completed ÷ first request to last final event), and the worker's batched decode rate in the same round
// (Σ batch size ÷ Σ decode time of the batches that served it, from CaptionRequest.timings) with the share of it
// the API delivered. Clients share WebSockets, --per-socket operations each (default 10: under the server's 100
// sockets per address and 20 operations per socket).
//
//   npx tsx bench/caption-load.ts [--clients 50,100,200,500] [--epochs 1] [--per-socket 10]
//       starts `npm start`'s process (src/main.ts: API + supervised training and caption workers) on a scratch
//       database (BENCH_DATABASE_URL, an admin connection, default postgresql://postgres@127.0.0.1:5432/postgres)
//       and a temp data dir, with an API key (clients send it: the per-key budget applies), trains the demo set's
//       model at the API defaults for --epochs, then runs the rounds
//   npx tsx bench/caption-load.ts --url http://127.0.0.1:4000/graphql --model <id> [--key <api key>]
//       against a running server and model
//   --cpu-prof DIR   (first form) writes a CPU profile of the API process (npm start's main process) into DIR
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import sharp from 'sharp';
import WebSocket from 'ws';
import { ensureDatabase } from '../src/db/database.ts';

const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const CLIENTS = (option('clients') ?? '50,100,200,500').split(',').map(Number);
const EPOCHS = Number(option('epochs') ?? 1);
const PER_SOCKET = Number(option('per-socket') ?? 10);
const TIMEOUT_MS = Number(option('timeout-s') ?? 600) * 1000;

interface Outcome {
  kind: 'completed' | 'typed' | 'internal' | 'other';
  code?: string;
  ms?: number;
  /** requestCaption answered (ms after the client started) */
  acceptedMs?: number;
  endedAt?: number;
  id?: string;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN;
const seconds = (ms: number) => (Number.isNaN(ms) ? '–' : (ms / 1000).toFixed(2));

function classify(errors: readonly { extensions?: Record<string, unknown> }[]): Outcome {
  const code = String(errors[0]?.extensions?.code ?? 'UNKNOWN');
  return code === 'INTERNAL_SERVER_ERROR' ? { kind: 'internal', code } : { kind: 'typed', code };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(500);
  }
}

function graphql(url: string, key: string | undefined) {
  return async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  };
}

/** `npm start` (src/main.ts) on a scratch database; returns its URL and a stop function */
async function startServer(key: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_load_${process.pid}`;
  await ensureDatabase(admin, name);
  const dbUrl = new URL(admin);
  dbUrl.pathname = `/${name}`;
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-load-'));
  const port = await freePort();
  // --cpu-prof DIR: a CPU profile of the API process (npm start's main process), written when it stops
  const profile = option('cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', option('cpu-prof')!] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl.toString(),
      GLIMPSE_DATA_DIR: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      GLIMPSE_API_KEYS: key,
      GLIMPSE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}/graphql`;
  await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok), Boolean, 180_000, 'the server');
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** the demo set's model at the API defaults, trained for EPOCHS */
async function trainDemoModel(gql: ReturnType<typeof graphql>): Promise<string> {
  const ready = await until(
    () => gql(`{ datasetsConnection(status: READY) { edges { node { id name } } } }`),
    (r) => (r.data?.datasetsConnection.edges.length ?? 0) > 0,
    600_000,
    'the demo dataset',
  );
  const datasetId = ready.data.datasetsConnection.edges[0].node.id;
  const started = await gql(`mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, { i: { datasetId, epochs: EPOCHS } });
  if (started.errors) throw new Error(started.errors[0]!.message);
  const t0 = Date.now();
  const run = await until(
    () => gql(`query($id: ID!) { trainingRun(id: $id) { status error model { id } } }`, { id: started.data.startTraining.id }),
    (r) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.data?.trainingRun.status),
    3_600_000,
    'training',
  );
  if (!run.data.trainingRun.model) throw new Error(`training ended ${run.data.trainingRun.status}: ${run.data.trainingRun.error}`);
  console.log(`model: the demo set's at the API defaults, ${EPOCHS} epoch(s), trained in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return run.data.trainingRun.model.id;
}

/** one client: requestCaption, then captionStream to its end */
async function client(gql: ReturnType<typeof graphql>, ws: Client, modelId: string, imageBase64: string): Promise<Outcome> {
  const t0 = performance.now();
  let id: string;
  let acceptedMs = 0;
  try {
    const res = await gql(`mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id } }`, { i: { modelId, imageBase64 } });
    if (res.errors) return classify(res.errors);
    id = res.data.requestCaption.id;
    acceptedMs = performance.now() - t0;
  } catch (error) {
    return { kind: 'other', code: (error as Error).message };
  }
  return new Promise<Outcome>((resolve) => {
    let outcome: Outcome | undefined;
    const timer = setTimeout(() => finish({ kind: 'other', code: 'TIMEOUT' }), TIMEOUT_MS);
    const finish = (o: Outcome) => {
      clearTimeout(timer);
      resolve(outcome ?? o);
    };
    const stop = ws.subscribe<{ captionStream: { done: boolean } }>(
      { query: `subscription($id: ID!) { captionStream(requestId: $id) { done } }`, variables: { id } },
      {
        next: (r) => {
          if (r.errors) outcome ??= classify(r.errors);
          else if (r.data?.captionStream.done)
            outcome ??= { kind: 'completed', ms: performance.now() - t0, acceptedMs, endedAt: performance.now(), id };
        },
        error: (e) => finish(Array.isArray(e) ? classify(e) : { kind: 'other', code: 'SOCKET' }),
        complete: () => finish(outcome ?? { kind: 'other', code: 'NO_FINAL_EVENT' }),
      },
    );
    void stop;
  });
}

/** the worker's batched decode rate over the batches that served `ids` (captions/s while decoding) */
async function decodeRate(
  gql: ReturnType<typeof graphql>,
  ids: string[],
): Promise<{ rate: number; meanBatch: number; queueMs: number[]; batches: { size: number; ms: number; start: number }[] }> {
  const batches = new Map<string, { size: number; ms: number; start: number }>();
  const queueMs: number[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    const page = await Promise.all(
      ids.slice(i, i + 10).map((id) => gql(`query($id: ID!) { captionRequest(id: $id) { createdAt startedAt timings } }`, { id })),
    );
    for (const r of page) {
      if (r.errors) throw new Error(`reading timings: ${r.errors[0]!.message}`);
      const c = r.data!.captionRequest;
      const t = c.timings as { decodeMs: number; batchSize: number; queueMs: number };
      queueMs.push(t.queueMs);
      // the batch's start on the worker's clock: the row's creation + its queue wait (both epoch ms, one machine)
      const start = Date.parse(c.createdAt as string) + t.queueMs;
      batches.set(`${c.startedAt}|${t.decodeMs}`, { size: t.batchSize, ms: t.decodeMs, start });
    }
  }
  const all = [...batches.values()];
  const size = all.reduce((s, b) => s + b.size, 0);
  return {
    rate: size / (all.reduce((s, b) => s + b.ms, 0) / 1000),
    meanBatch: size / all.length,
    queueMs: queueMs.sort((a, b) => a - b),
    batches: all,
  };
}

/**
 * The round's wall time split on the worker's timeline (epoch ms): lead-in (first request sent → first batch
 * starts), decoding (the batches' union), gaps between batches, tail (last batch ends → last final event).
 */
function timeline(t0: number, lastEvent: number, batches: { ms: number; start: number }[]): string {
  const spans = batches.map((b) => [b.start, b.start + b.ms] as const).sort((a, b) => a[0] - b[0]);
  if (spans.length === 0) return '';
  let busy = 0;
  let end = spans[0]![0];
  for (const [s, e] of spans) {
    if (e <= end) continue;
    busy += e - Math.max(s, end);
    end = e;
  }
  const first = spans[0]![0];
  const gaps = end - first - busy;
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `lead-in ${f(first - t0)}, decoding ${f(busy)} in ${spans.length} batches, gaps ${f(gaps)}, tail ${f(lastEvent - end)}`;
}

/** one line per round: where its time went */
const phases: string[] = [];

async function round(url: string, key: string | undefined, modelId: string, image: string, n: number): Promise<string> {
  const gql = graphql(url, key);
  const sockets = Array.from({ length: Math.ceil(n / PER_SOCKET) }, () =>
    createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: key ? { authorization: `Bearer ${key}` } : {},
      retryAttempts: 0,
    }),
  );
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => client(gql, sockets[i % sockets.length]!, modelId, image)));
  await Promise.all(sockets.map((s) => s.dispose()));
  const done = outcomes.filter((o) => o.kind === 'completed');
  const ms = done.map((o) => o.ms!).sort((a, b) => a - b);
  const wall = Math.max(...done.map((o) => o.endedAt!)) - t0;
  const perSecond = done.length / (wall / 1000);
  const tally = (kind: Outcome['kind']) => {
    const counts = new Map<string, number>();
    for (const o of outcomes.filter((x) => x.kind === kind)) counts.set(o.code!, (counts.get(o.code!) ?? 0) + 1);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return total === 0 ? '0' : `${total} (${[...counts].map(([c, k]) => `${c} ${k}`).join(', ')})`;
  };
  const decode = done.length
    ? await decodeRate(
        gql,
        done.map((o) => o.id!),
      )
    : { rate: Number.NaN, meanBatch: Number.NaN, queueMs: [], batches: [] };
  const share = (100 * perSecond) / decode.rate;
  // where the time went, for the completed clients: requestCaption answered, then (the worker's timings) the wait
  // from the row's commit to its batch's start
  const accepted = done.map((o) => o.acceptedMs!).sort((a, b) => a - b);
  phases.push(
    `N = ${n}: requestCaption answered p50/p95 ${seconds(percentile(accepted, 50))}/${seconds(percentile(accepted, 95))} s; ` +
      `queue wait p50/p95 ${seconds(percentile(decode.queueMs, 50))}/${seconds(percentile(decode.queueMs, 95))} s; ` +
      timeline(performance.timeOrigin + t0, performance.timeOrigin + t0 + wall, decode.batches),
  );
  return `| ${n} | ${done.length} | ${tally('typed')} | ${outcomes.filter((o) => o.kind === 'internal').length} | ${tally('other')} | ${seconds(percentile(ms, 50))} | ${seconds(percentile(ms, 95))} | ${seconds(ms.at(-1) ?? Number.NaN)} | ${perSecond.toFixed(1)} | ${decode.rate.toFixed(1)} | ${share.toFixed(0)} % | ${decode.meanBatch.toFixed(1)} |`;
}

async function main(): Promise<void> {
  const external = option('url');
  const key = external ? option('key') : randomBytes(16).toString('hex');
  const server = external ? { url: external, stop: async () => undefined } : await startServer(key!);
  // interrupted: the server and its scratch database go too
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.stop().finally(() => process.exit(130)));
  try {
    const gql = graphql(server.url, key);
    const modelId = option('model') ?? (await trainDemoModel(gql));
    // a real image of the kind the demo set holds: a red circle and a blue square on white
    const svg =
      '<svg width="64" height="64"><circle cx="20" cy="20" r="10" fill="red"/><rect x="36" y="36" width="18" height="18" fill="blue"/></svg>';
    const image = (
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } })
        .composite([{ input: Buffer.from(svg) }])
        .png()
        .toBuffer()
    ).toString('base64');
    console.log(await round(server.url, key, modelId, image, 3)); // warm-up: the caption worker loads the model
    const rows: string[] = [];
    for (const n of CLIENTS) {
      const load = loadavg().map((l) => l.toFixed(1));
      rows.push(await round(server.url, key, modelId, image, n));
      console.log(`${rows.at(-1)}   (load average before: ${load.join(' ')})`);
      await sleep(2000);
    }
    console.log(
      `\n${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ${PER_SOCKET} operations per WebSocket\n`,
    );
    console.log(
      '| N | completed | typed retry (by code) | internal | other | p50 s | p95 s | max s | captions/s | decode rate/s | of decode | mean batch |',
    );
    console.log('|--:|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const row of rows) console.log(row);
    console.log('');
    for (const line of phases.slice(1)) console.log(line); // the warm-up round left out
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
