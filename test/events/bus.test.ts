// The event bus over LISTEN/NOTIFY. "Nothing arrived" is an ordering fact, never a wait: one connection
// receives notifications in commit order and the bus dispatches each at once, so when a sentinel notified
// after X has arrived, X's wake-up (had there been one) has arrived too.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus, EventError, notify } from '../../src/events/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

/** consumes an iterator in the background and counts the wake-ups */
function watch(iterator: AsyncIterableIterator<void>) {
  const state = { count: 0, done: false };
  const finished = (async () => {
    for await (const _ of iterator) state.count++;
    state.done = true;
  })();
  return {
    state,
    finished,
    async until(n: number): Promise<void> {
      await until(
        async () => state.count,
        (count) => count >= n,
        30_000,
        5,
      );
    },
  };
}

/**
 * Notifies a fresh key (committed now, through `db`) and waits for its wake-up on `bus`: every notification
 * committed before it has then been dispatched on `bus`, and the watchers' loops have counted it.
 */
async function barrier(db: TestDatabase, bus: EventBus): Promise<void> {
  const key = `sentinel-${randomUUID()}`;
  const sentinel = bus.subscribe('training_run', key);
  await notify(db.prisma, 'training_run', key);
  await sentinel.next();
  await sentinel.return!();
  await new Promise((resolve) => setImmediate(resolve)); // the watchers' loops run their pending turns
}

describe('event bus over LISTEN/NOTIFY', () => {
  let db: TestDatabase;
  let apiA: EventBus;
  let apiB: EventBus;
  beforeAll(async () => {
    db = await createTestDatabase();
    [apiA, apiB] = await Promise.all([createEventBus(db.url), createEventBus(db.url)]);
  });
  afterAll(async () => {
    await apiA?.close();
    await apiB?.close();
    await db?.drop();
  });

  it('wakes subscribers of the key on every bus (two API instances), and only them', async () => {
    const onA = watch(apiA.subscribe('training_run', 'run-1'));
    const onB = watch(apiB.subscribe('training_run', 'run-1'));
    const otherKey = watch(apiA.subscribe('training_run', 'run-2'));
    const otherTopic = watch(apiB.subscribe('caption_request', 'run-1'));

    await notify(db.prisma, 'training_run', 'run-1');
    await Promise.all([onA.until(1), onB.until(1)]);
    await Promise.all([barrier(db, apiA), barrier(db, apiB)]);
    expect(otherKey.state.count).toBe(0);
    expect(otherTopic.state.count).toBe(0);
  });

  it('delivers on commit only: nothing from a rolled-back Prisma transaction', async () => {
    const sub = watch(apiB.subscribe('caption_request', 'req-1'));

    await expect(
      db.prisma.$transaction(async (tx) => {
        await notify(tx, 'caption_request', 'req-1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await barrier(db, apiB);
    expect(sub.state.count).toBe(0);

    let notifiedBeforeCommit = -1;
    await db.prisma.$transaction(async (tx) => {
      await notify(tx, 'caption_request', 'req-1');
      await barrier(db, apiB); // committed by another connection while this transaction is open
      notifiedBeforeCommit = sub.state.count;
    });
    expect(notifiedBeforeCommit).toBe(0);
    await sub.until(1);
  });

  it('accepts a pg client inside its own transaction', async () => {
    const sub = watch(apiA.subscribe('training_run', 'run-pg'));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await notify(client, 'training_run', 'run-pg');
      await client.query('ROLLBACK');
      await barrier(db, apiA);
      expect(sub.state.count).toBe(0);
      await client.query('BEGIN');
      await notify(client, 'training_run', 'run-pg');
      await client.query('COMMIT');
      await sub.until(1);
    } finally {
      await client.end();
    }
  });

  it('folds wake-ups that arrive while the consumer is busy, and keeps one arriving before the first next()', async () => {
    const it = apiA.subscribe('worker');
    await notify(db.prisma, 'worker');
    await notify(db.prisma, 'worker');
    await barrier(db, apiA); // both dispatched, before any next()
    expect(await it.next()).toEqual({ value: undefined, done: false });
    let second = 'idle';
    const pending = it.next().then(() => {
      second = 'woken';
    });
    await barrier(db, apiA);
    expect(second).toBe('idle'); // the two notifications folded into one wake-up
    await it.return!();
    await pending;
  });

  it('re-LISTENs after losing its connection and wakes every subscriber', async () => {
    const bus = await createEventBus(db.url, { reconnectDelayMs: 50, onError: () => undefined });
    try {
      const sub = watch(bus.subscribe('training_run', 'run-r'));
      // the newest listener connection in this database is this bus's
      const [killed] = await db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM (
          SELECT pid FROM pg_stat_activity WHERE application_name = 'glimpse-events' AND datname = current_database()
          ORDER BY backend_start DESC LIMIT 1) newest`;
      expect(killed!.n).toBe(1);
      await sub.until(1); // the reconnect wake-up: notifications may have been lost meanwhile
      await notify(db.prisma, 'training_run', 'run-r');
      await sub.until(2);
    } finally {
      await bus.close();
    }
  });

  it('ends subscriptions on return() and on close()', async () => {
    const bus = await createEventBus(db.url);
    const a = bus.subscribe('training_run', 'x');
    const pending = a.next();
    await bus.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(() => bus.subscribe('worker')).toThrow(EventError);

    const b = apiA.subscribe('training_run', 'y');
    await b.return!();
    expect(await b.next()).toEqual({ value: undefined, done: true });
  });

  it('rejects keys that do not fit a NOTIFY payload', async () => {
    await expect(notify(db.prisma, 'training_run', 'k'.repeat(8000))).rejects.toMatchObject({
      code: 'EVENT_KEY_TOO_LONG',
    });
  });
});
