// Workers as real child processes (`node --import tsx src/jobs/worker-main.ts`) on one run:
// SIGTERM → the run is checkpointed at a batch boundary and handed back (QUEUED), the process exits 0;
// the next worker resumes it, is SIGKILLed after a checkpoint, and a third worker's reaper takes the
// run back within seconds and finishes it. Every step is stored exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApi, type TestApi } from '../api/harness.ts';
import { until as pollUntil } from '../helpers/until.ts';

const PROGRESS = `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind step status } }`;

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

let t: TestApi;
let dataDir: string;
const workers: WorkerProcess[] = [];

function spawnWorker(): WorkerProcess {
  const env = { ...process.env, DATABASE_URL: t.db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '2' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/jobs/worker-main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const worker = { child, output: () => text, exited };
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-sigkill-'));
  t = await startTestApi({ GLIMPSE_DATA_DIR: dataDir });
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** child processes on 2 shared cores: a longer default wait */
const until = <T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000) => pollUntil(read, done, timeoutMs);

describe('worker processes under SIGTERM and SIGKILL', () => {
  let runId: string;
  let totalSteps: number;
  let progress: ReturnType<typeof collect<{ trainingProgress: { kind: string; step: number; status: string } }>>;
  const run = () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
  const storedSteps = async () => (await t.db.prisma.lossPoint.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map((p) => p.step);

  it('SIGTERM: checkpoints at a batch boundary, hands the run back, exits 0', async () => {
    const first = spawnWorker();
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes", synthetic: { images: 12, seed: 5 } }) { id } }`);
    const datasetId = created.data!.createDataset.id;
    await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status === 'READY',
    );
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: { datasetId, epochs: 3, batchSize: 8, units: 32, embeddingDim: 16, vocabSize: 50, seed: 11, checkpointEvery: 10 },
    });
    expect(started.errors).toBeUndefined();
    runId = started.data!.startTraining.id;
    progress = collect(t.ws(), PROGRESS, { runId });

    await until(storedSteps, (s) => s.length >= 2);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const handedBack = await run();
    expect(handedBack).toMatchObject({ status: 'QUEUED', workerId: null });
    totalSteps = handedBack.totalSteps!;
    const latest = await t.db.prisma.checkpoint.findFirstOrThrow({ where: { runId }, orderBy: { step: 'desc' } });
    // the stop checkpoint is at the last stored batch: nothing computed is lost
    expect(latest.step).toBe(handedBack.step);
    expect(await storedSteps()).toEqual(Array.from({ length: handedBack.step }, (_, i) => i + 1));
    expect(first.output()).toMatch(/stopped \(shutdown\)/);
  });

  it('SIGKILL after a checkpoint: another worker takes the run back and finishes it, every step once', async () => {
    const resumedFrom = (await run()).step;
    const second = spawnWorker();
    // a checkpoint written by this worker, and a few batches past it that will be recomputed
    const ck = await until(
      () => t.db.prisma.checkpoint.findFirst({ where: { runId, step: { gt: resumedFrom } }, orderBy: { step: 'desc' } }),
      (c) => c !== null,
    );
    await until(storedSteps, (s) => s.length >= ck!.step + 1);
    second.child.kill('SIGKILL');
    await second.exited;
    expect(second.output()).toContain(`resuming from step ${resumedFrom}`);
    const killedAt = (await storedSteps()).length;
    expect((await run()).status).toBe('RUNNING');
    const lastCk = await t.db.prisma.checkpoint.findFirstOrThrow({ where: { runId }, orderBy: { step: 'desc' } });
    expect(lastCk.step).toBeLessThan(killedAt);

    const third = spawnWorker();
    const done = await until(run, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(done.error).toBeNull();
    expect(done.status).toBe('SUCCEEDED');
    expect(third.output()).toContain(`resuming from step ${lastCk.step}`);
    expect(await storedSteps()).toEqual(Array.from({ length: totalSteps }, (_, i) => i + 1));
    expect(await t.db.prisma.model.count({ where: { runId } })).toBe(1);

    // the subscriber that stayed connected through both faults saw every step once, in order
    await progress.completed;
    const events = progress.results.map((r) => r.data!.trainingProgress);
    expect(events.filter((e) => e.kind === 'BATCH').map((e) => e.step)).toEqual(Array.from({ length: totalSteps }, (_, i) => i + 1));
    const statuses = events.filter((e) => e.kind === 'STATUS').map((e) => e.status);
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    expect(statuses).toContain('QUEUED');
  });
});
