// What runs once an operation is parsed and validated, for HTTP (an Apollo plugin) and graphql-ws alike:
//   - scopes: every root field the operation will execute (fragments expanded, @skip/@include applied) needs
//     its scope (src/resolvers/shared/field-scopes.ts); a caller without a valid key gets UNAUTHENTICATED
//     (HTTP 401), a key without the scope FORBIDDEN (403) naming it. Callers without a key have `read` with
//     GLIMPSE_PUBLIC_READ=true, nothing otherwise; with no key configured everyone has every scope. An
//     operation that only introspects the schema needs nothing, so the IDE can show the docs;
//   - the cost budget (./limits.ts);
//   - the per-client mutation rate (rate-limiter-flexible, in memory: per API process), keyed by the
//     caller's API key name when it presented a valid one (its own bucket: a proxy's many users behind one
//     address are one key each, not one address), else by its IP address (GLIMPSE_MUTATIONS_PER_MINUTE);
//     charged one point per mutation field that will execute (./mutation-count.ts: fragments expanded,
//     aliases counted). A key's budget is its own when an admin set one (ApiKey.mutationsPerMinute, carried
//     by the Caller), else GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY. The keys share one limiter that counts
//     their points up to the largest budget a key may have; each key's count is compared with its own budget,
//     so a budget changed on the fly applies to the minute already counted, and there is one counter per key
//     whatever the number of distinct budgets.
//   - last, no NUL byte in any client string (./nul-bytes.ts: Postgres cannot store one): BAD_USER_INPUT.
import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { QueryLimits } from '../config/index.ts';
import { type Caller, hasScope } from '../keys/scopes.ts';
import { MAX_KEY_MUTATIONS_PER_MINUTE } from '../keys/store.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { ForbiddenError, UnauthenticatedError } from '../resolvers/shared/api-errors.ts';
import { requiredScope, type RootType } from '../resolvers/shared/field-scopes.ts';
import { checkCost } from './limits.ts';
import { executedRootFields } from './mutation-count.ts';
import { nulRefusal } from './nul-bytes.ts';

export interface GuardOptions {
  schema: GraphQLSchema;
  limits: QueryLimits;
  /** mutations per IP address per minute (callers without a valid key); 0 = unlimited */
  mutationsPerMinute: number;
  /**
   * mutations per valid API key per minute, whatever its address, for keys without a budget of their own;
   * 0 = unlimited (default: mutationsPerMinute)
   */
  mutationsPerMinutePerKey?: number;
}

export interface OperationToCheck {
  document: DocumentNode;
  variables?: Record<string, unknown> | undefined;
  operationName?: string | null | undefined;
  context: ApiContext;
}

export type OperationGuard = (operation: OperationToCheck) => Promise<GraphQLError | undefined>;

export function readRefused(): GraphQLError {
  return new GraphQLError(
    'this server requires an API key for queries and subscriptions too: send "Authorization: Bearer <key>" (graphql-ws: connectionParams.authorization)',
    { extensions: { code: 'UNAUTHENTICATED' } },
  );
}

/** `per`: whose bucket; `own`: the limit is the key's own budget (setApiKeyBudget), not the server's default */
export function rateLimited(retryAfterSeconds: number, perMinute: number, per: 'key' | 'address' = 'address', own = false): GraphQLError {
  const variable = per === 'key' ? 'GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY' : 'GLIMPSE_MUTATIONS_PER_MINUTE';
  const source = own ? "this key's own budget, set by an admin" : variable;
  const who = per === 'key' ? 'this API key' : 'this client';
  return new GraphQLError(`too many mutations from ${who} (limit ${perMinute} per minute, ${source}); retry after ${retryAfterSeconds} s`, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds, limit: perMinute, per },
  });
}

/** The first root field the caller may not execute, as the refusal to send; undefined when it may execute them all. */
export function scopeRefusal(caller: Caller, type: RootType, fields: Iterable<string>): GraphQLError | undefined {
  for (const field of fields) {
    const scope = requiredScope(type, field);
    if (hasScope(caller, scope)) continue;
    if (caller.keyName === null) return type === 'mutation' ? new UnauthenticatedError() : readRefused();
    const held = [...caller.scopes].join(', ') || 'none';
    return new ForbiddenError(scope, `this API key lacks the "${scope}" scope that ${field} needs (it has: ${held})`, { field });
  }
  return undefined;
}

interface Bucket {
  per: 'key' | 'address';
  key: string;
  /** mutations per minute; 0 = unlimited */
  budget: number;
  /** the key's own budget, not a server default */
  own: boolean;
}

/** The rate-limit bucket: a valid API key's name (with its own budget, if it has one), else the IP address. */
function clientBucket(context: ApiContext, defaults: { address: number; key: number }): Bucket {
  const { keyName, mutationsPerMinute } = context.caller;
  if (keyName === null) return { per: 'address', key: `ip:${context.clientAddress}`, budget: defaults.address, own: false };
  const own = mutationsPerMinute != null;
  return { per: 'key', key: `key:${keyName}`, budget: own ? mutationsPerMinute : defaults.key, own };
}

const perMinute = (points: number) => new RateLimiterMemory({ points, duration: 60 });

export function createOperationGuard(options: GuardOptions): OperationGuard {
  const { schema, limits, mutationsPerMinute } = options;
  const defaults = { address: mutationsPerMinute, key: options.mutationsPerMinutePerKey ?? mutationsPerMinute };
  // the address limiter refuses past its budget itself; the keys' one counts up to any key's budget
  const limiters = {
    address: perMinute(Math.max(1, defaults.address)),
    key: perMinute(Math.max(MAX_KEY_MUTATIONS_PER_MINUTE, defaults.key)),
  };

  return async ({ document, variables, operationName, context }) => {
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation) return undefined; // graphql-js reports the missing/ambiguous operation itself

    const executed = executedRootFields(schema, document, operation, variables);
    const refused = scopeRefusal(context.caller, operation.operation, executed.fields);
    // a refused mutation still counts against its client's rate (a flood of wrong keys gets RATE_LIMITED)
    if (refused && operation.operation !== 'mutation') return refused;
    const tooCostly = checkCost(schema, document, variables, operationName, limits);
    if (tooCostly) return tooCostly;

    const bucket = operation.operation === 'mutation' ? clientBucket(context, defaults) : undefined;
    if (bucket && bucket.budget > 0) {
      // at least one point per mutation operation, so one that executes nothing (every field skipped, bad
      // variables) is not free to repeat
      const points = Math.max(1, executed.responseKeys);
      let counted: RateLimiterRes;
      try {
        counted = await limiters[bucket.per].consume(bucket.key, points);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        counted = rejection;
      }
      if (counted.consumedPoints > bucket.budget) {
        return rateLimited(Math.max(1, Math.ceil(counted.msBeforeNext / 1000)), bucket.budget, bucket.per, bucket.own);
      }
    }
    return refused ?? nulRefusal(document, variables);
  };
}

const HTTP_STATUS: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, RATE_LIMITED: 429 };

/** The guard as an Apollo plugin: a refusal becomes the response (401 / 403 / 429 with Retry-After / 400). */
export function guardPlugin(guard: OperationGuard): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, operationName, contextValue }) {
          const error = await guard({ document, variables: request.variables, operationName, context: contextValue });
          if (!error) return;
          const code = String(error.extensions.code);
          const headers = new Map<string, string>();
          if (code === 'RATE_LIMITED') headers.set('retry-after', String(error.extensions.retryAfterSeconds));
          throw new GraphQLError(error.message, {
            extensions: { ...error.extensions, http: { status: HTTP_STATUS[code] ?? 400, headers } },
          });
        },
      };
    },
  };
}

/**
 * A response refused for load (SERVICE_OVERLOADED, DATABASE_UNAVAILABLE: errors with extensions.retryAfterSeconds)
 * carries the hint as an HTTP `Retry-After` header too, for proxies and HTTP clients that read headers, not bodies.
 * The status stays 200: the body is a GraphQL result with its typed error.
 */
export const retryAfterPlugin: ApolloServerPlugin<ApiContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single' || response.http.headers.has('retry-after')) return;
        const hints = (response.body.singleResult.errors ?? [])
          .map((e) => e.extensions?.retryAfterSeconds)
          .filter((s): s is number => typeof s === 'number' && Number.isFinite(s) && s >= 0);
        if (hints.length > 0) response.http.headers.set('retry-after', String(Math.ceil(Math.max(...hints))));
      },
    };
  },
};
