// What runs once an operation is parsed and validated, for HTTP (an Apollo plugin) and graphql-ws alike:
//   - read access: with API keys set, queries and subscriptions need a key unless GLIMPSE_PUBLIC_READ=true
//     (an operation that only introspects the schema stays open, so the IDE can show the docs);
//   - the cost budget (./limits.ts);
//   - the per-client mutation rate (rate-limiter-flexible, in memory: per API process), keyed by the
//     caller's API key when it presented a valid one (its own budget, GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY:
//     a proxy's many users behind one address are one key, not one address), else by its IP address
//     (GLIMPSE_MUTATIONS_PER_MINUTE); charged one point per mutation field that will execute
//     (./mutation-count.ts: fragments expanded, aliases counted).
import type { ApolloServerPlugin } from '@apollo/server';
import { createHash } from 'node:crypto';
import { getOperationAST, GraphQLError, Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { QueryLimits } from '../config/index.ts';
import { isKeyHolder } from '../resolvers/shared/auth.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';
import { checkCost } from './limits.ts';
import { executedMutationFields } from './mutation-count.ts';

export interface GuardOptions {
  schema: GraphQLSchema;
  limits: QueryLimits;
  /** mutations per IP address per minute (callers without a valid key); 0 = unlimited */
  mutationsPerMinute: number;
  /** mutations per valid API key per minute, whatever its address; 0 = unlimited (default: mutationsPerMinute) */
  mutationsPerMinutePerKey?: number;
}

export interface OperationToCheck {
  document: DocumentNode;
  variables?: Record<string, unknown> | undefined;
  operationName?: string | null | undefined;
  context: ApiContext;
}

export type OperationGuard = (operation: OperationToCheck) => Promise<GraphQLError | undefined>;

const INTROSPECTION = new Set(['__schema', '__type', '__typename']);

function onlyIntrospection(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && INTROSPECTION.has(s.name.value));
}

export function readRefused(): GraphQLError {
  return new GraphQLError(
    'this server requires an API key for queries and subscriptions too: send "Authorization: Bearer <key>" (graphql-ws: connectionParams.authorization)',
    { extensions: { code: 'UNAUTHENTICATED' } },
  );
}

export function rateLimited(retryAfterSeconds: number, perMinute: number, per: 'key' | 'address' = 'address'): GraphQLError {
  const variable = per === 'key' ? 'GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY' : 'GLIMPSE_MUTATIONS_PER_MINUTE';
  const who = per === 'key' ? 'this API key' : 'this client';
  return new GraphQLError(
    `too many mutations from ${who} (limit ${perMinute} per minute, ${variable}); retry after ${retryAfterSeconds} s`,
    {
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds, limit: perMinute, per },
    },
  );
}

/** The rate-limit bucket: a digest of a valid API key, else the IP address. */
function clientBucket(context: ApiContext): { per: 'key' | 'address'; key: string } {
  if (context.apiKey !== null && context.apiKeys.length > 0 && isKeyHolder(context)) {
    return { per: 'key', key: `key:${createHash('sha256').update(context.apiKey).digest('hex').slice(0, 32)}` };
  }
  return { per: 'address', key: `ip:${context.clientAddress}` };
}

const perMinute = (points: number) => (points > 0 ? new RateLimiterMemory({ points, duration: 60 }) : undefined);

export function createOperationGuard(options: GuardOptions): OperationGuard {
  const { schema, limits, mutationsPerMinute } = options;
  const budgets = { address: mutationsPerMinute, key: options.mutationsPerMinutePerKey ?? mutationsPerMinute };
  const limiters = { address: perMinute(budgets.address), key: perMinute(budgets.key) };

  return async ({ document, variables, operationName, context }) => {
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation) return undefined; // graphql-js reports the missing/ambiguous operation itself

    if (operation.operation !== 'mutation' && !context.publicRead && !isKeyHolder(context) && !onlyIntrospection(operation)) {
      return readRefused();
    }
    const tooCostly = checkCost(schema, document, variables, operationName, limits);
    if (tooCostly) return tooCostly;

    const bucket = operation.operation === 'mutation' ? clientBucket(context) : undefined;
    const limiter = bucket && limiters[bucket.per];
    if (bucket && limiter) {
      try {
        // at least one point per mutation operation, so one that executes nothing (every field skipped, bad
        // variables) is not free to repeat
        const points = Math.max(1, executedMutationFields(schema, document, operation, variables));
        await limiter.consume(bucket.key, points);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), budgets[bucket.per], bucket.per);
      }
    }
    return undefined;
  };
}

const HTTP_STATUS: Record<string, number> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };

/** The guard as an Apollo plugin: a refusal becomes the response (401 / 429 with Retry-After / 400). */
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
