// Per-request ApiContext for HTTP requests and graphql-ws operations.
import { randomUUID } from 'node:crypto';
import type { ApiContext } from '../resolvers/shared/api-context.ts';

/** What the context takes from the request. */
export type RequestPart = Pick<ApiContext, 'apiKey' | 'requestId' | 'clientAddress'>;

/** Everything in the context that does not depend on the request. */
export type SharedContext = Omit<ApiContext, keyof RequestPart>;

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

export function requestContext(shared: SharedContext, request: RequestPart): ApiContext {
  return { ...shared, ...request };
}
