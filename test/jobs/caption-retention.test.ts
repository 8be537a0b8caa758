// Retention of caption images on a real database: a worker started without GLIMPSE_KEEP_CAPTION_IMAGES
// deletes the images of ended requests (SUCCEEDED, FAILED) left by older versions or by an earlier
// run with the variable set, and never those still queued or running. (The caption job deletes each
// request's image as it ends: test/jobs/worker.test.ts.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { purgeEndedCaptionImages } from '../../src/jobs/caption.job.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

it('deletes the images of ended requests only, unless GLIMPSE_KEEP_CAPTION_IMAGES=true', async () => {
  const model = await db.prisma.model.create({ data: { name: 'm', path: '/nowhere', vocabSize: 10, config: {} } });
  const statuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
  const rows = await Promise.all(
    statuses.map((status, i) =>
      db.prisma.captionRequest.create({ data: { modelId: model.id, imageHash: `h${i}`, status, imageBytes: new Uint8Array([1, 2, 3]) } }),
    ),
  );
  const images = async (): Promise<[string, string | null][]> =>
    (await db.prisma.captionRequest.findMany({ where: { id: { in: rows.map((r) => r.id) } } })).map((r) => [
      r.status,
      r.imageBytes === null ? null : 'kept',
    ]);
  expect(await purgeEndedCaptionImages({ config: loadConfig({ GLIMPSE_KEEP_CAPTION_IMAGES: 'true' }), prisma: db.prisma })).toBe(0);
  expect(new Map(await images())).toEqual(new Map(statuses.map((s) => [s, 'kept'])));
  expect(await purgeEndedCaptionImages({ config: loadConfig({}), prisma: db.prisma })).toBe(2);
  expect(new Map(await images())).toEqual(
    new Map([
      ['QUEUED', 'kept'],
      ['RUNNING', 'kept'],
      ['SUCCEEDED', null],
      ['FAILED', null],
    ]),
  );
});
