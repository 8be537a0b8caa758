// A real worker for job tests: its own test database, pg-boss queue and data folder, and the tiny run
// settings (32-px CNN, small decoder) that train in seconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/** a TrainingRun.config that trains in seconds */
export const TINY_RUN = {
  epochs: 2,
  batchSize: 8,
  learningRate: 0.003,
  embeddingDim: 16,
  units: 32,
  vocabSize: 50,
  maxLength: null,
  seed: 3,
  valFraction: 0.1,
  checkpointEvery: 0,
  imageSize: 32,
  channels: [8, 16],
};

export const quietLog = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

export interface TestWorker {
  db: TestDatabase;
  queue: JobQueue;
  worker: RunningWorker;
  dataDir: string;
  close(): Promise<void>;
}

/** A worker (heartbeat 1 s, polling 0.5 s) on a fresh test database; `env` adds configuration. */
export async function startTestWorker(workerId: string, env: Record<string, string> = {}): Promise<TestWorker> {
  const dataDir = await mkdtemp(join(tmpdir(), `glimpse-${workerId}-`));
  const db = await createTestDatabase();
  const queue = await createQueue(db.url);
  await queue.start();
  const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', ...env });
  const worker = await startWorker({ config, prisma: db.prisma, queue, workerId, pollingIntervalSeconds: 0.5, log: quietLog });
  return {
    db,
    queue,
    worker,
    dataDir,
    async close() {
      await worker.stop({ graceful: true });
      await queue.stop();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
