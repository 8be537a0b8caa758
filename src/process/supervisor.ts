// `npm start`'s worker as a supervised child process (src/jobs/worker-main.ts --supervised, compiled:
// dist/jobs/worker-main.js; referenced by path, never imported: the API process loads no worker code).
// It runs in its own process group, so a terminal's Ctrl-C or `kill -TERM -- -PGID` reaches it only through
// the parent: one SIGTERM per stop request. When it exits without being asked to (the OOM killer's
// SIGKILL, a crash, EXIT_ML_RUNTIME_BROKEN), `onDeath` releases what it held and a new one starts
// after a backoff: 1 s, doubling up to 30 s, back to 1 s once a worker has stayed up for a minute.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../config/index.ts';
import { EXIT_ML_RUNTIME_BROKEN } from './exit-codes.ts';
import type { Logger } from '../log.ts';
import { withLabel, type MetricsJson } from './metrics.ts';
import { requestMetrics } from './metrics-ipc.ts';

/** how long a scrape waits for a child's metrics (a training step may hold the child's event loop) */
export const CHILD_METRICS_TIMEOUT_MS = 3000;

// worker-main in the form this module runs in: `.ts` from the sources (tsx's loader reaches the child
// through process.execArgv), `.js` in the compiled build (plain node, empty execArgv)
export const WORKER_ENTRY = fileURLToPath(new URL(`../jobs/worker-main${extname(import.meta.url)}`, import.meta.url));

export interface SupervisorOptions {
  databaseUrl: string;
  log: Logger;
  /** what it is for in log lines, e.g. "caption worker"; default "worker" */
  label?: string;
  /** variables for the child on top of this process's (e.g. GLIMPSE_WORKER_JOBS) */
  env?: Record<string, string>;
  /** after a worker died unexpectedly, before the next starts (e.g. release its runs) */
  onDeath?: (workerId: string) => Promise<void>;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** a worker up this long resets the backoff */
  stableAfterMs?: number;
}

export interface SupervisedWorker {
  readonly pid: number | undefined;
  readonly workerId: string;
  /** workers started after the first */
  readonly restarts: number;
  /** SIGTERM (drain) and wait for the exit; no restart afterwards */
  stop(): Promise<void>;
  /** SIGKILL, no drain (the second stop request) */
  kill(): void;
  /** the child's metrics (src/process/metrics-ipc.ts), labelled `process: <label>`; undefined when it does not answer */
  metrics(): Promise<MetricsJson | undefined>;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === EXIT_ML_RUNTIME_BROKEN) return `exit code ${code}: its ML runtime broke`;
  return `exit code ${code}`;
}

export function superviseWorker(options: SupervisorOptions): SupervisedWorker {
  const { log } = options;
  const label = options.label ?? 'worker';
  const initial = options.initialBackoffMs ?? 1000;
  const max = options.maxBackoffMs ?? 30_000;
  const stableAfter = options.stableAfterMs ?? 60_000;
  let backoff = initial;
  let child: ChildProcess | undefined;
  let workerId = '';
  let restarts = 0;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = () => {
    workerId = randomUUID();
    const id = workerId;
    const startedAt = Date.now();
    const proc = spawn(process.execPath, [...process.execArgv, WORKER_ENTRY, '--supervised', `--worker-id=${id}`], {
      env: childEnvironment({ ...options.env, DATABASE_URL: options.databaseUrl }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true, // its own process group: group signals reach it through this parent only
    });
    child = proc;
    log.info({ workerId: id, workerPid: proc.pid }, `${label} process ${proc.pid} starting`);
    exited = new Promise<void>((resolve) =>
      proc.on('exit', (code, signal) => {
        resolve();
        if (stopping) return;
        if (Date.now() - startedAt >= stableAfter) backoff = initial;
        const delay = backoff;
        backoff = Math.min(backoff * 2, max);
        log.error(
          { workerId: id, workerPid: proc.pid, code, signal },
          `${label} process ${proc.pid} stopped unexpectedly (${describeExit(code, signal)}); restarting it in ${delay} ms`,
        );
        void (options.onDeath?.(id) ?? Promise.resolve())
          .catch((e: unknown) => log.error({ err: e, workerId: id }, 'releasing the dead worker'))
          .finally(() => {
            if (stopping) return;
            restartTimer = setTimeout(() => {
              restartTimer = undefined;
              if (stopping) return;
              restarts++;
              start();
            }, delay);
          });
      }),
    );
  };
  start();

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    get pid() {
      return child?.pid;
    },
    get workerId() {
      return workerId;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      if (alive()) child!.kill('SIGTERM');
      await exited;
    },
    kill() {
      stopping = true;
      clearTimeout(restartTimer);
      if (alive()) child!.kill('SIGKILL');
    },
    async metrics() {
      if (!alive()) return undefined;
      const metrics = await requestMetrics(child!, CHILD_METRICS_TIMEOUT_MS);
      return metrics && withLabel(metrics, 'process', label.replace(/\s+/g, '-'));
    },
  };
}
