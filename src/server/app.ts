// The API process's HTTP side: express + Apollo Server on /graphql (POST, GET, multipart uploads),
// graphql-ws on the same port and path, /healthz, and graceful close.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type Express } from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import type { Config } from '../config.ts';
import type { PrismaClient } from '../db/client.ts';
import type { EventBus } from '../events/index.ts';
import type { ApiContext } from '../resolvers/context.ts';
import { buildApiSchema } from '../resolvers/schema.ts';
import { bearerToken, requestContext, requestIdFrom, type SharedContext } from './context.ts';
import { apolloErrorMasking, logToStderr, type InternalErrorLogger } from './errors.ts';
import { databaseGate, mountHealth, type DatabaseState } from './health.ts';
import { attachWebSocket } from './websocket.ts';

export const GRAPHQL_PATH = '/graphql';

export interface StartApiOptions {
  config: Config;
  prisma: PrismaClient;
  events: EventBus;
  queue: ApiContext['queue'];
  /** default config.port; 0 picks a free port */
  port?: number;
  /** listen address (default: all interfaces) */
  host?: string;
  /** caption images larger than this are refused with BAD_USER_INPUT (default 10 MiB) */
  maxImageBytes?: number;
  /**
   * Hook for the browser IDE / dashboard: called with the express app after /healthz and BEFORE the
   * GraphQL handler, so it can serve `GET /graphql` with `Accept: text/html` (Apollo's landing page is
   * disabled) and any other page.
   */
  mountWeb?: (app: Express) => void;
  /** where internal errors go (default: one JSON line on stderr) */
  logInternalError?: InternalErrorLogger;
  /** the database watcher (src/db/health.ts): while it sees the database down, GraphQL answers 503 */
  database?: DatabaseState;
}

export interface RunningApi {
  /** http://host:port/graphql (also the ws:// endpoint, same path) */
  url: string;
  port: number;
  app: Express;
  httpServer: Server;
  /** stops accepting, ends subscriptions, drains in-flight requests */
  close(): Promise<void>;
}

/** Body parsers' errors (e.g. a JSON body over the limit) as GraphQL-shaped JSON. */
const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const status = typeof error?.status === 'number' ? error.status : 500;
  if (status >= 500) return next(error);
  res.status(status).json({ errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }] });
};

export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const { config, prisma } = options;
  const maxImageBytes = options.maxImageBytes ?? config.maxImageBytes;
  const log = options.logInternalError ?? logToStderr;
  const shared: SharedContext = {
    prisma,
    events: options.events,
    queue: options.queue,
    limits: { maxImageBytes },
    paths: config.paths,
    apiKeys: config.apiKeys,
    // the worker beats every heartbeatSeconds; three missed beats and it no longer counts
    workerTimeoutMs: 3 * config.heartbeatSeconds * 1000,
  };

  const schema = await buildApiSchema();
  const app = express();
  const httpServer = createServer(app);
  const ws = attachWebSocket(httpServer, GRAPHQL_PATH, schema, shared, log);
  const masking = apolloErrorMasking(log);
  const apollo = new ApolloServer<ApiContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // the process owner (src/main.ts) drains on SIGTERM/SIGINT; Apollo's own handler would stop the
    // server and then re-send the signal to the process, cutting the worker's drain short
    stopOnTerminationSignals: false,
    formatError: masking.formatError,
    plugins: [
      masking.plugin,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: () => ws.close() }) },
    ],
  });
  await apollo.start();

  app.disable('x-powered-by');
  mountHealth(app, prisma, shared.workerTimeoutMs, options.database);
  options.mountWeb?.(app);
  app.use(
    GRAPHQL_PATH,
    databaseGate(options.database),
    // base64 images travel inside JSON: leave room for the encoding, the size check itself is typed
    express.json({ limit: Math.ceil(maxImageBytes * 1.5) + 1024 * 1024 }),
    graphqlUploadExpress({ maxFileSize: maxImageBytes + 1, maxFiles: 1 }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = requestIdFrom(req.headers['x-request-id']);
        res.setHeader('x-request-id', requestId);
        return requestContext(shared, bearerToken(req.headers.authorization), requestId);
      },
    }),
  );
  app.use(bodyErrors);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? config.port, options.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}`,
    port,
    app,
    httpServer,
    close: () => apollo.stop(),
  };
}
