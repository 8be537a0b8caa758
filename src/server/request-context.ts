// Per-request ApiContext for HTTP requests and graphql-ws operations, with the request's own logger.
import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { isPoolExhausted } from '../db/unavailable.ts';
import type { Caller } from '../keys/scopes.ts';
import type { Logger } from '../log.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { ServiceOverloadedError, ServiceUnavailableError } from '../resolvers/shared/api-errors.ts';

/** What the context takes from the request: the bearer token becomes the caller and is not kept. */
export type RequestPart = Pick<ApiContext, 'requestId' | 'clientAddress'> & { token: string | null };

/** Everything in the context that does not depend on the request. */
export type SharedContext = Omit<ApiContext, 'caller' | 'requestId' | 'clientAddress' | 'log'>;

/** Builds one request's context; `operationName` when it is known before execution (graphql-ws). */
export type ContextFactory = (request: RequestPart, operationName?: string) => Promise<ApiContext>;

/** The token of an `Authorization: Bearer <token>` value, or null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** graphql-ws clients send the key as connectionParams { authorization: "Bearer <key>" } (or Authorization). */
export function connectionParamsToken(params: Readonly<Record<string, unknown>> | undefined): string | null {
  return bearerToken(params?.authorization ?? params?.Authorization);
}

/** A caller-supplied x-request-id is kept when it looks like an id; otherwise a fresh UUID. */
export function requestIdFrom(header: unknown): string {
  return typeof header === 'string' && /^[\w.-]{1,100}$/.test(header) ? header : randomUUID();
}

/**
 * Contexts over `shared`, each with a child of `apiLog` that carries the request's ids (and the name of the
 * key it presented) as fields, so resolvers and server code log through `ctx.log` and never add them by
 * hand. `identify` turns the token into the caller (./keyring.ts); when it cannot ask the database the
 * request gets SERVICE_UNAVAILABLE (SERVICE_OVERLOADED when no pool connection came free in time).
 */
export function contextFactory(shared: SharedContext, apiLog: Logger, identify: (token: string | null) => Promise<Caller>): ContextFactory {
  return async ({ token, requestId, clientAddress }, operationName) => {
    const caller = await identify(token).catch((error: unknown) => {
      // no pool connection in time is load (SERVICE_OVERLOADED, as for any query), anything else an outage
      if (isPoolExhausted(error)) {
        apiLog.warn({ requestId }, 'no database connection free in time to look up an API key: answered SERVICE_OVERLOADED');
        throw new ServiceOverloadedError('DATABASE_BUSY', 'no database connection free in time (GLIMPSE_DB_POOL_WAIT_MS)');
      }
      apiLog.warn({ requestId, error: String(error) }, 'could not look up an API key');
      throw new ServiceUnavailableError();
    });
    const log = apiLog.child({
      requestId,
      clientAddress,
      ...(caller.keyName !== null ? { key: caller.keyName } : {}),
      ...(operationName ? { operation: operationName } : {}),
    });
    return { ...shared, requestId, clientAddress, caller, log };
  };
}

/**
 * Apollo: an HTTP request's operation name is known only once Apollo has resolved the operation (it
 * may be in the document alone), after the context was built: it is added to the request's logger then.
 */
export const operationNameLogPlugin: ApolloServerPlugin<ApiContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ contextValue, operationName }) {
        if (operationName) contextValue.log.setBindings({ operation: operationName });
      },
    };
  },
};
