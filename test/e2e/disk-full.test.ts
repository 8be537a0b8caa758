// Issue 20, finding 5: with the data dir full during a checkpoint the run FAILED with the raw "ENOSPC: no space left
// on device, write", left an empty `step-….tmp`, and was not retried when space came back. Here the worker (a real
// child process, src/jobs/worker-main.ts) has a data dir on a small tmpfs of its own; the test fills it with a file
// after the run's first checkpoint: the next checkpoint fails with ENOSPC, the run is handed back (QUEUED, a
// message that says why), no partial checkpoint folder is left, the worker takes no training job while its disk
// is full and says so (serverInfo, /healthz); the file deleted, the run resumes from its last checkpoint and
// finishes with every step once (stored, and as its subscriber saw them).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApi, type TestApi } from '../api/harness.ts';
import { inCi } from '../helpers/prerequisites.ts';
import { until } from '../helpers/until.ts';
import { TINY_RUN } from './process-tree.ts';

const MOUNT = resolve('test/.tmp', `disk-full-${process.pid}`);

/** a 48 MiB tmpfs at MOUNT, or why not */
function mountSmallDisk(): string | null {
  try {
    mkdirSync(MOUNT, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', MOUNT], { stdio: 'pipe' });
    return null;
  } catch (e) {
    rmSync(MOUNT, { recursive: true, force: true });
    return e instanceof Error ? e.message : String(e);
  }
}
/** why the tmpfs could not be mounted (the test then skips, saying so), null once it is */
let cannotMount: string | null = 'not tried';

let t: TestApi;
let apiDir: string;
let worker: { child: ChildProcess; output: () => string; exited: Promise<unknown> } | undefined;
const FILLER = join(MOUNT, 'filler');

beforeAll(async () => {
  cannotMount = mountSmallDisk();
  if (cannotMount) return;
  apiDir = await mkdtemp(join(tmpdir(), 'glimpse-disk-full-api-'));
  t = await startTestApi({ GLIMPSE_DATA_DIR: apiDir });
});
afterAll(async () => {
  if (cannotMount) return;
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await t?.close();
  for (const args of [[MOUNT], ['-l', MOUNT]]) {
    try {
      execFileSync('umount', args, { stdio: 'pipe' });
      break;
    } catch {
      /* busy: lazily */
    }
  }
  rmSync(MOUNT, { recursive: true, force: true });
  if (apiDir) await rm(apiDir, { recursive: true, force: true });
});

function spawnWorker(): NonNullable<typeof worker> {
  const env = {
    ...process.env,
    DATABASE_URL: t.db.url,
    GLIMPSE_DATA_DIR: MOUNT,
    GLIMPSE_HEARTBEAT_SECONDS: '1',
    GLIMPSE_MIN_FREE_DISK: '4MiB',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/jobs/worker-main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text, exited: new Promise((r) => child.on('exit', r)) };
}

/** writes zeros to FILLER until the filesystem refuses (ENOSPC) */
async function fillDisk(): Promise<void> {
  const file = await open(FILLER, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) await file.write(chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await file.close();
  }
}

const PROGRESS = `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind step status } }`;
const WORKERS = `{ serverInfo { liveWorkers { diskFull freeDiskBytes } } }`;
const slow = <T>(read: () => Promise<T>, done: (v: T) => boolean) => until(read, done, 120_000, 200);

describe('a worker whose data disk fills up mid-run', () => {
  it('hands the run back, takes no training job while full, and finishes every step once when space returns', async (ctx) => {
    // as test/helpers/prerequisites.ts: locally a skip that says why, in CI a failure
    if (cannotMount) {
      const why = `cannot mount a tmpfs at ${MOUNT} (needs root): ${cannotMount}`;
      if (inCi) throw new Error(`CI is set: ${why}`);
      console.warn(`disk-full.test.ts skipped: ${why}`);
      return ctx.skip();
    }
    worker = spawnWorker();
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes", synthetic: { images: 40, seed: 5 } }) { id } }`);
    const datasetId = created.data!.createDataset.id;
    await slow(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status === 'READY',
    );
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: { ...TINY_RUN, datasetId, epochs: 3, checkpointEvery: 10 },
    });
    expect(started.errors).toBeUndefined();
    const runId: string = started.data!.startTraining.id;
    const progress = collect<{ trainingProgress: { kind: string; step: number; status: string } }>(t.ws(), PROGRESS, { runId });
    const run = () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });

    await slow(
      () => t.db.prisma.checkpoint.findFirst({ where: { runId } }),
      (c) => c !== null,
    );
    await fillDisk();

    // the next checkpoint hits ENOSPC: handed back with a message that says why, not FAILED
    const handedBack = await slow(run, (r) => r.error !== null || r.status === 'FAILED' || r.status === 'SUCCEEDED');
    expect(handedBack.status).toBe('QUEUED');
    expect(handedBack.error).toMatch(/^handed back: the worker's data disk is full \(no space left on device\)/);
    expect(handedBack.error).not.toContain(MOUNT);
    const lastCheckpoint = await t.db.prisma.checkpoint.findFirstOrThrow({ where: { runId }, orderBy: { step: 'desc' } });
    expect(lastCheckpoint.step).toBeLessThan(handedBack.step);
    const checkpointDir = join(MOUNT, 'checkpoints', runId);
    expect((await readdir(checkpointDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    // the worker says its disk is full, and takes no training job meanwhile
    const full = await slow(
      () => t.gql(WORKERS),
      (r) => r.data?.serverInfo.liveWorkers[0]?.diskFull === true,
    );
    expect(full.data!.serverInfo.liveWorkers[0].freeDiskBytes).toBeLessThan(4 * 1024 * 1024);
    const health = await fetch(new URL('/healthz', t.api.url));
    expect(await health.json()).toMatchObject({ status: 'ok', workers: 1, workersDiskFull: 1 });
    await new Promise((r) => setTimeout(r, 8_000)); // past the first retry's 5 s
    expect((await run()).status).toBe('QUEUED');
    expect(worker.output()).toMatch(
      /the data disk is full \([^)]* free, under GLIMPSE_MIN_FREE_DISK\): this worker takes no training jobs/,
    );

    // space back: the run resumes from its last checkpoint and finishes
    await rm(FILLER);
    const done = await slow(run, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(worker.output()).toContain(`resuming from step ${lastCheckpoint.step}`);
    const totalSteps = done.totalSteps!;
    const steps = (await t.db.prisma.lossPoint.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: totalSteps }, (_, i) => i + 1));
    await progress.completed;
    const events = progress.results.map((r) => r.data!.trainingProgress);
    expect(events.filter((e) => e.kind === 'BATCH').map((e) => e.step)).toEqual(Array.from({ length: totalSteps }, (_, i) => i + 1));
    expect(events.filter((e) => e.kind === 'STATUS').map((e) => e.status)).toContain('QUEUED');
    const after = await t.gql(WORKERS);
    expect(after.data!.serverInfo.liveWorkers[0].diskFull).toBe(false);
  }, 300_000);
});
