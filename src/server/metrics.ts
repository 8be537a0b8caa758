// The API process's metrics (names: src/process/metrics.ts) and GET /metrics. Measured here: GraphQL
// operations (count and duration by operation type and name, errors by code). Read from Postgres at
// scrape time, once per scrape whoever scrapes: queue depth and oldest job age per queue, live workers
// by role, training runs by status, artifact-store bytes, and whether the database answers. Under
// `npm start` the scrape also carries the worker children's metrics (`sources`, src/process/metrics-ipc.ts).
//
// /metrics follows the rule of /healthz's detail: with GLIMPSE_API_KEYS set it needs a valid key
// (GLIMPSE_PUBLIC_READ does not open it); without keys it is open, as every read is.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Express } from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PrismaClient } from '../db/client.ts';
import { RunStatus } from '../db/client.ts';
import { BoundedLabel, METRIC, processRegistry, scrape, type MetricsSource } from '../process/metrics.ts';
import { QUEUE_NAMES, type JobQueue } from '../queue/queue.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import type { KeyCheck } from './health.ts';
import type { DatabaseState } from './health.ts';
import { bearerToken } from './request-context.ts';

export interface ApiMetricsOptions {
  prisma: PrismaClient;
  queue: Pick<JobQueue, 'waiting'>;
  /** a worker counts as live while it beat within this many ms */
  workerTimeoutMs: number;
  maxOperationNames: number;
  database?: DatabaseState | undefined;
  /** other processes' metrics merged into each scrape (npm start's worker children) */
  sources?: readonly MetricsSource[];
}

export interface ApiMetrics {
  readonly registry: Registry;
  /** counts and times every GraphQL operation over HTTP */
  plugin: ApolloServerPlugin<ApiContext>;
  /** errors answered outside Apollo (a refusal of the query's size, depth …; graphql-ws): counted by code */
  refused(codes: readonly unknown[]): void;
  /** an operation started over graphql-ws (counted, not timed: a subscription lasts as long as the client wants) */
  webSocketOperation(type: string, name: string | undefined): void;
  text(): Promise<{ contentType: string; text: string }>;
}

/** seconds: GraphQL answers take milliseconds to seconds (a page of 100 models, an upload) */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** a scrape's database reads answer within this, or the state series are left out of that scrape */
const STATE_TIMEOUT_MS = 3000;

interface State {
  waiting: Awaited<ReturnType<JobQueue['waiting']>>;
  workers: { role: string; count: number }[];
  runs: { status: RunStatus; count: number }[];
  blobBytes: number;
}

async function readState(options: ApiMetricsOptions): Promise<State> {
  const { prisma } = options;
  const since = new Date(Date.now() - options.workerTimeoutMs);
  const [waiting, workers, runs, blobs] = await Promise.all([
    options.queue.waiting(),
    prisma.$queryRaw<{ role: string; count: number }[]>`
      SELECT role, count(*)::int AS count FROM "Worker", unnest(roles) AS role WHERE "lastSeenAt" >= ${since} GROUP BY role`,
    prisma.trainingRun.groupBy({ by: ['status'], _count: { _all: true } }),
    prisma.blob.aggregate({ _sum: { size: true } }),
  ]);
  return {
    waiting,
    workers,
    runs: runs.map((r) => ({ status: r.status, count: r._count._all })),
    blobBytes: Number(blobs._sum.size ?? 0),
  };
}

export function createApiMetrics(options: ApiMetricsOptions): ApiMetrics {
  const registry = processRegistry('api');
  const registers = [registry];
  const names = new BoundedLabel(options.maxOperationNames);
  // codes are the server's own, but a bound costs nothing
  const codes = new BoundedLabel(100);
  const operations = new Counter({
    name: METRIC.graphqlOperations,
    help: 'GraphQL operations, by transport (http, ws), type (query, mutation, subscription; unknown when it never parsed) and operation name (anonymous, or other past the cap)',
    labelNames: ['transport', 'type', 'name'],
    registers,
  });
  const duration = new Histogram({
    name: METRIC.graphqlDuration,
    help: 'time from receiving a GraphQL operation over HTTP to its answer, by type and operation name',
    labelNames: ['type', 'name'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: METRIC.graphqlErrors,
    help: 'errors in GraphQL answers, by extensions.code (INTERNAL_SERVER_ERROR: masked ones)',
    labelNames: ['code'],
    registers,
  });

  // the state, read once per scrape for all the series below (each collect() awaits the same read)
  let current: Promise<State | undefined> | undefined;
  const fresh = () => {
    const read = options.database && !options.database.up ? Promise.resolve(undefined) : readState(options);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), STATE_TIMEOUT_MS);
    });
    current = Promise.race([read.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
    return current;
  };
  const state = () => current ?? fresh();
  /** a gauge set from the state at each scrape; without a state (database down) it has no series */
  const stateGauge = (name: string, help: string, labelNames: string[], fill: (gauge: Gauge, s: State) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const s = await state();
        if (s) fill(this, s);
      },
    });
  stateGauge(METRIC.queueDepth, 'jobs waiting to be taken per queue (live ones: as serverInfo.queueDepth)', ['queue'], (g, s) => {
    for (const q of QUEUE_NAMES) g.set({ queue: q }, s.waiting[q].depth);
  });
  stateGauge(METRIC.queueOldestJobAge, 'age of the job waiting longest per queue, 0 when none waits', ['queue'], (g, s) => {
    for (const q of QUEUE_NAMES) g.set({ queue: q }, s.waiting[q].oldestAgeSeconds);
  });
  stateGauge(
    METRIC.workersLive,
    'workers that beat within 3 heartbeats, per role (a worker counts once for each of its roles)',
    ['role'],
    (g, s) => {
      for (const role of QUEUE_NAMES) g.set({ role }, s.workers.find((w) => w.role === role)?.count ?? 0);
    },
  );
  stateGauge(METRIC.trainingRuns, 'training runs per status', ['status'], (g, s) => {
    for (const status of Object.values(RunStatus)) g.set({ status }, s.runs.find((r) => r.status === status)?.count ?? 0);
  });
  stateGauge(METRIC.artifactStoreBytes, 'bytes of the blobs in the artifact store (checkpoints, models, generated datasets)', [], (g, s) =>
    g.set(s.blobBytes),
  );
  new Gauge({
    name: METRIC.databaseUp,
    help: '1 while this API process reaches Postgres, 0 while it does not',
    registers,
    async collect() {
      this.set((await state()) ? 1 : 0);
    },
  });

  const countErrors = (list: readonly unknown[]) => {
    for (const code of list) errors.inc({ code: codes.value(typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR') });
  };
  return {
    registry,
    refused: countErrors,
    webSocketOperation: (type, name) => operations.inc({ transport: 'ws', type, name: names.value(name ?? 'anonymous') }),
    plugin: {
      async requestDidStart() {
        const started = performance.now();
        let labels = { type: 'unknown', name: 'anonymous' };
        return {
          async didResolveOperation({ operation, operationName }) {
            labels = { type: operation?.operation ?? 'unknown', name: names.value(operationName ?? 'anonymous') };
          },
          async didEncounterErrors({ errors: list }) {
            countErrors(list.map((e) => e.extensions?.code));
          },
          async willSendResponse() {
            operations.inc({ transport: 'http', ...labels });
            duration.observe(labels, (performance.now() - started) / 1000);
          },
        };
      },
    },
    text: () => {
      void fresh();
      return scrape(registry, options.sources);
    },
  };
}

/**
 * GET /metrics: the Prometheus text format; with API keys set (GLIMPSE_API_KEYS or managed keys), for key holders
 * only. `mayScrape`: true for a valid key, and for every caller when no key is configured.
 */
export function mountMetrics(app: Express, metrics: ApiMetrics, mayScrape: KeyCheck): void {
  app.get('/metrics', async (req, res) => {
    if (!(await mayScrape(bearerToken(req.headers.authorization)))) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer')
        .type('text')
        .send('/metrics needs "Authorization: Bearer <key>" (an API key: GLIMPSE_API_KEYS or glimpse keys create)\n');
      return;
    }
    const { contentType, text } = await metrics.text();
    res.set('content-type', contentType).set('cache-control', 'no-store').send(text);
  });
}
