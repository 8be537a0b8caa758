// Watches the database from the API process. While Postgres is unreachable the API answers 503
// (see src/server/app.ts) and this logs one line when it goes down, one every `reportEverySeconds`
// while it stays down and one when it is back — not one per failed query. After `graceSeconds`
// down (0: never) `onGraceExceeded` runs, so that a process supervisor sees the failure.
import pg from 'pg';
import type { Logger } from '../log.ts';

export interface DatabaseHealth {
  readonly up: boolean;
  /** ms since the epoch when the current outage began */
  readonly downSince: number | undefined;
  readonly lastError: string | undefined;
  stop(): void;
}

export interface WatchOptions {
  log: Logger;
  /** 0: wait for the database forever */
  graceSeconds: number;
  onGraceExceeded: () => void;
  intervalMs?: number;
  reportEverySeconds?: number;
  /** consecutive failed pings before the database counts as down, default 2 (one slow ping on a busy machine is not an outage) */
  failuresBeforeDown?: number;
  /** default: a fresh connection running SELECT 1 (5 s connect timeout) */
  ping?: () => Promise<void>;
}

export function pingWith(url: string): () => Promise<void> {
  return async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: 'glimpse-health' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

export function watchDatabase(url: string, options: WatchOptions): DatabaseHealth {
  const { log } = options;
  const ping = options.ping ?? pingWith(url);
  const intervalMs = options.intervalMs ?? 1000;
  const reportEveryMs = (options.reportEverySeconds ?? 30) * 1000;
  let downSince: number | undefined;
  let lastReport = 0;
  let lastError: string | undefined;
  let exceeded = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  const failuresBeforeDown = options.failuresBeforeDown ?? 2;

  const check = async () => {
    try {
      await ping();
      if (downSince !== undefined) {
        log.warn({ downSeconds: Math.round((Date.now() - downSince) / 1000) }, 'database reachable again: serving requests');
      }
      downSince = undefined;
      lastError = undefined;
      failures = 0;
    } catch (e) {
      const now = Date.now();
      lastError = e instanceof Error ? e.message || (e as NodeJS.ErrnoException).code || e.name : String(e);
      if (++failures < failuresBeforeDown) return;
      const grace = options.graceSeconds > 0 ? `exiting after ${options.graceSeconds} s unless it comes back` : 'waiting for it';
      if (downSince === undefined) {
        downSince = now;
        lastReport = now;
        log.error({ error: lastError }, `database unreachable (${lastError}): the API answers 503, ${grace}`);
      } else if (now - lastReport >= reportEveryMs) {
        lastReport = now;
        log.error(
          { error: lastError, downSeconds: Math.round((now - downSince) / 1000) },
          `database still unreachable (${lastError}), ${grace}`,
        );
      }
      if (!exceeded && options.graceSeconds > 0 && now - downSince >= options.graceSeconds * 1000) {
        exceeded = true;
        log.fatal(
          { downSeconds: Math.round((now - downSince) / 1000) },
          `database unreachable for over ${options.graceSeconds} s (GLIMPSE_DB_GRACE_SECONDS): exiting`,
        );
        options.onGraceExceeded();
      }
    }
  };
  const loop = async () => {
    await check();
    if (!stopped) timer = setTimeout(() => void loop(), intervalMs);
  };
  timer = setTimeout(() => void loop(), intervalMs);
  return {
    get up() {
      return downSince === undefined;
    },
    get downSince() {
      return downSince;
    },
    get lastError() {
      return lastError;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
