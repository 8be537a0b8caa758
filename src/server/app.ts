// The API process's HTTP side: express + Apollo Server on /graphql (POST, GET, multipart uploads),
// graphql-ws on the same port and path, /healthz, /livez, /readyz, /metrics, and graceful close.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { mountBulkResults } from './bulk-results.ts';
import express, { type Express } from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import type { Config } from '../config/index.ts';
import type { PrismaClient } from '../db/client.ts';
import type { EventBus } from '../events/index.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { buildApiSchema } from '../resolvers/schema.ts';
import { createImageCheckPool } from '../sources/image-check-pool.ts';
import { hasScope } from '../keys/scopes.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { KeyRing } from './keyring.ts';
import { mountModelFiles } from './model-files.ts';
import { bearerToken, contextFactory, operationNameLogPlugin, requestIdFrom, type SharedContext } from './request-context.ts';
import { apolloErrorMasking, logOnRequestLog, type InternalErrorLogger } from './error-masking.ts';
import { createOperationGuard, guardPlugin, retryAfterPlugin } from './guard.ts';
import { DocumentCache } from './document-cache.ts';
import { limitRules, parseOptions, precheck, restoreLimitCode } from './limits.ts';
import { databaseGate, mountHealth, mountProbes, type DatabaseState } from './health.ts';
import { createApiMetrics, mountMetrics } from './metrics.ts';
import { watchEventLoop } from '../process/event-loop.ts';
import type { MetricsSource } from '../process/metrics.ts';
import { attachWebSocket } from './websocket.ts';
import { bodyErrors } from './body-errors.ts';
import { processRequestIn } from './multipart.ts';
import { openProcessTemp } from '../storage/temp.ts';
import { listenError, listeningOn, type ListenAddress } from './listen.ts';

export const GRAPHQL_PATH = '/graphql';
/** an upload's checked set is stored (putDir) after its checks: time allowed for that on top of them */
const UPLOAD_STORE_MS = 10 * 60_000;

export interface StartApiOptions {
  config: Config;
  prisma: PrismaClient;
  events: EventBus;
  queue: ApiContext['queue'];
  /** default config.port; 0 picks a free port */
  port?: number;
  /** listen address (default config.host: HOST, else 127.0.0.1) */
  host?: string;
  /** caption images larger than this are refused with BAD_USER_INPUT (default 10 MiB) */
  maxImageBytes?: number;
  /**
   * Hook for the browser IDE / dashboard: called with the express app after /healthz and BEFORE the
   * GraphQL handler, so it can serve `GET /graphql` with `Accept: text/html` (Apollo's landing page is
   * disabled) and any other page.
   */
  mountWeb?: (app: Express) => void;
  /** the API's logger (default: the process logger with role "api"); each request logs on a child of it */
  log?: Logger;
  /** where internal errors go (default: an error line on the request's logger) */
  logInternalError?: InternalErrorLogger;
  /** the database watcher (src/db/watch.ts): while it sees the database down, GraphQL answers 503 */
  database?: DatabaseState;
  /** true from the process's first stop signal on: /readyz answers 503 (src/process/lifecycle.ts) */
  draining?: () => boolean;
  /** other processes' metrics in each /metrics scrape (npm start's worker children) */
  metricsSources?: readonly MetricsSource[];
}

export interface RunningApi {
  /** http://host:port/graphql (also the ws:// endpoint, same path); 127.0.0.1 when listening on every interface */
  url: string;
  port: number;
  /** the address actually bound, for the start-up log (e.g. "0.0.0.0:4000 (every interface)") */
  listening: ListenAddress;
  /** start-up warnings for the operator (listening beyond loopback without API keys) */
  warnings: readonly string[];
  app: Express;
  httpServer: Server;
  /** stops accepting, ends subscriptions, drains in-flight requests */
  close(): Promise<void>;
}

export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const { config, prisma } = options;
  const maxImageBytes = options.maxImageBytes ?? config.maxImageBytes;
  const logInternal = options.logInternalError ?? logOnRequestLog;
  const apiLog = options.log ?? rootLog.child({ role: 'api' });
  const httpServer = createServer();
  // the longest an upload's files may be in use: its request (node's requestTimeout), then its checks
  const longestUploadMs = httpServer.requestTimeout + config.datasetChecks.seconds * 1000 + UPLOAD_STORE_MS;
  const temp = await openProcessTemp(config.paths.tmp, longestUploadMs);
  if (temp.swept.length)
    apiLog.info({ swept: temp.swept }, `removed ${temp.swept.length} left-over upload folder(s) from ${config.paths.tmp}`);
  const shared: SharedContext = {
    prisma,
    events: options.events,
    queue: options.queue,
    limits: {
      maxImageBytes,
      maxImagePixels: config.maxImagePixels,
      captionQueueLimit: config.captionQueueLimit,
      maxSyntheticImages: config.maxSyntheticImages,
      maxDatasetUploadBytes: config.maxDatasetUploadBytes,
      maxTrainingMemory: config.workerMaxMemory,
      datasetChecks: config.datasetChecks,
    },
    imageChecks: createImageCheckPool(config.datasetChecks.threads),
    paths: config.paths,
    tempDir: temp.dir,
    sources: {
      datasetRoots: config.datasetRoots,
      hosts: config.backboneDownloads.hosts,
      allowPrivate: config.backboneDownloads.allowPrivate,
    },
    // the worker beats every heartbeatSeconds; three missed beats and it no longer counts
    workerTimeoutMs: 3 * config.heartbeatSeconds * 1000,
  };

  const metrics = createApiMetrics({
    prisma,
    queue: options.queue,
    workerTimeoutMs: shared.workerTimeoutMs,
    maxOperationNames: config.metrics.maxOperationNames,
    database: options.database,
    ...(options.metricsSources ? { sources: options.metricsSources } : {}),
  });
  const loop = watchEventLoop();
  const schema = await buildApiSchema();
  const app = express();
  httpServer.on('request', app);
  const limits = config.queryLimits;
  const rules = limitRules(limits);
  // texts that passed the limit rules (Apollo keeps its own cache of fully validated documents)
  const passedLimits = new DocumentCache();
  const guard = createOperationGuard({
    schema,
    limits,
    mutationsPerMinute: config.mutationsPerMinute,
    mutationsPerMinutePerKey: config.mutationsPerMinutePerKey,
  });
  // base64 images travel inside JSON: leave room for the encoding, the size check itself is typed
  const maxBodyBytes = Math.ceil(maxImageBytes * 1.5) + 1024 * 1024;
  const keys = new KeyRing({
    prisma,
    events: options.events,
    envKeys: config.apiKeys,
    publicRead: config.publicRead,
    cacheMs: config.apiKeyCacheSeconds * 1000,
    log: apiLog,
  });
  const holdsKey = (token: string | null) => keys.holdsKey(token);
  const context = contextFactory(shared, apiLog, (token) => keys.identify(token));
  const ws = attachWebSocket(httpServer, {
    path: GRAPHQL_PATH,
    schema,
    context,
    log: apiLog,
    logInternal,
    limits,
    guard,
    maxPayload: maxBodyBytes,
    connections: config.webSocketLimits,
    metrics,
    keys: { identify: (token) => keys.identify(token), onChange: (l) => keys.onChange(l), everyMs: config.apiKeyCacheSeconds * 1000 },
    ...(options.database ? { database: options.database } : {}),
  });
  const masking = apolloErrorMasking(logInternal);
  const apollo = new ApolloServer<ApiContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // the process owner (src/main.ts) drains on SIGTERM/SIGINT; Apollo's own handler would stop the
    // server and then re-send the signal to the process, cutting the worker's drain short
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => restoreLimitCode(masking.formatError(formatted, error), error),
    parseOptions: parseOptions(limits),
    validationRules: rules,
    plugins: [
      metrics.plugin,
      operationNameLogPlugin,
      masking.plugin,
      guardPlugin(guard),
      retryAfterPlugin,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: () => ws.close() }) },
    ],
  });
  await apollo.start();

  // multipart files are buffered in this process's folder under <dataDir>/tmp, not os.tmpdir() (./multipart.ts)
  const processRequest = processRequestIn(temp.dir);
  const imageUploads = graphqlUploadExpress({ processRequest, maxFileSize: maxImageBytes + 1, maxFiles: 1 });
  const keyHolderUploads = graphqlUploadExpress({
    processRequest,
    maxFileSize: Math.max(maxImageBytes, config.maxDatasetUploadBytes) + 1,
    maxFiles: 1,
  });

  app.disable('x-powered-by');
  mountHealth(app, prisma, shared.workerTimeoutMs, holdsKey, options.database);
  mountProbes(app, {
    prisma,
    loop,
    maxDelaySeconds: config.metrics.livezMaxDelaySeconds,
    draining: options.draining ?? (() => false),
    database: options.database,
  });
  mountMetrics(app, metrics, (token) => keys.admits(token));
  mountBulkResults(app, prisma, (token) => keys.identify(token));
  mountModelFiles(app, { prisma, identify: (token) => keys.identify(token) });
  options.mountWeb?.(app);
  app.use(
    GRAPHQL_PATH,
    databaseGate(options.database, holdsKey),
    express.json({ limit: maxBodyBytes }),
    // one file per request, cut past the image limit, or for callers with the `train` scope (who alone may
    // create datasets) past the larger of the image and dataset-zip limits; each field checks its own while it
    // streams (caption images: readUpload, dataset zips: src/resolvers/datasets/dataset-upload.ts)
    (req, res, next) => {
      keys.identify(bearerToken(req.headers.authorization)).then(
        (caller) => (hasScope(caller, 'train') ? keyHolderUploads : imageUploads)(req, res, next),
        () => imageUploads(req, res, next),
      );
    },
    // the query's length, tokens, depth, aliases and directives, before Apollo's full validation (GET: ?query=…,
    // POST: JSON or multipart operations)
    (req, res, next) => {
      const query: unknown = req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
      const { errors } = precheck(schema, query, limits, rules, passedLimits);
      if (!errors) return next();
      metrics.refused(errors.map((e) => e.extensions.code));
      res.status(400).json({
        errors: errors.map((e) => ({ message: e.message, ...(e.locations ? { locations: e.locations } : {}), extensions: e.extensions })),
      });
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = requestIdFrom(req.headers['x-request-id']);
        res.setHeader('x-request-id', requestId);
        return context({
          token: bearerToken(req.headers.authorization),
          requestId,
          clientAddress: req.socket.remoteAddress ?? 'unknown',
        });
      },
    }),
  );
  app.use(bodyErrors(maxImageBytes));

  const requestedPort = options.port ?? config.port;
  const requestedHost = options.host ?? config.host;
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(requestedPort, requestedHost, () => resolve());
    });
  } catch (error) {
    loop.stop();
    await ws.close().catch(() => {});
    await apollo.stop().catch(() => {});
    await shared.imageChecks.close();
    await temp.remove();
    await keys.close();
    throw listenError(error, requestedHost, requestedPort);
  }
  const listening = listeningOn(httpServer.address() as AddressInfo);
  const host = listening.everyInterface ? '127.0.0.1' : listening.host;
  const open =
    !listening.loopback &&
    !(await keys.identify(null).then(
      (caller) => caller.keysRequired,
      () => true,
    ));
  const warnings = open
    ? [
        `listening on ${listening.text} without API keys: anyone who can reach this address can start training runs and delete data; create one (\`glimpse keys create --name admin --scopes admin\`) or set GLIMPSE_API_KEYS (or HOST=127.0.0.1)`,
      ]
    : [];
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${listening.port}${GRAPHQL_PATH}`,
    port: listening.port,
    listening,
    warnings,
    app,
    httpServer,
    close: async () => {
      loop.stop();
      await apollo.stop();
      await shared.imageChecks.close();
      await temp.remove();
      await keys.close();
    },
  };
}
