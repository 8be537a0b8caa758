// Internal errors (anything a resolver throws that is not a GraphQLError: Prisma, bugs, …) are
// masked for clients as "Internal server error (request id …)" and logged with that request id.
// Typed API errors and graphql-js's own validation/coercion errors pass through unchanged.
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { errFields, log } from '../log.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';

/** Receives each internal error once, with the request id the client was shown. */
export type InternalErrorLogger = (requestId: string, error: unknown) => void;

/** the default: an error line of the process logger (src/log.ts) with the `requestId` the client was shown */
export const logToStderr: InternalErrorLogger = (requestId, error) => {
  log.error({ role: 'api', requestId, ...errFields(error) }, 'internal error');
};

export function isInternal(error: GraphQLError): boolean {
  return error.originalError !== undefined && !(error.originalError instanceof GraphQLError);
}

export function maskedError(error: GraphQLError, requestId: string): GraphQLFormattedError {
  return {
    message: `Internal server error (request id ${requestId})`,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
}

/** Formats an execution result's errors for a graphql-ws client, masking and logging internal ones. */
export function formatErrors(errors: readonly GraphQLError[], requestId: string, log: InternalErrorLogger): GraphQLFormattedError[] {
  return errors.map((error) => {
    if (!isInternal(error)) return error.toJSON();
    log(requestId, error.originalError);
    return maskedError(error, requestId);
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
  return {
    plugin: {
      async requestDidStart() {
        return {
          async didEncounterErrors({ errors, contextValue }) {
            for (const error of errors) {
              if (!isInternal(error)) continue;
              requestIds.set(error, contextValue.requestId);
              log(contextValue.requestId, error.originalError);
            }
          },
        };
      },
    },
    formatError(formatted, error) {
      const requestId = error instanceof GraphQLError ? requestIds.get(error) : undefined;
      return requestId === undefined ? formatted : maskedError(error as GraphQLError, requestId);
    },
  };
}
