// The TrainingRun state machine as a table (src/runs/transitions.ts): every allowed move, stated
// here by hand, and every other pair of statuses refused; who may make each move; and that only
// src/runs writes the TrainingRun table. No database: the SQL's obedience to the table is
// test/runs/run-writes.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatus } from '../../src/db/client.ts';
import {
  canMove,
  fromStatuses,
  isTerminalRun,
  RUN_TRANSITIONS,
  type RunActor,
  TERMINAL_RUN_STATUSES,
  transitionsBetween,
  whoMay,
} from '../../src/runs/index.ts';

const { QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED } = RunStatus;
const STATUSES = Object.values(RunStatus);

/** from → to: who may */
const ALLOWED: [RunStatus, RunStatus, RunActor[]][] = [
  [QUEUED, RUNNING, ['worker']],
  [QUEUED, CANCELLED, ['api']],
  [RUNNING, RUNNING, ['api']], // a cancel request: the status stays, cancelRequested is set
  [RUNNING, SUCCEEDED, ['worker']],
  [RUNNING, FAILED, ['worker']],
  [RUNNING, CANCELLED, ['worker', 'reaper']],
  [RUNNING, QUEUED, ['worker', 'reaper']],
  [FAILED, QUEUED, ['api']],
  [CANCELLED, QUEUED, ['api']],
];

describe('the TrainingRun transition table', () => {
  it('allows exactly the listed moves, by exactly the listed actors', () => {
    expect(STATUSES.sort()).toEqual([CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED]);
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const allowed = ALLOWED.find(([f, t]) => f === from && t === to);
        expect(canMove(from, to), `${from} → ${to}`).toBe(allowed !== undefined);
        expect(whoMay(from, to).sort(), `${from} → ${to}`).toEqual(allowed?.[2].sort() ?? []);
      }
    }
  });

  it('refuses, among others, moves out of SUCCEEDED and skipping RUNNING', () => {
    for (const to of STATUSES) expect(canMove(SUCCEEDED, to)).toBe(false);
    expect(canMove(QUEUED, SUCCEEDED)).toBe(false);
    expect(canMove(QUEUED, FAILED)).toBe(false);
    expect(canMove(FAILED, RUNNING)).toBe(false);
    expect(canMove(CANCELLED, RUNNING)).toBe(false);
    expect(canMove(FAILED, CANCELLED)).toBe(false);
  });

  it('answers who may move a run from RUNNING to QUEUED, and by which transitions', () => {
    expect(whoMay(RUNNING, QUEUED).sort()).toEqual(['reaper', 'worker']);
    expect(transitionsBetween(RUNNING, QUEUED).sort()).toEqual(['handBack', 'reap']);
  });

  it('leaves a terminal status only through the API resuming a FAILED or CANCELLED run', () => {
    expect(TERMINAL_RUN_STATUSES).toEqual([SUCCEEDED, FAILED, CANCELLED]);
    expect(STATUSES.filter(isTerminalRun).sort()).toEqual([CANCELLED, FAILED, SUCCEEDED]);
    const out = Object.entries(RUN_TRANSITIONS).filter(([, t]) => t.from.some((s: RunStatus) => isTerminalRun(s)));
    expect(out.map(([name, t]) => [name, t.by])).toEqual([['resume', 'api']]);
  });

  it('creates runs QUEUED, and only through the API', () => {
    const creating = Object.entries(RUN_TRANSITIONS).filter(([, t]) => t.from.length === 0);
    expect(creating.map(([name, t]) => [name, t.to, t.by])).toEqual([['create', QUEUED, 'api']]);
  });

  it("words a refusal from the table's statuses", () => {
    expect(fromStatuses('cancelQueued', 'requestCancel')).toBe('QUEUED or RUNNING');
    expect(fromStatuses('resume')).toBe('FAILED or CANCELLED');
  });
});

describe('one owner for the TrainingRun table', () => {
  const SRC = resolve(import.meta.dirname, '../../src');
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  const WRITES =
    /trainingRun\s*\.\s*(create|createMany|update|updateMany|upsert|delete|deleteMany)\b|(UPDATE|INSERT INTO|DELETE FROM)\s+"TrainingRun"/;

  it('writes TrainingRun rows only in src/runs', () => {
    const writers = sources(SRC)
      .filter((file) => WRITES.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(writers.length).toBeGreaterThan(3);
    expect(writers.filter((file) => !file.startsWith('runs/'))).toEqual([]);
  });
});
