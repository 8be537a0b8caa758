// Recognises a database that cannot be reached (server down, restarting, connection cut) as
// opposed to a query that failed on its own: such an operation may succeed once it is back.
import { setTimeout as sleep } from 'node:timers/promises';

/** SQLSTATE classes/codes of a lost or refused connection: 08 connection exception, 57P01–57P03 shutdown */
const PG_CODES = /^(08\d{3}|57P0[123])$/;
/** Prisma's "can't reach", "timed out", "closed the connection" and "too many connections" errors */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const MESSAGES =
  /ECONNREFUSED|ECONNRESET|Can't reach database server|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)|Connection terminated|server closed the connection|Server has closed the connection|Connection terminated unexpectedly/i;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; meta?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (PG_CODES.test(code) || PRISMA_CODES.has(code) || NODE_CODES.has(code))) return true;
  if (typeof e.meta?.code === 'string' && PG_CODES.test(e.meta.code)) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}

/**
 * No pool connection in time while the database itself answers: node-postgres's pool wait
 * (connectionTimeoutMillis, GLIMPSE_DB_POOL_WAIT_MS) or Prisma's interactive-transaction wait (P2028).
 */
export function isPoolExhausted(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (e.code === 'P2028' && typeof e.message === 'string' && /Unable to start a transaction in the given time/i.test(e.message))
    return true;
  if (typeof e.message === 'string' && /timeout exceeded when trying to connect/i.test(e.message)) return true;
  return e.cause !== undefined && isPoolExhausted(e.cause, depth + 1);
}

export interface RetryOptions {
  /** give up (rethrow) after this long, default 10 minutes */
  maxMs?: number;
  /** stop retrying when aborted (rethrows the last error) */
  signal?: AbortSignal;
  /** called before each wait, with the error and the attempt number */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Runs `fn`, retrying with backoff (0.5 s doubling to 5 s) while it fails because the database is unavailable. */
export async function retryWhileDatabaseDown<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.maxMs ?? 10 * 60_000);
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + delay > deadline || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}
