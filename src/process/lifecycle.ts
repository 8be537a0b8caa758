// The life of a Glimpse process, shared by its entry points (src/main.ts: `npm start` and
// `npm run api`; src/jobs/worker-main.ts: the worker). Start-up registers a stop step for each
// thing it starts; shutdown runs them once, last started first. Stop signals are handled from the
// first line of start-up (src/process/signals.ts): the first SIGTERM/SIGINT drains (a stop request
// during start-up waits for it, then stops what was started) and exits EXIT_OK; a later one exits at
// once. A start-up that fails stops what it had started and rethrows: its entry logs why and exits
// EXIT_FAILURE. Exit statuses: src/process/exit-codes.ts.
import { errFields, type Logger } from '../log.ts';
import { EXIT_OK } from './exit-codes.ts';
import { handleStopSignals } from './signals.ts';

export interface ProcessLife {
  /** a step of the shutdown (closing what start-up just started): steps run once, last registered first */
  onStop(step: () => Promise<unknown>): void;
  /** drains as the first stop signal does (e.g. the parent process is gone) */
  drain(reason: string): void;
  /** runs the shutdown and exits with `code` (e.g. the database stayed away); ignored once stopping */
  exitAfterShutdown(code: number): void;
  /** true from the first stop signal (or drain, or exitAfterShutdown) on: /readyz answers 503 */
  readonly stopping: boolean;
}

export interface ProcessOptions {
  log: Logger;
  /** the status a second stop signal exits with, at once */
  exitNowCode: number;
  /** before that exit (e.g. kill child processes, which would otherwise outlive it) */
  beforeExitNow?: () => void;
  /** starts the process's parts, registering how each stops */
  start(life: ProcessLife): Promise<void>;
}

/** Runs `start` under the shared shutdown rules; resolves once started, rejects (after stopping what was started) when it fails. */
export async function runProcess({ log, exitNowCode, beforeExitNow, start }: ProcessOptions): Promise<void> {
  const steps: (() => Promise<unknown>)[] = [];
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      for (const step of steps.reverse()) await step().catch((e: unknown) => log.error(errFields(e), 'shutdown step failed'));
    })());

  /** a drain or an exit after shutdown has begun: exitAfterShutdown is ignored from then on */
  let stopping = false;
  // installed before start-up: a stop request during it waits for it, then drains what was started
  let startup: Promise<void> = Promise.resolve();
  const signals = handleStopSignals(
    {
      drain: () => {
        stopping = true;
        void startup
          .catch(() => undefined)
          .then(shutdown)
          .then(() => {
            log.info('stopped');
            process.exit(EXIT_OK);
          });
      },
      exitNow: () => {
        beforeExitNow?.();
        process.exit(exitNowCode);
      },
    },
    { log },
  );
  const life: ProcessLife = {
    onStop: (step) => steps.push(step),
    drain: (reason) => signals.drain(reason),
    exitAfterShutdown(code) {
      if (stopping) return;
      stopping = true;
      void shutdown().finally(() => process.exit(code));
    },
    get stopping() {
      return stopping;
    },
  };
  startup = start(life);
  try {
    await startup;
  } catch (e) {
    await shutdown();
    throw e;
  }
}
