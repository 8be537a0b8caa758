// Worker roles (GLIMPSE_WORKER_JOBS): a caption-only worker never takes a dataset or training job, a
// training-only worker never takes a caption, each shown at the moment it takes another job that it could
// only have fetched while the left one was waiting (never by waiting a fixed time); serverInfo.liveWorkers
// shows each one's roles and what it runs. The caption worker has its own data dir: it loads the model from
// the artifact store.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';
import { quietLog } from '../e2e/shared.ts';
import { until } from '../helpers/until.ts';

let t: TestApi;
const dirs: string[] = [];
const running: RunningWorker[] = [];

async function worker(id: string, jobs: string): Promise<{ worker: RunningWorker; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), `glimpse-roles-${id}-`));
  dirs.push(dataDir);
  const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', GLIMPSE_WORKER_JOBS: jobs });
  const w = await startWorker({ config, prisma: t.db.prisma, queue: t.queue, workerId: id, pollingIntervalSeconds: 0.5, log: quietLog });
  running.push(w);
  return { worker: w, dataDir };
}

function png(): string {
  const image = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < image.data.length; i += 4) image.data.set([200, (i / 4) % 256, 40, 255], i);
  return PNG.sync.write(image).toString('base64');
}

beforeAll(async () => {
  const apiDir = await mkdtemp(join(tmpdir(), 'glimpse-roles-api-'));
  dirs.push(apiDir);
  t = await startTestApi({ GLIMPSE_DATA_DIR: apiDir });
});
afterAll(async () => {
  for (const w of running) await w.stop({ graceful: true });
  await t?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('worker roles', { timeout: 240_000 }, () => {
  it('GLIMPSE_WORKER_JOBS refuses unknown roles', () => {
    expect(() => loadConfig({ GLIMPSE_WORKER_JOBS: 'training,gpu' })).toThrow(/GLIMPSE_WORKER_JOBS/);
    // training implies evaluation
    expect(loadConfig({ GLIMPSE_WORKER_JOBS: 'caption, training' }).workerJobs).toEqual(['training', 'caption', 'evaluation']);
    expect(loadConfig({ GLIMPSE_WORKER_JOBS: 'caption,evaluation' }).workerJobs).toEqual(['caption', 'evaluation']);
    expect(loadConfig({}).workerJobs).toEqual(['training', 'caption', 'dataset', 'evaluation', 'bulk-caption']);
  });

  it('a caption-only worker takes no dataset or training job; a training-only worker no caption', async () => {
    const createDataset = async (seed: number): Promise<string> => {
      const created = await t.gql(
        `mutation($name: String!, $seed: Int!) { createDataset(input: { name: $name, synthetic: { images: 12, seed: $seed } }) { id } }`,
        {
          name: `shapes-${seed}`,
          seed,
        },
      );
      expect(created.errors).toBeUndefined();
      return created.data!.createDataset.id;
    };
    const datasetStatus = async (id: string) => (await t.db.prisma.dataset.findUniqueOrThrow({ where: { id } })).status;
    const trainer = await worker('T', 'training,dataset');
    const datasetId = await createDataset(3);
    await until(
      () => datasetStatus(datasetId),
      (status) => status === 'READY',
      120_000,
    );
    const captioner = await worker('C', 'caption');
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: { datasetId, epochs: 1, batchSize: 8, units: 32, embeddingDim: 16, vocabSize: 50, seed: 1, checkpointEvery: 0 },
    });
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;

    // serverInfo lists both with their roles, and the run under the worker that runs it
    const info = await until(
      async () =>
        (await t.gql(`{ serverInfo { liveWorkers { id roles runningTrainingRuns runningCaptionRequests } } }`)).data!.serverInfo
          .liveWorkers,
      (ws: { id: string; runningTrainingRuns: string[] }[]) => ws.some((w) => w.runningTrainingRuns.includes(runId)),
      120_000,
      50,
    );
    expect(info).toEqual(
      expect.arrayContaining([
        { id: 'C', roles: ['caption'], runningTrainingRuns: [], runningCaptionRequests: 0 },
        { id: 'T', roles: ['training', 'dataset', 'evaluation'], runningTrainingRuns: [runId], runningCaptionRequests: 0 },
      ]),
    );
    const run = await until(
      () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { model: true } }),
      (r) => r.status !== 'QUEUED' && r.status !== 'RUNNING',
      180_000,
    );
    expect(run).toMatchObject({ status: 'SUCCEEDED', workerId: 'T' });

    const request = async () => {
      const r = await t.gql(`mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
        input: { modelId: run.model!.id, imageBase64: png() },
      });
      expect(r.errors).toBeUndefined();
      return r.data!.requestCaption.id as string;
    };
    const captionOf = (id: string) => t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } });

    // only the caption worker is left: it takes a caption request queued after a dataset job, and leaves
    // the dataset job (its proof of having fetched while that job was waiting)
    await trainer.worker.stop({ graceful: true });
    const waiting = await createDataset(4);
    const first = await request();
    const done = await until(
      () => captionOf(first),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      120_000,
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED', workerId: 'C' });
    expect(await datasetStatus(waiting)).toBe('PENDING');
    // C has its own data dir: the model came from the store into its cache
    expect(await readdir(join(captioner.dataDir, 'cache'))).toContain(run.model!.blobId);

    // only a training worker is left: started after a caption request was queued, it builds the waiting
    // dataset (its proof of having fetched while the request was waiting) and leaves the request
    await captioner.worker.stop({ graceful: true });
    const second = await request();
    await worker('T2', 'training,dataset');
    await until(
      () => datasetStatus(waiting),
      (status) => status === 'READY',
      120_000,
    );
    expect(await captionOf(second)).toMatchObject({ status: 'QUEUED', workerId: null });
  });
});
