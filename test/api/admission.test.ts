// Training admission over real HTTP: values outside the settings schema's bounds and runs whose
// estimated memory exceeds the worker budget are refused with BAD_USER_INPUT before anything is queued;
// the estimate uses the dataset's caption statistics, so a default run on a small set is admitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
let datasetId: string;
beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_WORKER_MAX_MEMORY: '3.5GiB' });
  const row = await t.db.prisma.dataset.create({
    data: {
      name: 'small',
      kind: 'SYNTHETIC',
      status: 'READY',
      imageCount: 100,
      captionCount: 500,
      vocabularyWords: 20,
      maxCaptionTokens: 14,
    },
  });
  datasetId = row.id;
});
afterAll(() => t?.close());

const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id config { epochs batchSize units vocabSize learningRate } } }`;
const runs = () => t.db.prisma.trainingRun.count();

describe('startTraining admission', () => {
  it('refuses the oversized run of the issue with BAD_USER_INPUT naming the bound, and queues nothing', async () => {
    const input = { datasetId, batchSize: 1024, units: 4096, embeddingDim: 4096, vocabSize: 100000, maxLength: 200 };
    const res = await t.gql(START, { input });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.extensions!.field).toBe('input.batchSize');
    expect(res.errors![0]!.message).toMatch(/input\.batchSize: must be 1\.\.256, got 1024/);
    expect(await runs()).toBe(0);
  });

  it('refuses a run within every bound whose memory exceeds the worker budget, naming GLIMPSE_WORKER_MAX_MEMORY', async () => {
    const res = await t.gql(START, { input: { datasetId, batchSize: 256, units: 2048, embeddingDim: 1024 } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.message).toMatch(
      /needs about [\d.]+ GiB of memory.*over the worker budget of 3\.5 GiB \(GLIMPSE_WORKER_MAX_MEMORY\)/,
    );
    expect(await runs()).toBe(0);
  });

  it('bounds the learning rate to (1e-6, 1] and checkpointEvery to 0 or ≥ 10', async () => {
    for (const learningRate of [1e-300, 0, 1.5]) {
      const res = await t.gql(START, { input: { datasetId, learningRate } });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(/input\.learningRate: must be > 1e-6 and ≤ 1/);
    }
    const every = await t.gql(START, { input: { datasetId, checkpointEvery: 1 } });
    expect(every.errors![0]!.message).toMatch(/input\.checkpointEvery: must be 0 or 10\.\.1000000/);
    expect(await runs()).toBe(0);
  });

  it("admits the defaults on a small dataset (its 20 words and 14-token captions, not the schema's caps)", async () => {
    const res = await t.gql(START, { input: { datasetId } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.startTraining.config).toMatchObject({ vocabSize: 5000 });
    expect(await runs()).toBe(1);
  });
});
