// The caption worker's batch writes on a real Postgres: tokens of several requests in one statement with their
// values exact (float32 attention, a -Infinity log-probability), a stored token kept, one wake-up per request;
// the TokenWriter keeping order with writes grouped, and reporting a failed write; the results of a batch at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { markRunning, storeResults, storeTokens, TokenWriter } from '../../src/jobs/caption-writes.ts';
import type { TokenEvent } from '../../src/ml/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let events: EventBus;
let modelId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  events = await createEventBus(db.url);
  modelId = (await db.prisma.model.create({ data: { name: 'm', path: '/m', vocabSize: 10, config: {} } })).id;
});
afterAll(async () => {
  await events?.close();
  await db?.drop();
});

const newRequest = async () =>
  (await db.prisma.captionRequest.create({ data: { modelId, imageHash: 'h', imageBytes: new Uint8Array([1, 2, 3]) } })).id;

const token = (index: number, word: string, logProb = -0.5): TokenEvent => ({
  index,
  token: word,
  attention: Float32Array.from([0.1, 0.2, 0.3, 0.4]),
  logProb,
});

const stored = (requestId: string) => db.prisma.captionToken.findMany({ where: { requestId }, orderBy: { index: 'asc' } });

describe('caption batch writes', () => {
  it('stores the tokens of several requests in one statement, values exact, waking each request once', async () => {
    const [a, b] = [await newRequest(), await newRequest()];
    const wakeA = events.subscribe('caption_request', a);
    const wakeB = events.subscribe('caption_request', b);
    await storeTokens(db.prisma, [
      { requestId: a, event: token(0, 'a') },
      { requestId: b, event: token(0, 'red', Number.NEGATIVE_INFINITY) },
      { requestId: a, event: token(1, 'circle') },
    ]);
    await Promise.all([wakeA.next(), wakeB.next()]);
    expect((await stored(a)).map((t) => t.token)).toEqual(['a', 'circle']);
    const [red] = await stored(b);
    expect(red!.logProb).toBe(Number.NEGATIVE_INFINITY);
    expect(red!.attention).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4])));
    // a token already stored stays as it was (a retried batch writes it again)
    await storeTokens(db.prisma, [{ requestId: a, event: token(1, 'square') }]);
    expect((await stored(a)).map((t) => t.token)).toEqual(['a', 'circle']);
    await wakeA.return!();
    await wakeB.return!();
  });

  it('TokenWriter: every token stored in order, in fewer statements than tokens; a failed write reported by done()', async () => {
    const id = await newRequest();
    let statements = 0;
    const counted = new Proxy(db.prisma, {
      get: (target, key) =>
        key === '$queryRawUnsafe'
          ? (...args: Parameters<typeof target.$queryRawUnsafe>) => (statements++, target.$queryRawUnsafe(...args))
          : Reflect.get(target, key),
    });
    const writer = new TokenWriter(counted);
    for (let i = 0; i < 40; i++) writer.add(id, [token(i, `w${i}`)]);
    await writer.done();
    expect((await stored(id)).map((t) => t.index)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // the first token went at once; the 39 announced while it was written went together
    expect(statements).toBe(2);

    const failing = new TokenWriter(db.prisma);
    failing.add('no-such-request', [token(0, 'x')]); // the foreign key refuses it
    await expect(failing.done()).rejects.toThrow();

    // after: nothing is written before it resolves (the batch's RUNNING), and its failure is the writer's
    const later = await newRequest();
    let release!: () => void;
    const waiting = new TokenWriter(
      db.prisma,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    waiting.add(later, [token(0, 'a')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await stored(later)).toEqual([]);
    release();
    await waiting.done();
    expect((await stored(later)).map((t) => t.token)).toEqual(['a']);
    const refused = new TokenWriter(db.prisma, Promise.reject(new Error('RUNNING not written')));
    refused.add(later, [token(1, 'b')]);
    await expect(refused.done()).rejects.toThrow('RUNNING not written');
    expect(await stored(later)).toHaveLength(1);
  });

  it('marks a batch RUNNING and stores its results at once, deleting the images unless kept', async () => {
    const [a, b] = [await newRequest(), await newRequest()];
    await markRunning(db.prisma, [a, b], 8, 'w1');
    const running = await db.prisma.captionRequest.findMany({ where: { id: { in: [a, b] } } });
    expect(running.map((r) => [r.status, r.gridSize, r.workerId, r.startedAt !== null])).toEqual([
      ['RUNNING', 8, 'w1', true],
      ['RUNNING', 8, 'w1', true],
    ]);
    const wake = events.subscribe('caption_request', b);
    await storeResults(
      db.prisma,
      [
        { id: a, caption: 'a red circle', timings: { queueMs: 5, decodeMs: 10, batchSize: 2 } },
        { id: b, caption: 'a blue square', timings: { queueMs: 6, decodeMs: 10, batchSize: 2 } },
      ],
      false,
    );
    await wake.next();
    await wake.return!();
    const ended = await db.prisma.captionRequest.findMany({ where: { id: { in: [a, b] } }, orderBy: { caption: 'asc' } });
    expect(ended.map((r) => [r.status, r.caption, r.imageBytes, r.timings])).toEqual([
      ['SUCCEEDED', 'a blue square', null, { queueMs: 6, decodeMs: 10, batchSize: 2 }],
      ['SUCCEEDED', 'a red circle', null, { queueMs: 5, decodeMs: 10, batchSize: 2 }],
    ]);
    const kept = await newRequest();
    await storeResults(db.prisma, [{ id: kept, caption: 'x', timings: {} }], true);
    const row = await db.prisma.captionRequest.findUniqueOrThrow({ where: { id: kept } });
    expect([row.status, Buffer.from(row.imageBytes!)]).toEqual(['SUCCEEDED', Buffer.from([1, 2, 3])]);
    // finishedAt is UTC like Prisma's own writes: within a minute of now
    expect(Math.abs(row.finishedAt!.getTime() - Date.now())).toBeLessThan(60_000);
  });
});
