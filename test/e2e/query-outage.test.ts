// Outage masking: queries made in the seconds before the database watcher (src/db/watch.ts) notices a
// Postgres outage came back as the masked "Internal server error (request id …)". Here the API runs on a
// Postgres this file owns and stops (never the machine's shared server), with a watcher that has not noticed
// yet (it pings once a minute): pooled connections cut by the shutdown and fresh ones refused both answer the
// typed, retryable SERVICE_UNAVAILABLE over HTTP and graphql-ws, never INTERNAL_SERVER_ERROR, and no caller
// reads the database's address. Back up, the same queries answer.
import { rm } from 'node:fs/promises';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../../src/db/client.ts';
import { type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { type DatabaseHealth, watchDatabase } from '../../src/db/watch.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { startApi, type RunningApi } from '../../src/server/app.ts';
import { freePort, NO_QUEUE, ownPostgresDir, startOwnPostgres } from '../helpers/own-postgres.ts';
import { until } from '../helpers/until.ts';

const KEY = 'k1';
const silent = pino({ level: 'silent' });

let pgDir: string;
let port: number;
let db: Database | undefined;
let prisma: PrismaClient;
let events: EventBus;
let health: DatabaseHealth;
let api: RunningApi;
let client: Client | undefined;

beforeAll(async () => {
  pgDir = await ownPostgresDir('glimpse-query-outage-');
  port = await freePort();
  db = await startOwnPostgres(pgDir, port);
  await migrate(db.url);
  prisma = createPrisma(db.url, { max: 3 });
  events = await createEventBus(db.url, { onError: () => {} });
  // the first ping is a minute away: every query below runs before the watcher could notice
  health = watchDatabase(db.url, { log: silent, graceSeconds: 0, onGraceExceeded: () => {}, intervalMs: 60_000 });
  const config = loadConfig({ GLIMPSE_DATA_DIR: pgDir, GLIMPSE_API_KEYS: KEY, GLIMPSE_PUBLIC_READ: 'true' });
  api = await startApi({ config, prisma, events, queue: NO_QUEUE, port: 0, host: '127.0.0.1', database: health, log: silent });
});
afterAll(async () => {
  await client?.dispose();
  await api?.close();
  health?.stop();
  await events?.close();
  await prisma?.$disconnect();
  await db?.stop();
  if (pgDir) await rm(pgDir, { recursive: true, force: true });
});

const QUERY = '{ datasetsConnection(first: 5) { totalCount } }';

interface Answer {
  status: number;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
}

async function post(token?: string): Promise<Answer> {
  const res = await fetch(api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: QUERY }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

function overWebSocket(): Promise<Answer['body']> {
  client ??= createClient({ url: api.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise((resolve, reject) => {
    let result: Answer['body'] = {};
    client!.subscribe(
      { query: QUERY },
      {
        next: (value) => (result = value as Answer['body']),
        error: (errors) => (Array.isArray(errors) ? resolve({ errors: errors as NonNullable<Answer['body']['errors']> }) : reject(errors)),
        complete: () => resolve(result),
      },
    );
  });
}

function expectUnavailable(body: Answer['body'], text = JSON.stringify(body)): void {
  expect(body.errors, text).toEqual([
    expect.objectContaining({
      message: 'database unreachable: try again shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: 5, requestId: expect.any(String) },
    }),
  ]);
  expect(text).not.toContain('INTERNAL_SERVER_ERROR');
  expect(text).not.toContain(String(port));
  expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|connect |Internal server error/);
}

describe('a query in the first seconds of a Postgres outage', () => {
  it('answers SERVICE_UNAVAILABLE (HTTP and graphql-ws, pooled and fresh connections), never INTERNAL; back up, it answers', async () => {
    const before = await post();
    expect(before.body).toEqual({ data: { datasetsConnection: { totalCount: 0 } } });
    expect(await overWebSocket()).toEqual({ data: { datasetsConnection: { totalCount: 0 } } });

    await db!.stop(); // the pool's connections are cut; new ones are refused
    expect(health.up).toBe(true); // the watcher has not noticed: the queries reach the resolvers

    for (const token of [undefined, KEY, undefined]) {
      const answer = await post(token);
      expectUnavailable(answer.body, answer.text);
    }
    expectUnavailable(await overWebSocket());
    expect(health.up).toBe(true);

    db = await startOwnPostgres(pgDir, port);
    const back = await until(
      () => post(),
      (a) => a.body.errors === undefined,
      30_000,
      200,
    );
    expect(back.body).toEqual({ data: { datasetsConnection: { totalCount: 0 } } });
  }, 120_000);
});
