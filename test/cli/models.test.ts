// `glimpse models` through the real CLI against a real database: ids, names, dataset, folder; JSON;
// a clear error without DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli } from './run-cli.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('glimpse models', () => {
  it('lists the service models with their ids, names, dataset and folders', async () => {
    const empty = await runCli(['models'], { DATABASE_URL: db.url });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/no models yet/);

    const dataset = await db.prisma.dataset.create({ data: { name: 'shapes-demo', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {}, status: 'SUCCEEDED' } });
    const model = await db.prisma.model.create({
      data: {
        name: 'small shapes',
        runId: run.id,
        path: '/data/models/abc',
        vocabSize: 27,
        config: {},
        metrics: { bleu4: 0.51234, valLoss: 0.4 },
      },
    });
    const listed = await runCli(['models'], { DATABASE_URL: db.url });
    expect(listed.code).toBe(0);
    const [header, , row] = listed.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['id', 'name', 'version', 'dataset', 'created', 'BLEU-4', 'val loss', 'folder']);
    expect(row).toContain(model.id);
    expect(row).toMatch(/small shapes\s+1\s+shapes-demo\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+0\.5123\s+0\.4000\s+\/data\/models\/abc$/);

    const json = await runCli(['models', '--json'], { DATABASE_URL: db.url });
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        id: model.id,
        name: 'small shapes',
        version: 1,
        dataset: 'shapes-demo',
        path: '/data/models/abc',
        vocabSize: 27,
      }),
    ]);
  });

  it('says DATABASE_URL is needed when it is not set', async () => {
    const run = await runCli(['models'], { DATABASE_URL: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error \[NO_DATABASE\]: set DATABASE_URL/);
  });
});
