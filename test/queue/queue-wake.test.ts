// NOTIFY wake-ups: a job committed while its worker sleeps out a long polling interval is fetched before
// that worker's next tick (the enqueue's `job` NOTIFY wakes the pg-boss worker); the same worker with
// wake-ups off only fetches it at its next tick. A rolled-back enqueue wakes nobody. Each fact is an
// ordering of events (fetched before / at the next tick; no wake-up before a later committed one), never a
// latency threshold: bench/queue-latency.ts measures the latencies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/events/index.ts';
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
// each test's workers stop with it: a worker left running would take the next test's jobs
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop({ graceful: false });
});
afterAll(async () => {
  await api?.stop({ graceful: false });
  await db?.drop();
});

interface WorkerQueue {
  received: { id: string; at: number }[];
  /** when work() was called: the worker's first fetch starts after it, its next tick an interval later */
  startedAt: number;
  /** waits until the job of `datasetId` has been handed to the worker; returns when (performance.now()) */
  receive(datasetId: string, timeoutMs?: number): Promise<number>;
}

async function workerQueue(wakeOnNotify: boolean, pollingIntervalSeconds: number): Promise<WorkerQueue> {
  const queue = await createQueue(db.url, { max: 2, wakeOnNotify });
  await queue.start();
  workers.push(queue);
  const received: { id: string; at: number }[] = [];
  const startedAt = performance.now();
  await queue.work('dataset', { pollingIntervalSeconds }, async (jobs) => {
    for (const j of jobs) received.push({ id: j.data.datasetId, at: performance.now() });
  });
  const receive = async (datasetId: string, timeoutMs = 30_000) => {
    const [got] = await until(
      async () => received.filter((r) => r.id === datasetId),
      (r) => r.length === 1,
      timeoutMs,
      5,
    );
    return got!.at;
  };
  return { received, startedAt, receive };
}

async function enqueue(rollback = false): Promise<string> {
  const datasetId = crypto.randomUUID();
  await db.prisma
    .$transaction(async (tx) => {
      await api.enqueueDataset(tx, { datasetId });
      if (rollback) throw new Error('rolled back');
    })
    .catch((e: unknown) => {
      if (!rollback) throw e;
    });
  return datasetId;
}

describe('queue wake-ups (NOTIFY)', () => {
  it('fetches a job before the next tick of a 60 s polling interval, and not without wake-ups', async () => {
    // a job waiting before the worker starts is taken by its first fetch: from then on it sleeps out its interval
    const first = await enqueue();
    const woken = await workerQueue(true, 60);
    await woken.receive(first);
    for (let i = 0; i < 3; i++) {
      const receivedAt = await woken.receive(await enqueue());
      expect(receivedAt - woken.startedAt).toBeLessThan(60_000); // before the next tick: woken
    }

    // control: the same worker without wake-ups (3 s ticks) fetches a new job only at its next tick
    await workers[0]!.stop({ graceful: false });
    const before = await enqueue();
    const sleepy = await workerQueue(false, 3);
    await sleepy.receive(before); // its first fetch is over: the next job waits for the tick
    const receivedAt = await sleepy.receive(await enqueue());
    // pg-boss starts its next fetch one interval after the previous one started (at once when less than
    // 100 ms of the interval is left), and the first one started after startedAt
    expect(receivedAt - sleepy.startedAt).toBeGreaterThanOrEqual(3000 - 100);
  });

  it('a rolled-back enqueue sends no wake-up and leaves no job', async () => {
    // a listener on the wake-up channel: notifications reach it in commit order
    const bus = await createEventBus(db.url);
    try {
      const wakeUps = bus.subscribe('job', 'dataset');
      let count = 0;
      const counting = (async () => {
        for await (const _ of wakeUps) count++;
      })();
      const woken = await workerQueue(true, 60);
      await enqueue(true);
      const committed = await enqueue();
      await woken.receive(committed);
      // the committed enqueue's wake-up has reached the listener, so a rolled-back one's (before it) would have too
      await until(
        async () => count,
        (n) => n >= 1,
        30_000,
        5,
      );
      expect(count).toBe(1);
      expect(woken.received.map((r) => r.id)).toEqual([committed]);
      expect((await api.depth()).dataset).toBe(0);
      await wakeUps.return!();
      await counting;
    } finally {
      await bus.close();
    }
  });
});
