// Replay-then-follow for subscriptions. The caller subscribes to wake-ups BEFORE building the stream,
// so a row committed while the replay runs still wakes the next read: no gap. Each read fetches only
// rows after the last delivered one: no duplicate. NOTIFY is only a wake-up, so a periodic re-read
// covers notifications lost while the listener reconnected.
// A read that fails because Postgres cannot be reached is retried for a few seconds (a dropped pooled
// connection, a fast restart); past that the stream ends with SERVICE_UNAVAILABLE, never the masked
// internal error: the subject (a caption request, a run) has not failed and may still finish, and a
// subscriber that opens the stream again once the database is back gets what is stored, then the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnavailable, isPoolExhausted } from '../../db/unavailable.ts';
import { ServiceUnavailableError } from './api-errors.ts';

/**
 * Streams yield events, or as their last item an Error (a typed one such as CAPTION_FAILED or
 * SERVICE_UNAVAILABLE, or a failed read) that the subscription resolver throws.
 */
export interface ReadResult<T> {
  events: T[];
  /** more rows are already stored (page limit hit): read again without waiting */
  more: boolean;
  /** the final event has been delivered: complete the stream */
  done: boolean;
}

/** re-read at least this often without a wake-up (ms) */
export const STREAM_POLL_MS = 5_000;

/** how long a read failing because the database is unreachable is retried before the stream ends (ms) */
export const STREAM_OUTAGE_MS = 5_000;

const unavailable = () => new ServiceUnavailableError('subscribe again shortly to continue from what is stored');

/**
 * Opens a stream over `wakeUps` (already subscribed) once `exists` confirms the subject; otherwise
 * releases the wake-ups and throws `missing` (a NOT_FOUND error).
 */
export async function openStream<T>(
  wakeUps: AsyncIterableIterator<void>,
  exists: () => Promise<boolean>,
  missing: () => Error,
  read: () => Promise<ReadResult<T>>,
): Promise<AsyncIterableIterator<T | Error>> {
  let found = false;
  try {
    found = await exists();
  } catch (error) {
    throw isDatabaseUnavailable(error) ? unavailable() : error;
  } finally {
    if (!found) await wakeUps.return?.();
  }
  if (!found) throw missing();
  return followRows(wakeUps, read, STREAM_POLL_MS);
}

export function followRows<T>(
  wakeUps: AsyncIterableIterator<void>,
  read: () => Promise<ReadResult<T>>,
  pollMs: number,
  outageMs = STREAM_OUTAGE_MS,
): AsyncIterableIterator<T | Error> {
  const stop = new AbortController();
  let released: Promise<unknown> | null = null;
  const release = () => (released ??= Promise.resolve(wakeUps.return?.()));
  let pending: Promise<IteratorResult<void>> | null = null;

  /** resolves true on a wake-up or the poll timeout, false when stopped or the event bus closed */
  async function waitForWakeUp(): Promise<boolean> {
    pending ??= wakeUps.next();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await Promise.race([
      pending.then((r) => {
        pending = null;
        return r.done ? 'closed' : 'woken';
      }),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), pollMs))),
      new Promise<'stopped'>((resolve) => {
        onAbort = () => resolve('stopped');
        stop.signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    stop.signal.removeEventListener('abort', onAbort!);
    return outcome === 'woken' || outcome === 'timeout';
  }

  /**
   * read(), retried while it fails because the database is unreachable (0.25 s doubling to 2 s, the last
   * try when outageMs have passed). A read moves the stream's position only once all its queries have
   * answered, so a retry reads the same rows again. An Error: the stream's last item; null: stopped meanwhile.
   */
  async function readThroughOutage(): Promise<ReadResult<T> | Error | null> {
    const giveUpAt = Date.now() + outageMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await read();
      } catch (error) {
        // a pool with no free connection in GLIMPSE_DB_POOL_WAIT_MS (a burst) is waited out the same way
        if (!isDatabaseUnavailable(error) && !isPoolExhausted(error)) return error instanceof Error ? error : new Error(String(error));
        if (Date.now() >= giveUpAt) return unavailable();
      }
      try {
        await sleep(Math.min(delay, giveUpAt - Date.now()), undefined, { signal: stop.signal });
      } catch {
        return null; // return() aborted the wait
      }
    }
  }

  async function* run(): AsyncGenerator<T | Error, void, undefined> {
    try {
      for (;;) {
        const result = await readThroughOutage();
        if (result === null) return;
        if (result instanceof Error) {
          // delivered as the stream's last item: the subscription resolver throws it, so the client gets a
          // GraphQL error (SERVICE_UNAVAILABLE, or masked when internal) instead of graphql-ws closing the socket
          yield result;
          return;
        }
        const { events, more, done } = result;
        for (const event of events) yield event;
        if (done) return;
        if (!more && !(await waitForWakeUp())) return;
      }
    } finally {
      await release();
    }
  }

  const stream = run();
  return {
    next: () => stream.next(),
    // an async generator suspended in `await` only sees return() once it resumes: abort the wait first
    // (and a generator never started skips its finally: release the wake-ups here too)
    return: async () => {
      stop.abort();
      const result = await stream.return();
      await release();
      return result;
    },
    throw: async (error?: unknown) => {
      stop.abort();
      await release();
      return stream.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
