// `npm start` as a real process tree (src/main.ts with DATABASE_URL): the worker runs in its own
// child process, not on the API's event loop, and its log lines are pino JSON with their ids; when
// the parent is SIGKILLed, the orphaned worker notices (IPC channel closed), drains and exits by
// itself. Signals to the group: signals.test.ts; supervision: supervisor.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { alive, gql, launch, workerPids, allWorkerPids, type Instance } from './process-tree.ts';

let db: TestDatabase;
let dataDir: string;
const started: Instance[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-npm-start-'));
});
afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode === null && s.child.signalCode === null) process.kill(-s.pgid, 'SIGKILL');
    for (const pid of allWorkerPids(s)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start (src/main.ts)', () => {
  it('runs the worker in a child process; a worker whose parent was SIGKILLed drains and exits by itself', async () => {
    const s = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir });
    started.push(s);
    const url = await s.ready;
    expect(url, s.output()).toBeDefined();
    const [workerPid] = workerPids(s);
    expect(workerPid).toBeGreaterThan(0);
    expect(workerPid).not.toBe(s.child.pid);
    const info = await until(
      () => gql<{ serverInfo: { liveWorkers: { pid: number }[] } }>(url!, `{ serverInfo { liveWorkers { pid } } }`),
      (d) => d.serverInfo.liveWorkers.some((w) => w.pid === workerPid),
      60_000,
    );
    expect(info.serverInfo.liveWorkers.map((w) => w.pid)).not.toContain(s.child.pid); // the worker is not the API's process

    // piped, every line is one JSON event with its level and the ids of the logger that wrote it
    const lines = s.output().split('\n').filter(Boolean);
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    const ready = await until(async () => s.lines().find((l) => /^worker \S+ ready/.test(l.msg) && l.pid === workerPid), Boolean, 60_000);
    expect(ready).toMatchObject({ level: 30, role: 'worker', pid: workerPid });
    expect(ready!.workerId).toMatch(/^[0-9a-f-]{36}$/);

    process.kill(s.child.pid!, 'SIGKILL'); // the parent only
    await s.exited;
    await until(
      async () => alive(workerPid!),
      (isAlive) => !isAlive,
      30_000,
    );
    expect(s.lines().some((l) => l.role === 'worker' && /^the parent process is gone: draining/.test(l.msg))).toBe(true);
  }, 120_000);

  it('GLIMPSE_LOG_LEVEL=warn silences the info lines', async () => {
    const since = new Date();
    const s = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_LOG_LEVEL: 'warn' });
    started.push(s);
    // no info line says when it is ready: wait for its worker's row instead
    await until(
      () => db.prisma.worker.count({ where: { startedAt: { gte: since } } }),
      (n) => n >= 1,
      60_000,
      200,
    );
    process.kill(-s.pgid, 'SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.lines().filter((l) => l.level < 40)).toEqual([]);
    expect(s.output()).not.toMatch(/GraphQL API and IDE at/);
  }, 120_000);
});
