// What managed API keys cost and how fast a revocation travels (src/server/keyring.ts), the numbers the tests
// only bound (test/api/keys.test.ts: ≤ 5 s):
//   request latency  `{ serverInfo { version } }` over HTTP on one API server: open (no key configured), a
//                    GLIMPSE_API_KEYS key, a managed key (cached after its first lookup)
//   revocation       revokeApiKey answered by API server A → the first refused request on API server B (its own
//                    event bus, key ring and pool; polled every 2 ms), and the same with B's notifications lost
//                    (B's cache period, GLIMPSE_API_KEY_CACHE_SECONDS = 1, is all that is left)
//
//   npx tsx bench/key-latency.ts [--runs 20] [--requests 300]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default
// postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created, migrated and dropped.
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createEventBus, type EventBus } from '../src/events/index.ts';
import { createKey } from '../src/keys/store.ts';
import { createLogger } from '../src/log.ts';
import { createQueue, type JobQueue } from '../src/queue/queue.ts';
import { type RunningApi, startApi } from '../src/server/app.ts';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = arg('--runs', 20);
const REQUESTS = arg('--requests', 300);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const silent = createLogger({ level: 'silent', pretty: false });

async function post(url: string, query: string, token?: string): Promise<string | undefined> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const json = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  return json.errors?.[0]?.extensions?.code;
}

async function server(url: string, prisma: PrismaClient, queue: JobQueue, env: Record<string, string>, events?: EventBus) {
  const bus = events ?? (await createEventBus(url));
  const config = loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-bench-keys', GLIMPSE_MUTATIONS_PER_MINUTE: '0', ...env });
  const api = await startApi({ config, prisma, events: bus, queue, port: 0, host: '127.0.0.1', log: silent });
  return { api, close: async () => (await api.close(), events ? undefined : await bus.close()) };
}

async function latencies(api: RunningApi, token?: string): Promise<number[]> {
  const query = '{ serverInfo { version } }';
  for (let i = 0; i < 20; i++) await post(api.url, query, token); // warm-up (and the key's first lookup)
  const out: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    const code = await post(api.url, query, token);
    out.push(performance.now() - started);
    if (code) throw new Error(`refused: ${code}`);
  }
  return out;
}

/** a bus that never wakes anyone: B's notifications are lost */
const deafBus: EventBus = {
  subscribe: () => ({
    next: () => new Promise<IteratorResult<void>>(() => {}),
    return: async () => ({ value: undefined, done: true }),
    [Symbol.asyncIterator]() {
      return this;
    },
  }),
  close: async () => {},
};

async function revocations(url: string, prisma: PrismaClient, queue: JobQueue, admin: string, deaf: boolean): Promise<number[]> {
  const a = await server(url, prisma, queue, {});
  const bPrisma = createPrisma(url, { max: 4 });
  const b = await server(url, bPrisma, queue, { GLIMPSE_API_KEY_CACHE_SECONDS: '1' }, deaf ? deafBus : undefined);
  const out: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const name = `r-${deaf ? 'deaf' : 'live'}-${i}`;
      const { secret } = await createKey(prisma, { name, scopes: ['read'], createdBy: 'bench' });
      await sleep(deaf ? 1100 : 50); // the creation's NOTIFY (or B's cache period) has passed
      if ((await post(b.api.url, '{ serverInfo { version } }', secret)) !== undefined) throw new Error('not accepted');
      if ((await post(a.api.url, `mutation { revokeApiKey(name: "${name}") { name } }`, admin)) !== undefined)
        throw new Error('not revoked');
      const revokedAt = performance.now();
      while ((await post(b.api.url, '{ serverInfo { version } }', secret)) !== 'UNAUTHENTICATED') await sleep(2);
      out.push(performance.now() - revokedAt);
    }
  } finally {
    await b.close();
    await a.close();
    await bPrisma.$disconnect();
  }
  return out;
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_bench_keys_${process.pid}`;
  await ensureDatabase(adminUrl, name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const prisma = createPrisma(url.toString(), { max: 4 });
  const queue = await createQueue(url.toString(), { max: 2 });
  await queue.start();
  try {
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()[0]!.toFixed(2)}; ${new Date().toISOString()}`);
    const rows: [string, number[]][] = [];
    const open = await server(url.toString(), prisma, queue, {});
    rows.push([`request, open (no key configured), ${REQUESTS} requests`, await latencies(open.api)]);
    const env = await server(url.toString(), prisma, queue, { GLIMPSE_API_KEYS: 'bench-env-key' });
    rows.push([`request, GLIMPSE_API_KEYS key, ${REQUESTS} requests`, await latencies(env.api, 'bench-env-key')]);
    await env.close();
    const { secret: admin } = await createKey(prisma, { name: 'bench-admin', scopes: ['admin'], createdBy: 'bench' });
    await sleep(100);
    rows.push([`request, managed key (cached), ${REQUESTS} requests`, await latencies(open.api, admin)]);
    await open.close();
    rows.push([`revoked on A → refused on B (NOTIFY), ${RUNS} keys`, await revocations(url.toString(), prisma, queue, admin, false)]);
    rows.push([
      `revoked on A → refused on B (notifications lost, 1 s cache), ${RUNS} keys`,
      await revocations(url.toString(), prisma, queue, admin, true),
    ]);
    console.log('| what | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|');
    for (const [label, values] of rows) {
      const sorted = [...values].sort((x, y) => x - y);
      const cells = [percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1)!].map((v) => v.toFixed(1));
      console.log(`| ${label} | ${cells.join(' | ')} |`);
    }
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
  } finally {
    await queue.stop({ graceful: false });
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

await main();
