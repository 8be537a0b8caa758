// captionStream's reads batched across streams (src/resolvers/captions/caption-reads.ts) on a real Postgres: reads
// asked for in one turn go out as one statement, each gets its own request's status and tokens from its position
// (two streams of one request at two positions, a page limit, a request with no tokens, a missing request), and a
// failed statement rejects the reads of its batch. The API's own reader (captionReader) runs on its pg pool:
// the stream tests (subscriptions.test.ts) go through it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTokens } from '../../src/jobs/caption-writes.ts';
import { CaptionReader } from '../../src/resolvers/captions/caption-reads.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let modelId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  modelId = (await db.prisma.model.create({ data: { name: 'm', path: '/m', vocabSize: 10, config: {} } })).id;
});
afterAll(async () => {
  await db?.drop();
});

const newRequest = async (data: { status?: 'QUEUED' | 'SUCCEEDED'; caption?: string } = {}) =>
  (await db.prisma.captionRequest.create({ data: { modelId, imageHash: 'h', gridSize: 2, ...data } })).id;

const words = (requestId: string, list: string[], logProb = -0.25) =>
  list.map((token, index) => ({
    requestId,
    event: { index, token, attention: Float32Array.from([0.5, 0.25, 0.125, 0.125]), logProb },
  }));

/** the reader on the test database's client, its statements counted */
function countingReader(page: number): { reader: CaptionReader; statements: () => number } {
  let statements = 0;
  const query = <T>(text: string, values: readonly unknown[]) => {
    statements++;
    return db.prisma.$queryRawUnsafe<T[]>(text, ...values);
  };
  return { reader: new CaptionReader(query, page), statements: () => statements };
}

describe('captionStream reads, batched', () => {
  it('answers every read of one turn from one statement, each from its own position', async () => {
    const a = await newRequest();
    const b = await newRequest({ status: 'SUCCEEDED', caption: 'a red circle' });
    const empty = await newRequest();
    await storeTokens(db.prisma, [...words(a, ['a', 'blue', 'square']), ...words(b, ['a', 'red', 'circle'], Number.NEGATIVE_INFINITY)]);
    const { reader, statements } = countingReader(500);
    const [a0, a2, a0again, b1, none, missing] = await Promise.all([
      reader.read({ requestId: a, next: 0 }),
      reader.read({ requestId: a, next: 2 }),
      reader.read({ requestId: a, next: 0 }),
      reader.read({ requestId: b, next: 1 }),
      reader.read({ requestId: empty, next: 0 }),
      reader.read({ requestId: '00000000-0000-0000-0000-000000000000', next: 0 }),
    ]);
    expect(statements()).toBe(1);
    expect(a0!.status).toBe('QUEUED');
    expect(a0!.tokens.map((t) => [t.index, t.token])).toEqual([
      [0, 'a'],
      [1, 'blue'],
      [2, 'square'],
    ]);
    expect(a0!.tokens[0]!.attention).toEqual([0.5, 0.25, 0.125, 0.125]);
    expect(a0!.tokens[0]!.logProb).toBe(-0.25);
    expect(a0again).toEqual(a0);
    expect(a2!.tokens.map((t) => t.token)).toEqual(['square']);
    expect(b1).toMatchObject({ status: 'SUCCEEDED', caption: 'a red circle', gridSize: 2 });
    expect(b1!.tokens.map((t) => t.token)).toEqual(['red', 'circle']);
    expect(b1!.tokens[0]!.logProb).toBe(Number.NEGATIVE_INFINITY);
    expect(none).toMatchObject({ status: 'QUEUED', tokens: [] });
    expect(missing).toBeNull();
    // past the last token: the request's status only (how a new stream checks that its request exists)
    expect((await reader.read({ requestId: a, next: 2 ** 31 - 1 }))!.tokens).toEqual([]);
    expect(statements()).toBe(2);
  });

  it('stops at the page size, in order; the next read continues', async () => {
    const id = await newRequest();
    await storeTokens(db.prisma, words(id, ['one', 'two', 'three', 'four', 'five']));
    const { reader } = countingReader(2);
    expect((await reader.read({ requestId: id, next: 0 }))!.tokens.map((t) => t.token)).toEqual(['one', 'two']);
    expect((await reader.read({ requestId: id, next: 2 }))!.tokens.map((t) => t.token)).toEqual(['three', 'four']);
    expect((await reader.read({ requestId: id, next: 4 }))!.tokens.map((t) => t.token)).toEqual(['five']);
  });

  it('a failed statement rejects the reads of its batch, and the reader keeps working', async () => {
    const id = await newRequest();
    const { reader } = countingReader(500);
    const reads = [reader.read({ requestId: id, next: 0 }), reader.read({ requestId: id, next: -2_147_483_649 })];
    const settled = await Promise.allSettled(reads);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(await reader.read({ requestId: id, next: 0 })).toMatchObject({ status: 'QUEUED', tokens: [] });
  });
});
