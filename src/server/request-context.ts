// Per-request ApiContext for HTTP requests and graphql-ws operations, with the request's own logger.
import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../log.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';

/** What the context takes from the request. */
export type RequestPart = Pick<ApiContext, 'apiKey' | 'requestId' | 'clientAddress'>;

/** Everything in the context that does not depend on the request. */
export type SharedContext = Omit<ApiContext, keyof RequestPart | 'log'>;

/** Builds one request's context; `operationName` when it is known before execution (graphql-ws). */
export type ContextFactory = (request: RequestPart, operationName?: string) => ApiContext;

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
 * Contexts over `shared`, each with a child of `apiLog` that carries the request's ids as fields, so
 * resolvers and server code log through `ctx.log` and never add them by hand.
 */
export function contextFactory(shared: SharedContext, apiLog: Logger): ContextFactory {
  return (request, operationName) => {
    const log = apiLog.child({
      requestId: request.requestId,
      clientAddress: request.clientAddress,
      ...(operationName ? { operation: operationName } : {}),
    });
    return { ...shared, ...request, log };
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
