// Stop signals, counted once. A terminal's Ctrl-C or `kill -TERM -- -PGID` reaches every process
// of the group, and npm, sh and tsx relay it to their child as well: one user action can arrive
// two or three times within milliseconds. The first SIGTERM/SIGINT drains; copies arriving within
// `duplicateWindowMs` of it are ignored; a signal after that (a second, deliberate Ctrl-C) exits now.
import type { Logger } from '../log.ts';

export interface StopSignalHandlers {
  drain(signal: NodeJS.Signals): void;
  exitNow(signal: NodeJS.Signals): void;
}

export interface StopSignalOptions {
  log: Logger;
  /** default 1000 ms */
  duplicateWindowMs?: number;
  signals?: readonly NodeJS.Signals[];
}

export const DUPLICATE_SIGNAL_WINDOW_MS = 1000;

export interface StopSignals {
  /** a drain started without a signal (e.g. the parent process is gone) counts as the first one */
  readonly draining: boolean;
  drain(reason: string): void;
}

export function handleStopSignals(handlers: StopSignalHandlers, options: StopSignalOptions): StopSignals {
  const window = options.duplicateWindowMs ?? DUPLICATE_SIGNAL_WINDOW_MS;
  let first: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (first === undefined) {
      first = now;
      options.log.info({ signal }, `${signal}: draining (send it again after a second to exit at once)`);
      handlers.drain(signal);
    } else if (now - first < window) {
      options.log.debug({ signal }, `${signal} ${now - first} ms after the first: the same stop request, ignored`);
    } else {
      options.log.warn({ signal }, `${signal} again: exiting now`);
      handlers.exitNow(signal);
    }
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, onSignal);
  return {
    get draining() {
      return first !== undefined;
    },
    drain(reason) {
      if (first !== undefined) return;
      first = Date.now();
      options.log.info(`${reason}: draining`);
      handlers.drain('SIGTERM');
    },
  };
}
