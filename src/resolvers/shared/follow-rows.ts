// Replay-then-follow for subscriptions. The caller subscribes to wake-ups BEFORE building the stream,
// so a row committed while the replay runs still wakes the next read: no gap. Each read fetches only
// rows after the last delivered one: no duplicate. NOTIFY is only a wake-up, so a periodic re-read
// covers notifications lost while the listener reconnected.

/**
 * Streams yield events, or as their last item an Error (a typed one such as CAPTION_FAILED, or a
 * failed read) that the subscription resolver throws.
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

  async function* run(): AsyncGenerator<T | Error, void, undefined> {
    try {
      for (;;) {
        let result: ReadResult<T>;
        try {
          result = await read();
        } catch (error) {
          // delivered as the stream's last item: the subscription resolver throws it, so the client
          // gets an (internal, masked) GraphQL error instead of graphql-ws closing the whole socket
          yield error instanceof Error ? error : new Error(String(error));
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
