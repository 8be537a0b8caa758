// NOTIFY wake-ups: a job committed while its worker sleeps out a long polling interval is fetched at
// once (the enqueue's `job` NOTIFY wakes the pg-boss worker); the same worker with wake-ups off only
// sees it at its next tick. A rolled-back enqueue wakes nobody.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

let db: TestDatabase;
let api: JobQueue;
const workers: JobQueue[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await createQueue(db.url, { max: 2 });
  await api.start();
});
afterAll(async () => {
  for (const w of workers) await w.stop({ graceful: false });
  await api?.stop({ graceful: false });
  await db?.drop();
});

async function workerQueue(wakeOnNotify: boolean): Promise<{ received: { id: string; at: number }[] }> {
  const queue = await createQueue(db.url, { max: 2, wakeOnNotify });
  await queue.start();
  workers.push(queue);
  const received: { id: string; at: number }[] = [];
  await queue.work('dataset', { pollingIntervalSeconds: 60 }, async (jobs) => {
    for (const j of jobs) received.push({ id: j.data.datasetId, at: performance.now() });
  });
  return { received };
}

async function enqueue(rollback = false): Promise<{ datasetId: string; committedAt: number }> {
  const datasetId = crypto.randomUUID();
  await db.prisma
    .$transaction(async (tx) => {
      await api.enqueueDataset(tx, { datasetId });
      if (rollback) throw new Error('rolled back');
    })
    .catch((e: unknown) => {
      if (!rollback) throw e;
    });
  return { datasetId, committedAt: performance.now() };
}

describe('queue wake-ups (NOTIFY)', () => {
  it('fetches a job within milliseconds despite a 60 s polling interval, and not without wake-ups', async () => {
    const woken = await workerQueue(true);
    // let the worker's first (empty) fetch happen: from then on it sleeps out its 60 s interval
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { datasetId, committedAt } = await enqueue();
      const [got] = await until(
        async () => woken.received.filter((r) => r.id === datasetId),
        (r) => r.length === 1,
        5000,
        5,
      );
      latencies.push(got!.at - committedAt);
    }
    latencies.sort((a, b) => a - b);
    console.log(`wake-up latency commit → handler (ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`);
    expect(latencies[2]!).toBeLessThan(200);
    expect(latencies[4]!).toBeLessThan(1000);

    // control: the same worker without wake-ups does not see a new job before its next tick
    await workers[0]!.stop({ graceful: false });
    const sleepy = await workerQueue(false);
    await new Promise((r) => setTimeout(r, 500));
    const { datasetId } = await enqueue();
    await new Promise((r) => setTimeout(r, 2000));
    expect(sleepy.received.filter((r) => r.id === datasetId)).toEqual([]);
  });

  it('a rolled-back enqueue sends no wake-up and leaves no job', async () => {
    const woken = await workerQueue(true);
    await new Promise((r) => setTimeout(r, 500));
    const before = woken.received.length;
    await enqueue(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(woken.received.length).toBe(before);
    expect((await api.depth()).dataset).toBe(0); // the control's job went to this worker's first fetch
  });
});
