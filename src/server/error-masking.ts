// Internal errors (anything a resolver throws that is not a GraphQLError: Prisma, bugs, …) are
// masked for clients as "Internal server error (request id …)" and logged with that request id.
// Typed API errors and graphql-js's own validation/coercion errors pass through unchanged.
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { errFields } from '../log.ts';
import type { ApiContext } from '../resolvers/shared/api-context.ts';

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

export function maskedError(error: GraphQLError, requestId: string): GraphQLFormattedError {
  return {
    message: `Internal server error (request id ${requestId})`,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
}

/** Formats an execution result's errors for a graphql-ws client, masking and logging internal ones. */
export function formatErrors(errors: readonly GraphQLError[], request: FailedRequest, log: InternalErrorLogger): GraphQLFormattedError[] {
  return errors.map((error) => {
    if (!isInternal(error)) return error.toJSON();
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
  return {
    plugin: {
      async requestDidStart() {
        return {
          async didEncounterErrors({ errors, contextValue }) {
            for (const error of errors) {
              if (!isInternal(error)) continue;
              requestIds.set(error, contextValue.requestId);
              log(contextValue, error.originalError);
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
