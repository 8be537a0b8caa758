// Stop signals to the whole `npm start` process group (npm, sh, tsx, src/main.ts; the worker child
// and the embedded Postgres run in groups of their own), as systemd's `kill -TERM -- -PGID` or a
// terminal's Ctrl-C deliver them: npm and tsx relay each signal too, so src/main.ts sees it two or
// three times. Every time: exactly one drain per process, a checkpoint at the step reached (the
// next start resumes from exactly there), src/main.ts exits 0, worker and embedded Postgres stopped.
// The issue asks for 10 rounds of each signal; CI runs SIGNAL_ROUNDS (default 2) of each.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startDatabase } from '../../src/db/database.ts';
import { until } from '../helpers/until.ts';
import {
  alive,
  embeddedUrl,
  groupGone,
  launch,
  postmasterPid,
  queryOnce,
  smallDataset,
  startTraining,
  allWorkerPids,
  type Instance,
} from './process-tree.ts';

const ROUNDS = Number(process.env.SIGNAL_ROUNDS ?? 2);
const PG_PORT = String(5600 + (process.pid % 300));
let dataDir: string;
const instances: Instance[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-signals-'));
  await chmod(dataDir, 0o755); // as root the embedded server runs as `postgres`, which must reach its folder
});
afterAll(async () => {
  if (process.env.TEST_LOG_DIR) await writeFile(join(process.env.TEST_LOG_DIR, 'signals.log'), instances.map((i) => i.output()).join('\n'));
  for (const i of instances) {
    if (!groupGone(i.pgid)) process.kill(-i.pgid, 'SIGKILL');
    for (const pid of allWorkerPids(i)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  const pgPid = await postmasterPid(dataDir);
  if (pgPid && alive(pgPid)) process.kill(pgPid, 'SIGQUIT');
  await rm(dataDir, { recursive: true, force: true });
});

const msgs = (i: Instance, role: string, re: RegExp) => i.lines().filter((l) => l.role === role && re.test(l.msg));

describe('npm start under signals to its process group', () => {
  it(
    `SIGTERM and SIGINT to the group, ${ROUNDS} rounds each: one drain, a checkpoint, everything stopped`,
    async () => {
      let runId: string | undefined;
      let stoppedAt = 0;
      const signals: NodeJS.Signals[] = [...Array(ROUNDS).fill('SIGTERM'), ...Array(ROUNDS).fill('SIGINT')];
      for (const [round, signal] of signals.entries()) {
        const i = launch({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_PG_PORT: PG_PORT }, { viaNpm: true });
        instances.push(i);
        const url = await i.ready;
        expect(url, i.output()).toBeDefined();
        if (runId === undefined)
          runId = await startTraining(url!, { datasetId: await smallDataset(url!), epochs: 200, checkpointEvery: 10 });
        // two batches of this round stored
        const dbUrl = (await embeddedUrl(dataDir))!;
        const step = async () =>
          (await queryOnce<{ step: number }>(dbUrl, `SELECT step FROM "TrainingRun" WHERE id = $1`, [runId]))[0]!.step;
        await until(step, (s) => s >= stoppedAt + 2, 90_000, 100);
        // resumed from exactly the checkpoint the previous round's drain wrote
        if (round > 0) expect(msgs(i, 'worker', new RegExp(`resuming from step ${stoppedAt}$`)), `round ${round}`).toHaveLength(1);
        const pgPid = await postmasterPid(dataDir);

        process.kill(-i.pgid, signal);
        // npm itself may die of the signal while its child drains: wait for the whole group
        await i.exited;
        await until(async () => groupGone(i.pgid), Boolean, 60_000, 100);
        expect(msgs(i, 'supervisor', /^stopped$/), i.output()).toHaveLength(1); // src/main.ts's exit(0) path
        expect(msgs(i, 'supervisor', /: draining/), i.output()).toHaveLength(1);
        // each worker process (a separate caption worker too, where there is one) drained exactly once
        const workerDrains = msgs(i, 'worker', /SIGTERM: draining/).map((l) => l.pid);
        expect(workerDrains.sort()).toEqual(allWorkerPids(i).sort());
        expect(i.lines().filter((l) => /exiting now/.test(l.msg))).toEqual([]);
        const stopped = msgs(i, 'worker', /stopped \(shutdown\) at step \d+$/);
        expect(stopped).toHaveLength(1);
        const at = Number(/at step (\d+)$/.exec(stopped[0]!.msg)![1]);
        expect(at).toBeGreaterThanOrEqual(stoppedAt + 2);
        stoppedAt = at;
        for (const pid of allWorkerPids(i)) expect(alive(pid)).toBe(false);
        expect(pgPid !== undefined && alive(pgPid)).toBe(false);
      }

      // the last stop left the run QUEUED with a checkpoint at the step it reached
      const db = await startDatabase(loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_PG_PORT: PG_PORT }));
      try {
        const [run] = await queryOnce(db.url, `SELECT status, step FROM "TrainingRun" WHERE id = $1`, [runId]);
        const [ck] = await queryOnce(db.url, `SELECT max(step) AS step FROM "Checkpoint" WHERE "runId" = $1`, [runId]);
        expect(run).toEqual({ status: 'QUEUED', step: stoppedAt });
        expect(ck!.step).toBe(stoppedAt);
      } finally {
        await db.stop();
      }
    },
    120_000 + ROUNDS * 2 * 45_000,
  );
});
