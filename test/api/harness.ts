// A real API on a fresh database for one test file, plus HTTP and graphql-ws clients.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/index.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { startApi, type RunningApi, type StartApiOptions } from '../../src/server/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
}

export interface TestApi {
  db: TestDatabase;
  api: RunningApi;
  events: EventBus;
  queue: JobQueue;
  /** POST a JSON GraphQL request */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** POST a prepared JSON body (e.g. one too large to build twice); the status and headers too */
  post(body: string, token?: string): Promise<{ status: number; headers: Headers; json: GraphQLResponse }>;
  /** a graphql-ws client on the same URL (closed by close()) */
  ws(token?: string): Client;
  close(): Promise<void>;
}

export async function startTestApi(env: Record<string, string> = {}, options: Partial<StartApiOptions> = {}): Promise<TestApi> {
  const db = await createTestDatabase();
  const events = await createEventBus(db.url);
  const queue = await createQueue(db.url);
  await queue.start();
  const config = loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-api-test', ...env });
  const api = await startApi({ config, prisma: db.prisma, events, queue, port: 0, host: '127.0.0.1', ...options });
  const clients: Client[] = [];
  return {
    db,
    api,
    events,
    queue,
    async gql(query, variables, token) {
      const res = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return res.json() as Promise<GraphQLResponse<any>>;
    },
    async post(body, token) {
      const res = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
      return { status: res.status, headers: res.headers, json: (await res.json()) as GraphQLResponse };
    },
    ws(token) {
      const client = createClient({
        url: api.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await api.close();
      await queue.stop();
      await events.close();
      await db.drop();
    },
  };
}

export interface Collected<T> {
  /** results received so far (data or errors) */
  results: GraphQLResponse<T>[];
  /** resolves when the server completes the stream; rejects on a socket/protocol error */
  completed: Promise<void>;
  /** resolves once at least n results arrived */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

/** Subscribes and records every result; lets a test wait for counts or completion. */
export function collect<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown>): Collected<T> {
  const results: GraphQLResponse<T>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let unsubscribe = () => {};
  const completed = new Promise<void>((resolve, reject) => {
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          results.push(result as GraphQLResponse<T>);
          for (const w of waiters.filter((w) => results.length >= w.n)) w.resolve();
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  completed.catch(() => {});
  return {
    results,
    completed,
    unsubscribe: () => unsubscribe(),
    waitFor(n, timeoutMs = 10_000) {
      if (results.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${results.length} of ${n} results after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** The error codes of a response, in order. */
export const codes = (response: GraphQLResponse): unknown[] => (response.errors ?? []).map((e) => e.extensions?.code);
