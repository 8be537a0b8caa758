// The training job's adaptive lease, watched through the database: a trigger (in this file's own
// test database) logs every write of the run's row, so the lease stated before and after each step
// is seen exactly as the reapers of other workers see it. The first step is made long the way a
// real one is: the job's event loop is held (synchronously, here by the test, in the same process)
// for longer than 3 heartbeat periods, while another worker's reaper runs in a child process.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { datasetJob } from '../../src/jobs/dataset.job.ts';
import type { JobHelpers } from '../../src/jobs/helpers.ts';
import { FIRST_STEP_LEASE_SECONDS } from '../../src/jobs/run-lease.ts';
import { trainJob } from '../../src/jobs/train.job.ts';
import { initBackend } from '../../src/ml/index.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { TINY_RUN as TINY } from '../helpers/worker.ts';

const HEARTBEAT_SECONDS = 1;
/** how long the first step holds the event loop: past 3 beats, and 2 reaper ticks past them */
const BLOCK_SECONDS = 5;

interface LeaseWrite {
  seq: number;
  leaseSeconds: number | null;
  step: number;
  totalSteps: number | null;
  status: string;
}

function holdEventLoop(seconds: number): void {
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    // a long synchronous training step
  }
}

/** another worker's reaper (same heartbeat), in its own process; reports what it took and the oldest beat it saw */
interface OtherReaperReport {
  reaped: string[];
  enqueued: string[];
  maxAgeSeconds: number;
}

function startOtherReaper(url: string, watchedRunId: string): { ready: Promise<void>; stop(): Promise<OtherReaperReport> } {
  const script = `import { createPrisma } from './src/db/client.ts';
    import { reapStaleRuns } from './src/queue/reaper.ts';
    const prisma = createPrisma(${JSON.stringify(url)}, { max: 2 });
    const reaped = [];
    const enqueued = [];
    const queue = { enqueueTraining: async (_tx, { runId }) => { enqueued.push(runId); } };
    let maxAgeSeconds = 0;
    let stopping = false;
    const tick = async () => {
      const runs = await reapStaleRuns(prisma, queue, { heartbeatSeconds: ${HEARTBEAT_SECONDS}, ownWorkerId: 'w-other' });
      reaped.push(...runs.map((r) => r.id));
      const [row] = await prisma.$queryRaw\`SELECT EXTRACT(EPOCH FROM ((now() AT TIME ZONE 'UTC') - "heartbeatAt"))::float8 AS age
        FROM "TrainingRun" WHERE id = \${${JSON.stringify(watchedRunId)}} AND status = 'RUNNING'\`;
      if (row && row.age > maxAgeSeconds) maxAgeSeconds = row.age;
    };
    await tick();
    console.log('ready');
    const timer = setInterval(() => { if (!stopping) tick().catch((e) => { console.error(e); process.exit(2); }); }, ${HEARTBEAT_SECONDS * 1000});
    process.stdin.on('data', async () => {
      stopping = true;
      clearInterval(timer);
      await tick();
      console.log(JSON.stringify({ reaped, enqueued, maxAgeSeconds }));
      await prisma.$disconnect();
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let waiting: (() => void)[] = [];
  let exitCode: number | null | undefined;
  child.once('exit', (code) => {
    exitCode = code;
    for (const w of waiting) w();
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter(Boolean));
    for (const w of waiting) w();
    waiting = [];
  });
  const line = (index: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (lines.length > index) resolve(lines[index]!);
        else if (exitCode !== undefined) reject(new Error(`reaper process exited with ${exitCode}`));
        else waiting.push(check);
      };
      check();
    });
  return {
    ready: line(0).then((l) => expect(l).toBe('ready')),
    async stop() {
      child.stdin.write('stop\n');
      return JSON.parse(await line(1)) as OtherReaperReport;
    },
  };
}

describe('the training job lease', () => {
  let db: TestDatabase;
  let dataDir: string;
  let config: Config;
  let helpers: JobHelpers;
  let heldSeconds = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'glimpse-lease-'));
    db = await createTestDatabase();
    config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) });
    await initBackend(config.backend, testBackendOptions()); // what the worker does first
    helpers = {
      config,
      prisma: db.prisma,
      queue: { enqueueTraining: () => Promise.reject(new Error('this run is never handed back')) },
      workerId: 'w-lease',
      log: {
        info: (message: string) => {
          // logged right before train() starts: the next turn of the event loop is in its first step
          if (/^training \S+: \d+ images/.test(message)) {
            setImmediate(() => {
              const started = performance.now();
              holdEventLoop(BLOCK_SECONDS);
              heldSeconds = (performance.now() - started) / 1000;
            });
          }
        },
        error: (m: string, e?: unknown) => console.error(m, e),
      },
      shutdown: new AbortController().signal,
    };
    await db.prisma.$executeRawUnsafe(`CREATE TABLE lease_log (
      seq serial PRIMARY KEY, "runId" text, "leaseSeconds" int, step int, "totalSteps" int, status text)`);
    await db.prisma.$executeRawUnsafe(`CREATE FUNCTION log_lease() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO lease_log ("runId", "leaseSeconds", step, "totalSteps", status)
        VALUES (NEW.id, NEW."leaseSeconds", NEW.step, NEW."totalSteps", NEW.status::text);
        RETURN NEW;
      END $$`);
    await db.prisma.$executeRawUnsafe(`CREATE TRIGGER lease_log AFTER UPDATE ON "TrainingRun" FOR EACH ROW EXECUTE FUNCTION log_lease()`);
  });
  afterAll(async () => {
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('states at least 60 s until the first step has completed, then 3 × its longest step; another reaper leaves it alone', async () => {
    const dataset = await db.prisma.dataset.create({ data: { name: 'shapes', kind: 'SYNTHETIC', syntheticImages: 16, syntheticSeed: 2 } });
    await datasetJob({ datasetId: dataset.id }, helpers);
    expect((await db.prisma.dataset.findUniqueOrThrow({ where: { id: dataset.id } })).status).toBe('READY');
    const runId = (await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: TINY } })).id;
    // a run of a dead worker, for the other reaper to show it is at work
    const dead = await db.prisma.trainingRun.create({
      data: {
        datasetId: dataset.id,
        config: TINY,
        status: 'RUNNING',
        workerId: 'w-dead',
        heartbeatAt: new Date(Date.now() - 60_000),
        cancelRequested: true,
      },
    });

    const reaper = startOtherReaper(db.url, runId);
    let result: OtherReaperReport;
    const started = performance.now();
    try {
      await reaper.ready;
      await trainJob({ runId }, helpers);
    } finally {
      result = await reaper.stop();
    }
    const wallSeconds = (performance.now() - started) / 1000;

    const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run.error).toBeNull();
    expect(run).toMatchObject({ status: 'SUCCEEDED', workerId: 'w-lease' });
    expect(heldSeconds).toBeGreaterThanOrEqual(BLOCK_SECONDS);
    // the other reaper saw the run's last beat older than 3 beats, and left it to its worker
    expect(result.reaped).toEqual([dead.id]);
    expect(result.enqueued).toEqual([]); // the dead run had a pending cancel: CANCELLED
    expect(result.maxAgeSeconds).toBeGreaterThan(3 * HEARTBEAT_SECONDS);

    const writes = await db.prisma.$queryRaw<LeaseWrite[]>`
      SELECT seq, "leaseSeconds", step, "totalSteps", status FROM lease_log WHERE "runId" = ${runId} ORDER BY seq`;
    // the claim, the beats and the totalSteps write come before train() starts its first step
    expect(writes[0]).toMatchObject({ status: 'RUNNING', step: 0, leaseSeconds: FIRST_STEP_LEASE_SECONDS });
    const totalIndex = writes.findIndex((w) => w.totalSteps !== null);
    expect(totalIndex).toBeGreaterThan(0);
    for (const w of writes.slice(0, totalIndex + 1)) expect(w.leaseSeconds).toBe(FIRST_STEP_LEASE_SECONDS);

    // each batch's write (the one that moves "step") states 3 × the longest step so far: from the
    // first one on, at least 3 × the held 5 s (a plain beat may race a batch's write, so only the
    // batches' writes are checked one by one)
    const batchWrites = writes.filter((w, i) => i > 0 && w.step > writes[i - 1]!.step);
    expect(batchWrites.map((w) => w.step)).toEqual(Array.from({ length: run.totalSteps! }, (_, i) => i + 1));
    expect(writes.indexOf(batchWrites[0]!)).toBeGreaterThan(totalIndex);
    const leases = batchWrites.map((w) => w.leaseSeconds!);
    for (const [i, lease] of leases.entries()) {
      expect(lease).toBeGreaterThanOrEqual(Math.ceil(3 * BLOCK_SECONDS));
      if (i > 0) expect(lease).toBeGreaterThanOrEqual(leases[i - 1]!); // the longest step only grows
    }
    // the last write (SUCCEEDED) states the longest step of the whole run; the job's wall time bounds it
    expect(writes.at(-1)).toMatchObject({ status: 'SUCCEEDED', leaseSeconds: run.leaseSeconds });
    expect(run.leaseSeconds).toBeGreaterThanOrEqual(leases.at(-1)!);
    expect(run.leaseSeconds).toBeLessThanOrEqual(Math.ceil(3 * wallSeconds));
    console.log(
      `first step held ${heldSeconds.toFixed(1)} s; lease ${FIRST_STEP_LEASE_SECONDS} s before it, ${leases[0]} s after it, ` +
        `${run.leaseSeconds} s at the end (job ${wallSeconds.toFixed(1)} s); other reaper saw a ${result.maxAgeSeconds.toFixed(1)} s old beat`,
    );
  }, 60_000);
});
