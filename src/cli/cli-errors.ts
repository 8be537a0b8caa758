// Errors the CLI reports itself, and the one place that turns any error into a message and exit code.
import { readVariable } from '../config/index.ts';

export type CliErrorCode = 'INVALID_OPTION' | 'MISSING_DATA' | 'INTERRUPTED' | 'NO_DATABASE';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Prints `error [CODE]: message` (typed errors of every layer carry a `code`) and sets the exit code. */
export function reportError(err: unknown): void {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`error${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}\n`);
    // GLIMPSE_DEBUG read on its own: the error being reported may be the config's
    if (readVariable('GLIMPSE_DEBUG') && err.stack) process.stderr.write(`${err.stack}\n`);
  } else {
    process.stderr.write(`error: ${String(err)}\n`);
  }
  process.exitCode = 1;
}
