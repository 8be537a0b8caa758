// The one logger (pino). Level from GLIMPSE_LOG_LEVEL (default info). When stdout is not a terminal
// every event is one JSON line (level, time, pid, hostname, msg and the child logger's ids:
// `role`, `workerId`, `runId`, `requestId`); on a terminal the same events are printed readably
// by pino-pretty when it is installed (a dev dependency), as JSON otherwise. Writes are
// synchronous, so a line logged right before process.exit() is not lost.
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { type LogLevel, logLevelFromEnv } from './config/index.ts';

export type { Logger } from 'pino';

export interface LoggerSetup {
  level?: LogLevel | 'silent';
  /** readable lines instead of JSON; default: stdout is a TTY and pino-pretty is installed */
  pretty?: boolean;
  /** default stdout */
  destination?: DestinationStream;
}

const require = createRequire(import.meta.url);

function prettyStream(): DestinationStream | undefined {
  try {
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ sync: true, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined; // a production install without dev dependencies: JSON lines
  }
}

export function createLogger(setup: LoggerSetup = {}): Logger {
  const options: LoggerOptions = {
    // the root logger exists before the config is loaded: GLIMPSE_LOG_LEVEL read on its own
    level: setup.level ?? logLevelFromEnv(),
    serializers: { err: pino.stdSerializers.err },
    // no code logs these; should a header object or a created key ever be logged whole, its secret is not
    // (API keys: src/keys, docs/security.md)
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  const pretty = setup.pretty ?? process.stdout.isTTY === true;
  const destination = setup.destination ?? (pretty ? prettyStream() : undefined) ?? pino.destination({ dest: 1, sync: true });
  return pino(options, destination);
}

/** the process's root logger; entry points derive children with their ids */
export const log: Logger = createLogger();

/** applies config.logLevel to the root logger (children created afterwards inherit it) */
export function setLogLevel(level: LogLevel): void {
  log.level = level;
}

/** `{ err }` for pino: an Error is serialized with its stack, anything else as a string */
export function errFields(error: unknown): { err: unknown } {
  return { err: error instanceof Error ? error : new Error(String(error)) };
}
