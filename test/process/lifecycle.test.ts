// The shared start-up/shutdown skeleton (src/process/lifecycle.ts), in-process where it does not
// exit: a start-up that fails stops what it had started, last started first, and rethrows. The
// signal paths (drain, exit at once, exit after shutdown) end the process: test/e2e/signals,
// supervisor, npm-start and sigkill check them on real processes.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { runProcess } from '../../src/process/lifecycle.ts';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
/** the lines the process logs, as JSON */
const lines: string[] = [];
const log = createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => void lines.push(line) } });

afterEach(() => {
  // the handlers runProcess installed would exit this test process on a stop signal
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.includes(listener)) process.off(signal, listener);
    }
  }
});

describe('runProcess', () => {
  it('resolves once started, handling stop signals from the start', async () => {
    const seen: number[] = [];
    await runProcess({
      log,
      exitNowCode: 130,
      start: async (life) => {
        seen.push(...SIGNALS.map((s) => process.listenerCount(s) - before.get(s)!.length));
        life.onStop(async () => undefined);
      },
    });
    expect(seen).toEqual([1, 1]);
  });

  it('stops what a failed start-up had started, last first, logs a failing step, and rethrows', async () => {
    const stopped: string[] = [];
    const failure = new Error('the database would not start');
    await expect(
      runProcess({
        log,
        exitNowCode: 130,
        start: async (life) => {
          life.onStop(async () => void stopped.push('lock'));
          life.onStop(async () => {
            stopped.push('database');
            throw new Error('already gone');
          });
          life.onStop(async () => void stopped.push('queue'));
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(stopped).toEqual(['queue', 'database', 'lock']);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ msg: 'shutdown step failed', err: expect.objectContaining({ message: 'already gone' }) }),
    );
  });
});
