// Workers on different hosts: one API and two worker processes (`src/jobs/worker-main.ts`), each
// with its own GLIMPSE_DATA_DIR, sharing only DATABASE_URL. Worker A generates a synthetic set and
// trains past a checkpoint, is SIGKILLed and its data dir deleted; worker B takes the run back,
// resumes from A's checkpoint out of the artifact store (its first computed step is the checkpoint's
// step + 1, and the loss curve equals an uninterrupted run with the same seed at every step), finishes
// and captions with the model. The API's deletes remove the rows and their blobs (counted).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { until as pollUntil } from '../helpers/until.ts';

interface WorkerProcess {
  child: ChildProcess;
  dataDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

let t: TestApi;
let apiDir: string;
const workers: WorkerProcess[] = [];
const dirs: string[] = [];

async function spawnWorker(id: string): Promise<WorkerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), `glimpse-host-${id}-`));
  dirs.push(dataDir);
  const env = { ...process.env, DATABASE_URL: t.db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '2' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/jobs/worker-main.ts', `--worker-id=${id}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const worker = { child, dataDir, output: () => text, exited };
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  apiDir = await mkdtemp(join(tmpdir(), 'glimpse-host-api-'));
  t = await startTestApi({ GLIMPSE_DATA_DIR: apiDir });
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  if (process.env.TEST_WORKER_LOGS)
    for (const [i, w] of workers.entries()) await writeFile(join(process.env.TEST_WORKER_LOGS, `worker-${i}.log`), w.output());
  await t?.close();
  for (const dir of [apiDir, ...dirs]) await rm(dir, { recursive: true, force: true });
});

/** child processes on 2 shared cores: a longer default wait */
const until = <T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 240_000) => pollUntil(read, done, timeoutMs);
const SETTINGS = { epochs: 2, batchSize: 4, units: 32, embeddingDim: 16, vocabSize: 50, seed: 11, checkpointEvery: 10 };

describe('one API and two worker hosts sharing only the database', { timeout: 300_000 }, () => {
  let datasetId: string;
  let runId: string;
  let modelId: string;
  let worker: WorkerProcess;
  const run = (id = runId) => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id } });
  const losses = async (id: string) =>
    (await t.db.prisma.lossPoint.findMany({ where: { runId: id }, orderBy: { step: 'asc' } })).map((p) => [p.step, p.loss] as const);
  const start = async () => {
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: { datasetId, ...SETTINGS },
    });
    expect(started.errors, JSON.stringify(started.errors)).toBeUndefined();
    return started.data!.startTraining.id as string;
  };

  it('A generates the set and trains past a checkpoint, then dies with its data dir', async () => {
    const a = await spawnWorker('A');
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes", synthetic: { images: 48, seed: 5 } }) { id } }`);
    datasetId = created.data!.createDataset.id;
    const ready = await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status !== 'PENDING',
    );
    expect(ready).toMatchObject({ status: 'READY', annotationsPath: null, imagesDir: null });
    expect(ready.blobId).toMatch(/^[0-9a-f]{64}$/);
    runId = await start();
    const ck = await until(
      () => t.db.prisma.checkpoint.findFirst({ where: { runId }, orderBy: { step: 'desc' } }),
      (c) => c !== null,
    );
    expect(ck!.blobId).toMatch(/^[0-9a-f]{64}$/);
    expect(ck!.path).toBeNull();
    a.child.kill('SIGKILL');
    await a.exited;
    await rm(a.dataDir, { recursive: true, force: true });
    expect((await run()).status).toBe('RUNNING');
    expect((await run()).totalSteps).toBeGreaterThan(ck!.step);
  });

  it('B takes the run back and resumes from A’s checkpoint out of the store; the curve is an uninterrupted run’s', async () => {
    const resumeFrom = (await t.db.prisma.checkpoint.findFirstOrThrow({ where: { runId }, orderBy: { step: 'desc' } })).step;
    worker = await spawnWorker('B');
    const done = await until(run, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'SUCCEEDED', workerId: 'B' });
    expect(worker.output()).toContain(`resuming from step ${resumeFrom}`);
    const firstOnB = /first step computed on this worker: (\d+)/.exec(worker.output());
    expect(Number(firstOnB?.[1])).toBe(resumeFrom + 1);
    // the dataset and the checkpoint came from the store into B's cache
    const cached = await readdir(join(worker.dataDir, 'cache'));
    const dataset = await t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } });
    expect(cached).toContain(dataset.blobId);
    // checkpoints pruned to the latest 2
    expect(await t.db.prisma.checkpoint.count({ where: { runId } })).toBe(2);

    const reference = await start();
    await until(
      () => run(reference),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    const [resumed, straight] = [await losses(runId), await losses(reference)];
    expect(resumed.map(([s]) => s)).toEqual(Array.from({ length: done.totalSteps! }, (_, i) => i + 1));
    expect(straight.map(([s]) => s)).toEqual(resumed.map(([s]) => s));
    for (const [i, [step, loss]] of resumed.entries()) {
      expect(Math.abs(loss - straight[i]![1]), `step ${step}`).toBeLessThan(1e-5);
    }
  });

  it('B captions with the model it loads from the store', async () => {
    const model = await t.db.prisma.model.findUniqueOrThrow({ where: { runId } });
    modelId = model.id;
    expect(model.blobId).toMatch(/^[0-9a-f]{64}$/);
    expect(model.path).toBeNull();
    const dataset = await t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } });
    const images = join(worker.dataDir, 'cache', dataset.blobId!, 'images');
    const png = await readFile(join(images, (await readdir(images))[0]!));
    const requested = await t.gql(`mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
      input: { modelId, imageBase64: png.toString('base64') },
    });
    expect(requested.errors).toBeUndefined();
    const id = requested.data!.requestCaption.id;
    const row = await until(
      () => t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } }),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
    );
    expect(row).toMatchObject({ status: 'SUCCEEDED', workerId: 'B' });
    expect(row.caption!.length).toBeGreaterThan(0);
  });

  it('deletes remove the rows and the blobs no other row references; the API touches no worker disk', async () => {
    const counts = async () => ({ blobs: await t.db.prisma.blob.count(), chunks: await t.db.prisma.blobChunk.count() });
    /** blobs referenced by anything */
    const referenced = async () => {
      const rows = await t.db.prisma.$queryRaw<{ id: string }[]>`
        SELECT "blobId" AS id FROM "Checkpoint" WHERE "blobId" IS NOT NULL UNION SELECT "blobId" FROM "Model" WHERE "blobId" IS NOT NULL
        UNION SELECT "blobId" FROM "Dataset" WHERE "blobId" IS NOT NULL`;
      return new Set(rows.map((r) => r.id));
    };
    const stored = async () => new Set((await t.db.prisma.blob.findMany({ select: { id: true } })).map((b) => b.id));
    expect(await stored()).toEqual(await referenced());
    const before = await counts();
    expect(before.blobs).toBeGreaterThanOrEqual(3);

    const ok = async (mutation: string, id: string) => {
      const result = await t.gql(`mutation($id: ID!) { ${mutation}(id: $id) }`, { id });
      expect(result.errors).toBeUndefined();
      // after each delete, exactly the referenced blobs remain, with their chunks
      expect(await stored()).toEqual(await referenced());
    };
    const models = await t.db.prisma.model.findMany({ select: { id: true } });
    for (const m of models) await ok('deleteModel', m.id);
    for (const r of await t.db.prisma.trainingRun.findMany({ select: { id: true } })) await ok('deleteTrainingRun', r.id);
    await ok('deleteDataset', datasetId);
    expect(await counts()).toEqual({ blobs: 0, chunks: 0 });
    expect(modelId).toBeDefined();
    // the API's own data dir holds no artifacts
    expect(
      await stat(join(apiDir, 'cache')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  });
});
