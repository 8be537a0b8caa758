// Issue 20, finding 8: every checkpoint the training job stores — every checkpointEvery steps mid-epoch,
// and the one written when training is aborted — goes through the lease check (src/runs/lease.ts
// writeLeased), so a worker that has lost its run records none. The run is taken from this worker at an
// exact step by a trigger in this file's own test database: the step's LossPoint insert moves the run to
// another worker inside the same transaction, right after that write's own lease check passed — as if
// the reaper had taken the run back and another worker claimed it the moment that step committed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { datasetJob } from '../../src/jobs/dataset.job.ts';
import type { JobHelpers } from '../../src/jobs/helpers.ts';
import { trainJob } from '../../src/jobs/train.job.ts';
import { initBackend } from '../../src/ml/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { TINY_RUN } from '../helpers/worker.ts';

/** 48 images, 10% held out, batches of 2: 22 batches in the one epoch, so steps 10 and 20 are mid-epoch checkpoints */
const RUN = { ...TINY_RUN, epochs: 1, batchSize: 2, checkpointEvery: 10 };

let db: TestDatabase;
let dataDir: string;
let config: Config;
let datasetId: string;

/** what the job logged, and a hook called with each batch's step before that batch's row is written */
function jobHelpers(shutdown: AbortSignal, onStep: (step: number) => void = () => {}): { helpers: JobHelpers; lines: string[] } {
  const lines: string[] = [];
  const helpers: JobHelpers = {
    config,
    prisma: db.prisma,
    queue: { enqueueTraining: () => Promise.reject(new Error('a run whose lease was lost is not handed back by its old worker')) },
    workerId: 'w-lost',
    log: {
      info: (message) => lines.push(message),
      error: (message) => lines.push(message),
      // the progress log's line per batch, written before the batch's LossPoint
      debug: (message) => {
        const step = /: step (\d+)\//.exec(message)?.[1];
        if (step !== undefined) onStep(Number(step));
      },
    },
    shutdown,
  };
  return { helpers, lines };
}

/** the run moves to worker `w-other` in the transaction that stores its LossPoint of `step` */
async function takeOverAt(runId: string, step: number): Promise<void> {
  await db.prisma.$executeRaw`INSERT INTO takeover ("runId", step) VALUES (${runId}, ${step})`;
}

async function newRun(): Promise<string> {
  return (await db.prisma.trainingRun.create({ data: { datasetId, config: RUN } })).id;
}

const checkpointSteps = async (runId: string) =>
  (await db.prisma.checkpoint.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map((c) => c.step);
/** uploads not committed with a row (blobs are content-addressed: a committed one may equal an earlier run's) */
const pendingBlobs = () => db.prisma.blob.count({ where: { id: { startsWith: 'pending:' } } });

/** the run left to its new owner as it was (not ended, not handed back by the old worker), and the old worker said so */
async function expectLeftToNewOwner(runId: string, lines: string[]): Promise<void> {
  const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
  expect(run).toMatchObject({ status: 'RUNNING', workerId: 'w-other', error: null });
  expect(
    lines.some((l) => /lease lost, left to its new owner/.test(l)),
    lines.join('\n'),
  ).toBe(true);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-checkpoint-lease-'));
  db = await createTestDatabase();
  config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1' });
  await initBackend(config.backend);
  const dataset = await db.prisma.dataset.create({ data: { name: 'shapes', kind: 'SYNTHETIC', syntheticImages: 48, syntheticSeed: 4 } });
  await datasetJob({ datasetId: dataset.id }, jobHelpers(new AbortController().signal).helpers);
  expect((await db.prisma.dataset.findUniqueOrThrow({ where: { id: dataset.id } })).status).toBe('READY');
  datasetId = dataset.id;
  await db.prisma.$executeRawUnsafe(`CREATE TABLE takeover ("runId" text, step int)`);
  await db.prisma.$executeRawUnsafe(`CREATE FUNCTION take_over() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM takeover t WHERE t."runId" = NEW."runId" AND t.step = NEW.step) THEN
        UPDATE "TrainingRun" SET "workerId" = 'w-other', "heartbeatAt" = now() AT TIME ZONE 'UTC' WHERE id = NEW."runId";
      END IF;
      RETURN NEW;
    END $$`);
  await db.prisma.$executeRawUnsafe(`CREATE TRIGGER take_over AFTER INSERT ON "LossPoint" FOR EACH ROW EXECUTE FUNCTION take_over()`);
});
afterAll(async () => {
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('checkpoints go through the lease check', () => {
  it('mid-epoch: the checkpoint at step 10 is recorded while the lease holds, the one at step 20 not once the run is taken', async () => {
    const runId = await newRun();
    await takeOverAt(runId, 20);
    const { helpers, lines } = jobHelpers(new AbortController().signal);

    await trainJob({ runId }, helpers);

    await expectLeftToNewOwner(runId, lines);
    expect(await checkpointSteps(runId)).toEqual([10]);
    // the step-20 upload was dropped with its rolled-back row
    expect(await pendingBlobs()).toBe(0);
    const steps = await db.prisma.lossPoint.findMany({ where: { runId }, select: { step: true }, orderBy: { step: 'asc' } });
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('on abort: the checkpoint written when training stops is not recorded by a worker that lost the run meanwhile', async () => {
    const runId = await newRun();
    // step 12: past the checkpoint at step 10 (recorded), and no checkpoint of its own is due
    await takeOverAt(runId, 12);
    const shutdown = new AbortController();
    // the worker is asked to stop during step 12: train() writes its abort checkpoint before the next batch
    const { helpers, lines } = jobHelpers(shutdown.signal, (step) => step === 12 && shutdown.abort());

    await trainJob({ runId }, helpers);

    expect(shutdown.signal.aborted).toBe(true);
    await expectLeftToNewOwner(runId, lines);
    expect(await checkpointSteps(runId)).toEqual([10]);
    expect(await pendingBlobs()).toBe(0);
    expect(await db.prisma.lossPoint.count({ where: { runId } })).toBe(12);
  });

  it('on abort with the lease held: the stop checkpoint is recorded and the run handed back from it', async () => {
    const runId = await newRun();
    const shutdown = new AbortController();
    const { helpers } = jobHelpers(shutdown.signal, (step) => step === 12 && shutdown.abort());
    let handedBack = false;
    helpers.queue = {
      enqueueTraining: async () => {
        handedBack = true;
        return 'job-id';
      },
    };

    await trainJob({ runId }, helpers);

    const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run).toMatchObject({ status: 'QUEUED', error: null });
    expect(handedBack).toBe(true);
    expect(await checkpointSteps(runId)).toEqual([10, 12]);
  });
});
