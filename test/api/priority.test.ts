// Job priorities over the API: a run's priority is stored, shown, and given to every pg-boss job of the run
// (the first, and the one a resume queues); a bulk job's too. pg-boss takes higher numbers first
// (src/queue/priority.ts); the order a worker takes them in is shown by test/jobs/bulk-caption.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRIORITY_VALUES } from '../../src/queue/priority.ts';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

const jobPriorities = async (key: string, id: string) =>
  (
    await t.db.prisma.$queryRawUnsafe<{ priority: number }[]>(
      `SELECT priority FROM pgboss.job WHERE data->>'${key}' = $1 ORDER BY created_on`,
      id,
    )
  ).map((j) => j.priority);

it('gives every job of a HIGH run, and of a LOW bulk job, its priority; NORMAL by default; a live bulk job keeps its model', async () => {
  const dataset = await t.db.prisma.dataset.create({ data: { name: 'p', kind: 'SYNTHETIC', status: 'READY', imageCount: 8 } });
  const start = (priority?: string) =>
    t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id priority } }`, {
      input: { datasetId: dataset.id, epochs: 1, ...(priority ? { priority } : {}) },
    });
  const high = (await start('HIGH')).data!.startTraining;
  const plain = (await start()).data!.startTraining;
  expect([high.priority, plain.priority]).toEqual(['HIGH', 'NORMAL']);
  expect(codes(await start('URGENT'))).toEqual(['BAD_USER_INPUT']);
  expect(await jobPriorities('runId', high.id)).toEqual([PRIORITY_VALUES.HIGH]);
  expect(await jobPriorities('runId', plain.id)).toEqual([PRIORITY_VALUES.NORMAL]);
  // cancelled and resumed: its new job keeps the run's priority
  await t.gql(`mutation($id: ID!) { cancelTraining(id: $id) { status } }`, { id: high.id });
  await t.gql(`mutation($id: ID!) { resumeTraining(id: $id) { status } }`, { id: high.id });
  expect(await jobPriorities('runId', high.id)).toEqual([PRIORITY_VALUES.HIGH, PRIORITY_VALUES.HIGH]);

  const model = await t.db.prisma.model.create({ data: { name: 'm', path: '/nowhere', vocabSize: 9, config: {} } });
  const bulk = await t.gql(`mutation($input: CaptionDatasetInput!) { captionDataset(input: $input) { id priority status } }`, {
    input: { modelId: model.id, datasetId: dataset.id, priority: 'LOW' },
  });
  expect(bulk.data!.captionDataset).toMatchObject({ priority: 'LOW', status: 'QUEUED' });
  expect(await jobPriorities('jobId', bulk.data!.captionDataset.id)).toEqual([PRIORITY_VALUES.LOW]);
  // a model or dataset a live bulk job uses is not deleted under it
  const del = await t.gql(`mutation($id: ID!) { deleteModel(id: $id) }`, { id: model.id });
  expect(codes(del)).toEqual(['CONFLICT']);
  expect(del.errors![0]!.extensions!.activeBulkCaptionJobs).toBe(1);
  const queues = await t.gql(`{ queues { name paused depth } }`);
  expect(queues.data!.queues).toEqual([
    { name: 'training', paused: false, depth: 2 },
    { name: 'caption', paused: false, depth: 0 },
    { name: 'dataset', paused: false, depth: 0 },
    { name: 'evaluation', paused: false, depth: 0 },
    { name: 'bulk-caption', paused: false, depth: 1 },
  ]);
});
