import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus, EventError, notify } from '../../src/events/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

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
    async until(n: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (state.count < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} wake-ups, got ${state.count}`);
        await sleep(10);
      }
    },
  };
}

/** Postgres delivers notifications asynchronously: give a would-be delivery time to arrive */
const settle = () => sleep(300);

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
    await settle();
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
    await settle();
    expect(sub.state.count).toBe(0);

    let notifiedBeforeCommit = -1;
    await db.prisma.$transaction(async (tx) => {
      await notify(tx, 'caption_request', 'req-1');
      await settle();
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
      await settle();
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
    await settle();
    expect(await it.next()).toEqual({ value: undefined, done: false });
    const second = await Promise.race([it.next().then(() => 'woken'), settle().then(() => 'idle')]);
    expect(second).toBe('idle'); // the two notifications folded into one wake-up
    await it.return!();
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
