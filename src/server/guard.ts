// What runs once an operation is parsed and validated, for HTTP (an Apollo plugin) and graphql-ws alike:
//   - read access: with API keys set, queries and subscriptions need a key unless GLIMPSE_PUBLIC_READ=true
//     (an operation that only introspects the schema stays open, so the IDE can show the docs);
//   - the cost budget (./limits.ts);
//   - the per-client mutation rate (rate-limiter-flexible, in memory: per API process), keyed by the
//     caller's API key when it presented a valid one, else by its IP address; charged one point per
//     mutation field that will execute (./mutation-count.ts: fragments expanded, aliases counted).
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
  /** mutations per client per minute; 0 = unlimited */
  mutationsPerMinute: number;
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

export function rateLimited(retryAfterSeconds: number, perMinute: number): GraphQLError {
  return new GraphQLError(
    `too many mutations from this client (limit ${perMinute} per minute, GLIMPSE_MUTATIONS_PER_MINUTE); retry after ${retryAfterSeconds} s`,
    {
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds, limit: perMinute },
    },
  );
}

/** The rate-limit bucket: a digest of a valid API key, else the IP address. */
function clientBucket(context: ApiContext): string {
  if (context.apiKey !== null && context.apiKeys.length > 0 && isKeyHolder(context)) {
    return `key:${createHash('sha256').update(context.apiKey).digest('hex').slice(0, 32)}`;
  }
  return `ip:${context.clientAddress}`;
}

export function createOperationGuard(options: GuardOptions): OperationGuard {
  const { schema, limits, mutationsPerMinute } = options;
  const limiter = mutationsPerMinute > 0 ? new RateLimiterMemory({ points: mutationsPerMinute, duration: 60 }) : undefined;

  return async ({ document, variables, operationName, context }) => {
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation) return undefined; // graphql-js reports the missing/ambiguous operation itself

    if (operation.operation !== 'mutation' && !context.publicRead && !isKeyHolder(context) && !onlyIntrospection(operation)) {
      return readRefused();
    }
    const tooCostly = checkCost(schema, document, variables, operationName, limits);
    if (tooCostly) return tooCostly;

    if (operation.operation === 'mutation' && limiter) {
      try {
        // at least one point per mutation operation, so one that executes nothing (every field skipped, bad
        // variables) is not free to repeat
        const points = Math.max(1, executedMutationFields(schema, document, operation, variables));
        await limiter.consume(clientBucket(context), points);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), mutationsPerMinute);
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
