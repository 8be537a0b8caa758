// A model blob with one byte flipped in Postgres: a worker that has no copy yet (its own data dir)
// detects it by the hash while unpacking, fails the caption request with a clear error, and keeps
// nothing of it in its cache; the model is never loaded.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { quietLog, startApiWithWorker, type ApiWithWorker } from '../e2e/shared.ts';
import { until } from '../helpers/until.ts';

let stack: ApiWithWorker;
let other: RunningWorker | undefined;
let otherDir: string;
beforeAll(async () => {
  stack = await startApiWithWorker();
  otherDir = await mkdtemp(join(tmpdir(), 'glimpse-corrupt-'));
});
afterAll(async () => {
  await other?.stop({ graceful: true });
  await stack?.close();
  await rm(otherDir, { recursive: true, force: true });
});

describe('a corrupted blob', { timeout: 240_000 }, () => {
  it('is detected by its hash on another worker: the caption fails with a clear error, nothing is cached', async () => {
    const { t } = stack;
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes", synthetic: { images: 12, seed: 3 } }) { id } }`);
    const datasetId = created.data!.createDataset.id;
    await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status === 'READY',
      120_000,
    );
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: { datasetId, epochs: 1, batchSize: 8, units: 32, embeddingDim: 16, vocabSize: 50, seed: 1, checkpointEvery: 0 },
    });
    const runId = started.data!.startTraining.id;
    const run = await until(
      () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { model: true } }),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      180_000,
    );
    expect(run.status).toBe('SUCCEEDED');
    const blobId = run.model!.blobId!;
    const flipped = await t.db.prisma.$executeRaw`
      UPDATE "BlobChunk" SET "bytes" = set_byte("bytes", 1000, get_byte("bytes", 1000) # 255) WHERE "blobId" = ${blobId} AND "index" = 0`;
    expect(flipped).toBe(1);

    // the worker that trained it holds it in memory and in its cache: a fresh caption worker elsewhere
    await stack.worker.stop({ graceful: true });
    const config = loadConfig({ GLIMPSE_DATA_DIR: otherDir, GLIMPSE_HEARTBEAT_SECONDS: '1', GLIMPSE_WORKER_JOBS: 'caption' });
    other = await startWorker({
      config,
      prisma: t.db.prisma,
      queue: t.queue,
      workerId: 'fresh',
      pollingIntervalSeconds: 0.5,
      log: quietLog,
    });
    const image = new PNG({ width: 32, height: 32 });
    image.data.fill(128);
    const requested = await t.gql(`mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
      input: { modelId: run.model!.id, imageBase64: PNG.sync.write(image).toString('base64') },
    });
    expect(requested.errors).toBeUndefined();
    const id = requested.data!.requestCaption.id;
    const done = await until(
      () => t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } }),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      60_000,
    );
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(
      new RegExp(`could not be loaded: blob ${blobId} is corrupt in the artifact store \\(.*hash to sha256 .*\\); it was not used`),
    );
    expect(await readdir(join(otherDir, 'cache')).catch(() => [])).toEqual([]);
  });
});
