// graphql-ws on the HTTP server's /graphql path: subscriptions (and queries/mutations) over WebSocket,
// under the same limits as HTTP: message size (ws maxPayload: a larger frame closes the socket with 1009),
// query length, tokens, validation rules, read access, cost and mutation rate (./limits.ts, ./guard.ts);
// and its own: connections per client address (closed with 1013) and operations per connection
// (TOO_MANY_SUBSCRIPTIONS), ./connection-limits.ts. While the database watcher sees Postgres down, every
// operation gets SERVICE_UNAVAILABLE at once, as HTTP requests get 503 (./health.ts).
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { QueryLimits, WebSocketLimits } from '../config/index.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { ServiceUnavailableError } from '../resolvers/shared/api-errors.ts';
import { connectionLimiter, REFUSED_CLOSE_MS, TOO_MANY_CONNECTIONS_CLOSE, tooManyOperations } from './connection-limits.ts';
import type { DatabaseState } from './health.ts';
import { connectionParamsToken, type ContextFactory } from './request-context.ts';
import { formatErrors, type InternalErrorLogger } from './error-masking.ts';
import type { OperationGuard } from './guard.ts';
import type { Logger } from '../log.ts';
import { DocumentCache } from './document-cache.ts';
import { type KeyWatchOptions, keyWatch } from './key-watch.ts';
import { limitRules, parseOptions, precheck } from './limits.ts';
import type { ApiMetrics } from './metrics.ts';

export interface WebSocketEndpoint {
  /** closes every socket (ending their subscriptions) and the server */
  close(): Promise<void>;
}

export interface WebSocketOptions {
  path: string;
  schema: GraphQLSchema;
  /** each operation's context (./request-context.ts) */
  context: ContextFactory;
  /** the API's logger, for what concerns a connection rather than an operation */
  log: Logger;
  logInternal: InternalErrorLogger;
  limits: QueryLimits;
  guard: OperationGuard;
  /** largest accepted message in bytes */
  maxPayload: number;
  /** connections per client address, operations per connection (0: no limit) */
  connections: WebSocketLimits;
  /** the database watcher (src/db/watch.ts): while it sees the database down, operations get SERVICE_UNAVAILABLE */
  database?: DatabaseState;
  /** counts operations and error codes (./metrics.ts) */
  metrics?: Pick<ApiMetrics, 'webSocketOperation' | 'refused'>;
  /** re-checks the keys of open sockets when keys change: a revoked key's sockets are closed (./key-watch.ts) */
  keys?: Omit<KeyWatchOptions, 'log'>;
}

function operationHeaders(extensions: unknown): Record<string, unknown> | undefined {
  const headers = (extensions as { headers?: unknown } | null | undefined)?.headers;
  return headers !== null && typeof headers === 'object' ? (headers as Record<string, unknown>) : undefined;
}

/** The error with `extensions.code` set, unless it has one (the limit rules' own codes stay). */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}

export function attachWebSocket(httpServer: Server, options: WebSocketOptions): WebSocketEndpoint {
  const { path, schema, limits, guard, logInternal, database } = options;
  const ownRules = limitRules(limits);
  const perAddress = connectionLimiter(options.connections.connectionsPerAddress, options.log);
  // noServer: the HTTP server's upgrades are routed here explicitly, so the HTTP server's own errors (a port
  // in use) stay with it instead of being re-emitted on the WebSocket server
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  httpServer.on('upgrade', (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!perAddress.admit(request.socket)) {
      // never handed to graphql-ws (no connection context, no init timer); not counted, so it must not linger:
      // a client that does not answer the close frame is cut after REFUSED_CLOSE_MS, not ws's 30 s
      wsServer.handleUpgrade(request, socket, head, (client) => {
        client.close(TOO_MANY_CONNECTIONS_CLOSE, perAddress.refusal);
        const cut = setTimeout(() => client.terminate(), REFUSED_CLOSE_MS);
        client.once('close', () => clearTimeout(cut));
      });
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (client) => wsServer.emit('connection', client, request));
  });

  // A message over maxPayload: ws closes the socket with 1009 by itself; graphql-ws would also print the
  // RangeError with its stack on stderr for every such message (a log flood on demand), so the error is
  // kept from it and noted at debug level instead.
  wsServer.on('connection', (socket, request) => {
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'error' && (args[0] as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        options.log.debug(
          { clientAddress: request.socket.remoteAddress, maxPayload: options.maxPayload },
          'closed a WebSocket: message over the size limit (1009)',
        );
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
  });

  const watch = options.keys ? keyWatch({ ...options.keys, log: options.log }) : undefined;

  // subscription texts that passed the limits and graphql-js's rules (./document-cache.ts)
  const passed = new DocumentCache();
  type Subscribe = NonNullable<Parameters<typeof useServer<Record<string, unknown> | undefined>>[0]['onSubscribe']>;
  const subscribe: Subscribe = async (ctx, _id, payload) => {
    // graphql-ws has registered this operation already: it counts itself
    const crowded = tooManyOperations(Object.keys(ctx.subscriptions).length, options.connections.subscriptionsPerConnection);
    if (crowded) return [crowded];
    if (database && !database.up) return [new ServiceUnavailableError()];
    // a text that passed every rule before passes again; else the limits first and alone (cheap), then
    // graphql-js's own rules; codes as Apollo gives them over HTTP
    let document = passed.get(payload.query);
    if (!document) {
      const checked = precheck(schema, payload.query, limits, ownRules);
      if (checked.errors) return [...checked.errors];
      try {
        document = checked.document ?? parse(payload.query, parseOptions(limits));
      } catch (error) {
        return [withCode(error instanceof GraphQLError ? error : new GraphQLError(String(error)), 'GRAPHQL_PARSE_FAILED')];
      }
      const invalid = validate(schema, document, specifiedRules);
      if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
      passed.add(payload.query, document);
    }
    let contextValue: ApiContext;
    // the key from connectionParams, else from the operation's extensions.headers (what the GraphiQL IDE
    // sends over graphql-ws with the Headers tab)
    const token = connectionParamsToken(ctx.connectionParams) ?? connectionParamsToken(operationHeaders(payload.extensions));
    try {
      contextValue = await options.context(
        {
          token,
          requestId: randomUUID(),
          clientAddress: ctx.extra.request.socket.remoteAddress ?? 'unknown',
        },
        getOperationAST(document, payload.operationName)?.name?.value,
      );
    } catch (error) {
      return [error instanceof GraphQLError ? error : new ServiceUnavailableError()];
    }
    const refused = await guard({
      document,
      variables: payload.variables ?? undefined,
      operationName: payload.operationName,
      context: contextValue,
    });
    if (refused) return [refused];
    const keyName = contextValue.caller.keyName;
    if (watch && token !== null && keyName !== null) watch.track(ctx.extra.socket, token, keyName);
    return { schema, document, contextValue, variableValues: payload.variables, operationName: payload.operationName };
  };
  const handle = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      onSubscribe: async (ctx, id, payload) => {
        const result = await subscribe(ctx, id, payload);
        if (result && 'document' in result) {
          const operation = getOperationAST(result.document, result.operationName);
          options.metrics?.webSocketOperation(operation?.operation ?? 'unknown', operation?.name?.value);
        } else if (result) options.metrics?.refused(result.map((e) => e.extensions?.code));
        return result;
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        options.metrics?.refused(result.errors.map((e) => e.extensions?.code));
        return { ...result, errors: formatErrors(result.errors, args.contextValue as ApiContext, logInternal) };
      },
    },
    wsServer,
  );
  return {
    async close() {
      watch?.close();
      await handle.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
