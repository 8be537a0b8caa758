import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DATASET, registerDemoDataset } from '../../src/queue/demo-dataset.ts';
import { createQueue, type JobQueue } from '../../src/queue/queue.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('demo dataset registered by npm start', () => {
  let db: TestDatabase;
  let queue: JobQueue;
  beforeAll(async () => {
    db = await createTestDatabase();
    queue = await createQueue(db.url, { max: 2 });
    await queue.start();
  });
  afterAll(async () => {
    await queue?.stop({ graceful: false });
    await db?.drop();
  });

  it('creates the synthetic set with its generation job once, even when two processes start together', async () => {
    const results = await Promise.all([registerDemoDataset(db.prisma, queue), registerDemoDataset(db.prisma, queue)]);
    const created = results.filter((r) => r !== null);
    expect(created).toHaveLength(1);
    const rows = await db.prisma.dataset.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: created[0]!.id,
      name: DEMO_DATASET.name,
      kind: 'SYNTHETIC',
      status: 'PENDING',
      syntheticImages: DEMO_DATASET.images,
    });
    expect((await queue.depth()).dataset).toBe(1);

    expect(await registerDemoDataset(db.prisma, queue)).toBeNull();
    expect((await queue.depth()).dataset).toBe(1);
  });
});
