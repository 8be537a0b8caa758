// Internal errors (anything a resolver throws that is not a GraphQLError: Prisma, bugs, …) are
// masked for clients as "Internal server error (request id …)" and logged with that request id.
// Typed API errors and graphql-js's own validation/coercion errors pass through, bounded: no error
// sent to a client echoes a long client string (a 10 MB variable in graphql-js's "got invalid value …",
// an id in a resolver's message), see boundClientText.
// A query that fails because Postgres cannot be reached (refused, cut, shutting down: isDatabaseUnavailable) in
// the seconds before the database watcher (src/db/watch.ts) notices the outage is no internal error: it is
// answered SERVICE_UNAVAILABLE (retryable), with the words of ServiceUnavailableError and never the driver's
// message (which names the database's address and port); the log has the detail, under the request id.
// Nor is no pool connection in time (load, not a bug): SERVICE_OVERLOADED, retryable, with its retry hint.
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDatabaseUnavailable, isPoolExhausted } from '../db/unavailable.ts';
import { errFields } from '../log.ts';
import { clip } from '../sources/client-text.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { ServiceOverloadedError, ServiceUnavailableError } from '../resolvers/shared/api-errors.ts';

/** The request an internal error happened in: the id the client was shown, and the request's logger. */
export type FailedRequest = Pick<ApiContext, 'requestId' | 'log'>;

/** Receives each internal error once, with the request it happened in. */
export type InternalErrorLogger = (request: FailedRequest, error: unknown) => void;

/** the default: an error line on the request's logger, which carries the `requestId` the client was shown */
export const logOnRequestLog: InternalErrorLogger = (request, error) => {
  request.log.error(errFields(error), 'internal error');
};

export function isInternal(error: GraphQLError): boolean {
  return error.originalError !== undefined && !(error.originalError instanceof GraphQLError);
}

/** an internal error that is Postgres (or Prisma) failing to reach the database */
export function isOutage(error: GraphQLError): boolean {
  return isInternal(error) && isDatabaseUnavailable(error.originalError);
}

/** the outage as the client sees it: SERVICE_UNAVAILABLE, the request id, no driver words */
export function outageError(error: GraphQLError, requestId: string): GraphQLFormattedError {
  const { message, extensions } = new ServiceUnavailableError().toJSON();
  return {
    message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { ...extensions, requestId },
  };
}

/** one warning line on the request's logger (the detail, address included, stays in the log) */
function logOutage(request: FailedRequest, error: unknown): void {
  request.log.warn(errFields(error), 'database unreachable: answered SERVICE_UNAVAILABLE');
}

export function maskedError(error: GraphQLError, requestId: string): GraphQLFormattedError {
  return {
    message: `Internal server error (request id ${requestId})`,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
}

/** an internal error that is the pool's wait running out: the request met load, not a bug */
function isOverload(error: GraphQLError): boolean {
  return isInternal(error) && isPoolExhausted(error.originalError);
}

export function overloadedError(error: GraphQLError): GraphQLFormattedError {
  const typed = new ServiceOverloadedError('DATABASE_BUSY', 'no database connection free in time (GLIMPSE_DB_POOL_WAIT_MS)');
  return {
    message: typed.message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: typed.extensions,
  };
}

function logOverload(request: FailedRequest): void {
  request.log.warn('no database connection free in time: answered SERVICE_OVERLOADED');
}

/** a quoted string in a message, or a string in extensions, longer than this is clipped (to 64 characters + "…") */
export const MAX_ECHOED_STRING = 128;
/** characters of an error message sent to a client */
export const MAX_ERROR_MESSAGE = 1024;

/**
 * Each "…"-quoted run of `message` longer than MAX_ECHOED_STRING clipped (graphql-js and our messages quote
 * client values with JSON.stringify; escaped quotes inside are skipped), stopping once more than MAX_ERROR_MESSAGE
 * characters are out (the rest would be cut anyway). One pass of indexOf: linear in the message even for
 * megabytes of backslashes or quotes.
 */
function clipQuoted(message: string): string {
  let out = '';
  let from = 0;
  for (let open = message.indexOf('"'); open !== -1 && out.length <= MAX_ERROR_MESSAGE; open = message.indexOf('"', from)) {
    let close = message.indexOf('"', open + 1);
    while (close !== -1) {
      let backslashes = 0;
      while (message.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
      close = message.indexOf('"', close + 1);
    }
    const end = close === -1 ? message.length : close;
    const inner = message.slice(open + 1, end);
    out += `${message.slice(from, open + 1)}${inner.length > MAX_ECHOED_STRING ? clip(inner) : inner}${close === -1 ? '' : '"'}`;
    from = end + 1;
  }
  return from >= message.length ? out : out + message.slice(from);
}

/** extensions are sent as JSON, so they hold no cycles */
function boundStrings(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_ECHOED_STRING ? clip(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(boundStrings);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, boundStrings(item)]));
}

/**
 * The last bound on what an error echoes, whatever built it: quoted strings in the message and strings in
 * `extensions` over MAX_ECHOED_STRING characters cut to a 64-character prefix, the message to MAX_ERROR_MESSAGE.
 * Typed errors clip client input themselves (NotFoundError); this catches graphql-js's coercion messages
 * and anything that forgot to.
 */
export function boundClientText(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const clipped = clipQuoted(formatted.message);
  const message = clipped.length > MAX_ERROR_MESSAGE ? clip(clipped, MAX_ERROR_MESSAGE) : clipped;
  if (message === formatted.message && formatted.extensions === undefined) return formatted;
  return {
    ...formatted,
    message,
    ...(formatted.extensions ? { extensions: boundStrings(formatted.extensions) as Record<string, unknown> } : {}),
  };
}

/** Formats an execution result's errors for a graphql-ws client, masking and logging internal ones. */
export function formatErrors(errors: readonly GraphQLError[], request: FailedRequest, log: InternalErrorLogger): GraphQLFormattedError[] {
  return errors.map((error) => {
    if (!isInternal(error)) return boundClientText(error.toJSON());
    if (isOverload(error)) {
      logOverload(request);
      return overloadedError(error);
    }
    if (isOutage(error)) {
      logOutage(request, error.originalError);
      return outageError(error, request.requestId);
    }
    log(request, error.originalError);
    return maskedError(error, request.requestId);
  });
}

/**
 * Apollo wiring: the plugin notes each internal error with its request's id (and logs it), then
 * `formatError` (which has no access to the context) masks it using that id.
 */
export function apolloErrorMasking(log: InternalErrorLogger): {
  plugin: ApolloServerPlugin<ApiContext>;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
} {
  const requestIds = new WeakMap<GraphQLError, string>();
  const outages = new WeakSet<GraphQLError>();
  const overloads = new WeakSet<GraphQLError>();
  return {
    plugin: {
      async requestDidStart() {
        return {
          async didEncounterErrors({ errors, contextValue }) {
            for (const error of errors) {
              if (!isInternal(error)) continue;
              if (isOverload(error)) {
                overloads.add(error);
                logOverload(contextValue);
                continue;
              }
              requestIds.set(error, contextValue.requestId);
              if (isOutage(error)) {
                outages.add(error);
                logOutage(contextValue, error.originalError);
              } else log(contextValue, error.originalError);
            }
          },
        };
      },
    },
    formatError(formatted, error) {
      if (error instanceof GraphQLError && overloads.has(error)) return overloadedError(error);
      const requestId = error instanceof GraphQLError ? requestIds.get(error) : undefined;
      if (requestId === undefined) return boundClientText(formatted);
      return outages.has(error as GraphQLError)
        ? outageError(error as GraphQLError, requestId)
        : maskedError(error as GraphQLError, requestId);
    },
  };
}
