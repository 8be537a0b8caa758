import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { reapStaleRuns, startReaper } from '../../src/queue/reaper.ts';
import { FIRST_STEP_LEASE_SECONDS, trainingLeaseSeconds } from '../../src/jobs/run-lease.ts';
import { claimRun, heartbeat } from '../../src/runs/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('training run leases and the reaper', () => {
  let db: TestDatabase;
  let queue: JobQueue;
  let bus: EventBus;
  let datasetId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    queue = await createQueue(db.url, { max: 2 });
    await queue.start();
    bus = await createEventBus(db.url);
    datasetId = (await db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC' } })).id;
  });
  afterAll(async () => {
    await bus?.close();
    await queue?.stop({ graceful: false });
    await db?.drop();
  });

  const newRun = async () => (await db.prisma.trainingRun.create({ data: { datasetId, config: {} } })).id;
  // runs other tests left RUNNING go stale too: each test looks only at its own
  const reapOf = async (ids: string[]) =>
    (await reapStaleRuns(db.prisma, queue, { heartbeatSeconds: 2 })).filter((run) => ids.includes(run.id));
  // the last beat `seconds` before now (not before the stored beat: the time the test itself takes never
  // moves a run across a lease's edge)
  const lastBeatAgo = (runId: string, seconds: number) =>
    db.prisma
      .$executeRaw`UPDATE "TrainingRun" SET "heartbeatAt" = (now() AT TIME ZONE 'UTC') - make_interval(secs => ${seconds}) WHERE id = ${runId}`;

  it('claims a QUEUED run once and keeps it with heartbeats', async () => {
    const runId = await newRun();
    expect(await claimRun(db.prisma, runId, 'w1')).toBe(true);
    expect(await claimRun(db.prisma, runId, 'w2')).toBe(false);
    const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run).toMatchObject({ status: 'RUNNING', workerId: 'w1' });
    expect(run.startedAt).not.toBeNull();
    expect(Math.abs(run.heartbeatAt!.getTime() - Date.now())).toBeLessThan(60_000); // stored as UTC (a zone slip is ≥ 15 min)

    expect(await heartbeat(db.prisma, runId, 'w1')).toEqual({ owned: true, cancelRequested: false });
    expect(await heartbeat(db.prisma, runId, 'w2')).toEqual({ owned: false, cancelRequested: false });
    await db.prisma.trainingRun.update({ where: { id: runId }, data: { cancelRequested: true } });
    expect(await heartbeat(db.prisma, runId, 'w1')).toEqual({ owned: true, cancelRequested: true });
  });

  it('requeues stale runs (job + wake-up in one transaction), cancels stale runs with a pending cancel', async () => {
    const [stale, fresh, cancelled] = [await newRun(), await newRun(), await newRun()];
    for (const id of [stale, fresh, cancelled]) await claimRun(db.prisma, id, 'dead-worker');
    await db.prisma.trainingRun.update({ where: { id: cancelled }, data: { cancelRequested: true } });
    await lastBeatAgo(stale, 10);
    await lastBeatAgo(cancelled, 10);
    const wakeUps = bus.subscribe('training_run', stale);

    const reaped = await reapOf([stale, fresh, cancelled]);
    expect(reaped.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: stale, status: 'QUEUED' },
        { id: cancelled, status: 'CANCELLED' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const waitingJobs = async (runId: string) =>
      (
        await db.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'training' AND state = 'created' AND data->>'runId' = ${runId}`
      )[0]!.n;
    expect([await waitingJobs(stale), await waitingJobs(cancelled)]).toEqual([1, 0]);
    expect(await wakeUps.next()).toEqual({ value: undefined, done: false });
    await wakeUps.return!();

    expect(await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: stale } })).toMatchObject({
      status: 'QUEUED',
      workerId: null,
      heartbeatAt: null,
    });
    expect(await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: fresh } })).toMatchObject({ status: 'RUNNING' });
    expect((await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: cancelled } })).finishedAt).not.toBeNull();
    // the old owner finds out at its next beat; a second reaper finds nothing left to take
    expect((await heartbeat(db.prisma, stale, 'dead-worker')).owned).toBe(false);
    expect(await reapOf([stale, fresh, cancelled])).toEqual([]);
  });

  it('keeps a run whose beats are late but within the lease its worker stated, takes it back past that lease', async () => {
    const [slow, plain, short] = [await newRun(), await newRun(), await newRun()];
    expect(await claimRun(db.prisma, slow, 'slow-worker', 30)).toBe(true);
    expect(await claimRun(db.prisma, plain, 'dead-worker')).toBe(true);
    expect(await claimRun(db.prisma, short, 'fast-worker', 30)).toBe(true);
    // a lease shorter than 3 beats does not shorten the default rule
    expect(await heartbeat(db.prisma, short, 'fast-worker', 4)).toEqual({ owned: true, cancelRequested: false });
    const lease = async (id: string) => (await db.prisma.trainingRun.findUniqueOrThrow({ where: { id } })).leaseSeconds;
    expect([await lease(slow), await lease(plain), await lease(short)]).toEqual([30, null, 4]);
    // a beat that states no lease keeps the stated one
    expect((await heartbeat(db.prisma, slow, 'slow-worker')).owned).toBe(true);
    expect(await lease(slow)).toBe(30);

    // last beats 10 s ago: past 3 × 2 s, within the slow worker's 30 s
    for (const id of [slow, plain, short]) await lastBeatAgo(id, 10);
    const reaped = await reapOf([slow, plain, short]);
    expect(reaped.map((r) => r.id).sort()).toEqual([plain, short].sort());
    expect(await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: slow } })).toMatchObject({
      status: 'RUNNING',
      workerId: 'slow-worker',
    });

    // 25 s ago: still within; 35 s ago: past its lease, taken back and the lease cleared
    await lastBeatAgo(slow, 25);
    expect(await reapOf([slow])).toEqual([]);
    await lastBeatAgo(slow, 35);
    expect(await reapOf([slow])).toEqual([{ id: slow, status: 'QUEUED' }]);
    expect(await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: slow } })).toMatchObject({
      status: 'QUEUED',
      workerId: null,
      heartbeatAt: null,
      leaseSeconds: null,
    });
    expect((await heartbeat(db.prisma, slow, 'slow-worker', 30)).owned).toBe(false);
  });

  it('rejects a lease that is not a positive whole number of seconds', async () => {
    const runId = await newRun();
    await expect(claimRun(db.prisma, runId, 'w', 0)).rejects.toThrow(RangeError);
    expect(await claimRun(db.prisma, runId, 'w', 5)).toBe(true);
    await expect(heartbeat(db.prisma, runId, 'w', 1.5)).rejects.toThrow(RangeError);
  });

  it('sizes a training lease from the heartbeat and the longest step', () => {
    expect(FIRST_STEP_LEASE_SECONDS).toBe(60);
    expect(trainingLeaseSeconds(2, null)).toBe(60);
    expect(trainingLeaseSeconds(30, null)).toBe(90);
    expect(trainingLeaseSeconds(2, 0.05)).toBe(6);
    expect(trainingLeaseSeconds(2, 2)).toBe(6);
    expect(trainingLeaseSeconds(2, 2.01)).toBe(7);
    expect(trainingLeaseSeconds(2, 40)).toBe(120);
    expect(trainingLeaseSeconds(0.5, 0.1)).toBe(2);
  });

  it('notices a SIGKILLed worker process once its beats stop, never while it beats', async () => {
    const runId = await newRun();
    const src = (file: string) => JSON.stringify(pathToFileURL(join(ROOT, 'src', file)).href);
    const worker = `import { createPrisma } from ${src('db/client.ts')};
      import { claimRun, heartbeat } from ${src('runs/index.ts')};
      const prisma = createPrisma(${JSON.stringify(db.url)}, { max: 1 });
      if (!(await claimRun(prisma, ${JSON.stringify(runId)}, 'child'))) process.exit(3);
      setInterval(() => heartbeat(prisma, ${JSON.stringify(runId)}, 'child'), 200);
      console.log('claimed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // a control run claimed after the child's by a worker that never beats: once the reaper takes it back,
    // the child's run has been as long without a claim or beat as the control, and would have gone with it
    const control = await newRun();
    expect(await claimRun(db.prisma, control, 'silent-worker')).toBe(true);
    const reaped: string[] = [];
    const reaper = startReaper(db.prisma, queue, {
      heartbeatSeconds: 0.5,
      onReaped: (runs) => reaped.push(...runs.map((r) => r.id)),
    });
    const status = async (id: string) => (await db.prisma.trainingRun.findUniqueOrThrow({ where: { id } })).status;
    try {
      await until(
        async () => reaped.includes(control),
        (done) => done,
        30_000,
        20,
      );
      expect(reaped).not.toContain(runId); // alive and beating: kept
      expect(await status(runId)).toBe('RUNNING');

      child.kill('SIGKILL');
      await until(
        async () => reaped.includes(runId),
        (done) => done,
        30_000,
        20,
      );
      expect(await status(runId)).toBe('QUEUED');
    } finally {
      await reaper.stop();
      child.kill('SIGKILL');
    }
  });
});
