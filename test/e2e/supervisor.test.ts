// `npm start`'s supervisor as a real process tree (src/main.ts on a test database):
// - a job that breaks the ML runtime (a real WebAssembly "memory access out of bounds" trap, fired
//   by the GLIMPSE_TEST_WASM_FAULT hook) fails; the worker leaves the live workers and exits 70; the
//   supervisor starts a fresh one, and the next job succeeds;
// - the worker child SIGKILLed mid-run (what the OOM killer does) is restarted; its run is handed
//   back at once and resumes from its checkpoint, every step stored once; the API never stops answering;
// - a second start on the same data dir exits 1 naming the holder, and the first keeps serving.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { alive, smallDataset, gql, healthz, launch, startTraining, workerPids, allWorkerPids, type Instance } from './process-tree.ts';

let db: TestDatabase;
let dataDir: string;
let faultFile: string;
let instance: Instance;
let url: string;
let datasetId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-supervisor-'));
  faultFile = join(dataDir, 'wasm-fault');
  instance = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_TEST_WASM_FAULT: faultFile });
  url = (await instance.ready)!;
  if (!url) throw new Error(`npm start did not come up:\n${instance.output()}`);
  datasetId = await smallDataset(url);
});
afterAll(async () => {
  if (process.env.TEST_LOG_DIR) await writeFile(join(process.env.TEST_LOG_DIR, 'supervisor.log'), instance?.output() ?? '');
  if (instance && instance.child.exitCode === null) process.kill(-instance.pgid, 'SIGKILL');
  for (const pid of instance ? allWorkerPids(instance) : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const run = (id: string) => db.prisma.trainingRun.findUniqueOrThrow({ where: { id } });
const finished = (id: string) =>
  until(
    () => run(id),
    (r) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status),
    120_000,
    250,
  );
const storedSteps = async (runId: string) =>
  (await db.prisma.lossPoint.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map((p) => p.step);
const liveWorkers = async () => (await healthz(url)).body.workers;

describe('npm start supervises its worker', () => {
  it('a wasm trap fails the job, the worker is replaced (exit 70) and the next job on the new one succeeds', async () => {
    const [first] = workerPids(instance);
    await until(liveWorkers, (n) => Number(n) >= 1, 60_000, 200);
    await writeFile(faultFile, '');
    const broken = await finished(await startTraining(url, { datasetId, epochs: 1 }));
    expect(broken.status).toBe('FAILED');
    expect(broken.error).toMatch(/memory access out of bounds/);
    await until(
      async () => workerPids(instance).length,
      (n) => n === 2,
      60_000,
      200,
    );
    expect(
      instance.lines().some((l) => l.role === 'supervisor' && /stopped unexpectedly \(exit code 70: its ML runtime broke\)/.test(l.msg)),
    ).toBe(true);
    expect(alive(first!)).toBe(false);
    // it left the live workers itself (serverInfo.workers, /healthz) instead of lingering until its beats time out
    expect(await db.prisma.worker.findUnique({ where: { id: broken.workerId! } })).toBeNull();

    const ok = await finished(await startTraining(url, { datasetId, epochs: 1 }));
    expect(ok).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(ok.workerId).not.toBe(broken.workerId);
  }, 200_000);

  it('SIGKILL of the worker child: restarted, the run resumes from its checkpoint, every step once, the API answers throughout', async () => {
    const runId = await startTraining(url, { datasetId, epochs: 3, checkpointEvery: 10 });
    const ck = await until(
      () => db.prisma.checkpoint.findFirst({ where: { runId }, orderBy: { step: 'desc' } }),
      (c) => c !== null,
      120_000,
      100,
    );
    await until(
      () => storedSteps(runId),
      (s) => s.length >= ck!.step + 2,
      60_000,
      50,
    );
    const victim = workerPids(instance).at(-1)!;
    let answered = 0;
    let failedRequests = 0;
    const polling = (async () => {
      while ((await run(runId)).status !== 'SUCCEEDED' && (await run(runId)).status !== 'FAILED') {
        await gql(url, '{ serverInfo { version } }').then(
          () => answered++,
          () => failedRequests++,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    process.kill(victim, 'SIGKILL');
    const done = await finished(runId);
    await polling;
    expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(await storedSteps(runId)).toEqual(Array.from({ length: done.totalSteps! }, (_, i) => i + 1));
    expect(instance.lines().some((l) => l.runId === runId && /resuming from step [1-9]/.test(l.msg))).toBe(true);
    expect(instance.lines().some((l) => /stopped unexpectedly \(killed by SIGKILL\)/.test(l.msg))).toBe(true);
    expect(instance.lines().some((l) => l.msg.startsWith("handed back the dead worker's runs") && l.msg.includes(runId))).toBe(true);
    expect(workerPids(instance).length).toBe(3);
    expect(answered).toBeGreaterThan(0);
    expect(failedRequests).toBe(0);
  }, 200_000);

  it('a second start on the same data dir exits 1 naming the holder, without touching Postgres; the first keeps serving', async () => {
    const second = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: '0', DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    second.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    second.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
    expect(code).toBe(1);
    expect(text).toContain(`the data dir is in use by pid ${instance.child.pid}`);
    expect(text).not.toMatch(/Postgres from DATABASE_URL|applied migrations/);
    expect((await healthz(url)).status).toBe(200);
    const { serverInfo } = await gql<{ serverInfo: { liveWorkers: { pid: number }[] } }>(url, '{ serverInfo { liveWorkers { pid } } }');
    expect(serverInfo.liveWorkers.map((w) => w.pid)).toContain(workerPids(instance).at(-1));

    process.kill(-instance.pgid, 'SIGTERM');
    expect(await instance.exited).toBe(0);
  }, 60_000);
});
