// Client-facing errors: GraphQLError subclasses whose `extensions.code` clients switch on.
// Anything else thrown by a resolver is an internal error and is masked by the server's formatError.
// Client input in a message or in extensions is cut to a short prefix (clip); the server's formatter
// bounds whatever a message still carries (src/server/error-masking.ts).
import { GraphQLError } from 'graphql';
import { clip } from '../../sources/client-text.ts';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CAPTION_FAILED'
  | 'SERVICE_UNAVAILABLE'
  | 'SERVICE_OVERLOADED';

export abstract class ApiError extends GraphQLError {
  abstract readonly code: ErrorCode;
}

function codedError(code: ErrorCode) {
  return class extends ApiError {
    readonly code = code;
    constructor(message: string, extensions: Record<string, unknown> = {}) {
      super(message, { extensions: { ...extensions, code } });
      this.name = `${code}Error`;
    }
  };
}

/** Invalid argument; `field` names the offending input field (e.g. "input.batchSize"). */
export class BadUserInputError extends codedError('BAD_USER_INPUT') {
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { field });
  }
}

/** `id` is the client's: message and `extensions.id` show at most its first 64 characters */
export class NotFoundError extends codedError('NOT_FOUND') {
  constructor(entity: string, id: string) {
    const shown = clip(id);
    super(`${entity} ${shown} not found`, { entity, id: shown });
  }
}

/** The request is valid but the target is in the wrong state (e.g. dataset not READY). */
export class ConflictError extends codedError('CONFLICT') {}

export class UnauthenticatedError extends codedError('UNAUTHENTICATED') {
  constructor() {
    super('this operation requires an API key: send "Authorization: Bearer <key>"');
  }
}

/** A valid key without the scope an operation needs; `extensions.requiredScope` names it. */
export class ForbiddenError extends codedError('FORBIDDEN') {
  constructor(requiredScope: string, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { ...extensions, requiredScope });
  }
}

/** A caption request the worker could not complete (e.g. the image does not decode). */
export class CaptionFailedError extends codedError('CAPTION_FAILED') {}

/** seconds a client is told to wait before it tries again after SERVICE_UNAVAILABLE (HTTP Retry-After too) */
export const RETRY_AFTER_SECONDS = 5;

/** the words every caller is shown for a database outage: never its address, port or driver message */
export const DATABASE_UNREACHABLE = 'database unreachable';

/**
 * Postgres cannot be reached: retryable. A subscription that ends with it can be opened again for the same
 * subject (it replays what is stored and follows on); nothing about the subject has failed.
 */
export class ServiceUnavailableError extends codedError('SERVICE_UNAVAILABLE') {
  constructor(what = 'try again shortly') {
    super(`${DATABASE_UNREACHABLE}: ${what}`, { retryable: true, retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
}

/** seconds a client is told to wait after SERVICE_OVERLOADED: a batch or two of decoding, or the pool's queue draining */
export const OVERLOAD_RETRY_SECONDS = 2;

export type OverloadReason = 'CAPTION_QUEUE_FULL' | 'DATABASE_BUSY';

/**
 * The server is working but has no room for this request now: retryable, nothing was written. `reason`:
 * CAPTION_QUEUE_FULL (more caption jobs waiting than GLIMPSE_CAPTION_QUEUE_LIMIT; `limit` says how many) or
 * DATABASE_BUSY (no pool connection within GLIMPSE_DB_POOL_WAIT_MS).
 */
export class ServiceOverloadedError extends codedError('SERVICE_OVERLOADED') {
  constructor(reason: OverloadReason, message: string, extra: Record<string, unknown> = {}) {
    super(`server overloaded: ${message}; retry after ${OVERLOAD_RETRY_SECONDS} s`, {
      ...extra,
      reason,
      retryable: true,
      retryAfterSeconds: OVERLOAD_RETRY_SECONDS,
    });
  }
}

/** True for errors whose message may be shown to clients as is. */
export function isClientError(error: unknown): error is GraphQLError {
  return error instanceof ApiError;
}
