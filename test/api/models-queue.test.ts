// renameModel (validation, NOT_FOUND), a model's dataset vocabulary next to its own vocabSize, and
// serverInfo.queueDepth counting only live jobs (a cancelled queued run leaves it), over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

const RENAME = `mutation($id: ID!, $name: String!) { renameModel(id: $id, name: $name) { id name vocabSize datasetVocabularyWords } }`;

async function readyDataset(name: string, vocabularyWords: number | null = null): Promise<string> {
  const row = await t.db.prisma.dataset.create({ data: { name, kind: 'SYNTHETIC', status: 'READY', imageCount: 8, vocabularyWords } });
  return row.id;
}

describe('models', () => {
  it('renames a model (trimmed) and lists it by the new name; the dataset vocabulary is reported beside vocabSize', async () => {
    const datasetId = await readyDataset('shapes', 23);
    const run = await t.db.prisma.trainingRun.create({ data: { datasetId, config: {}, status: 'SUCCEEDED' } });
    const model = await t.db.prisma.model.create({
      data: { name: `run ${run.id}`, runId: run.id, path: '/m/1', vocabSize: 27, config: {} },
    });
    const res = await t.gql(RENAME, { id: model.id, name: '  shapes, small  ' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.renameModel).toEqual({ id: model.id, name: 'shapes, small', vocabSize: 27, datasetVocabularyWords: 23 });
    const listed = await t.gql(`{ modelsConnection(nameContains: "SMALL") { edges { node { id name datasetVocabularyWords } } } }`);
    expect(listed.data!.modelsConnection.edges).toEqual([{ node: { id: model.id, name: 'shapes, small', datasetVocabularyWords: 23 } }]);

    // a model whose run is gone: the dataset's vocabulary is unknown, not invented
    const orphan = await t.db.prisma.model.create({ data: { name: 'orphan', path: '/m/2', vocabSize: 9, config: {} } });
    const o = await t.gql(`query($id: ID!) { model(id: $id) { vocabSize datasetVocabularyWords } }`, { id: orphan.id });
    expect(o.data!.model).toEqual({ vocabSize: 9, datasetVocabularyWords: null });
  });

  it('refuses empty, too long and unprintable names with BAD_USER_INPUT and unknown ids with NOT_FOUND, changing nothing', async () => {
    const model = await t.db.prisma.model.create({ data: { name: 'keep', path: '/m/3', vocabSize: 9, config: {} } });
    for (const [name, message] of [
      ['   ', /name: must not be empty/],
      ['x'.repeat(101), /name: must be at most 100 characters/],
      ['two\nlines', /name: must not contain control characters/],
      ['bell\u0007', /name: must not contain control characters/],
    ] as const) {
      const res = await t.gql(RENAME, { id: model.id, name });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(message);
      expect(res.errors![0]!.extensions!.field).toBe('name');
    }
    expect((await t.db.prisma.model.findUniqueOrThrow({ where: { id: model.id } })).name).toBe('keep');
    expect((await t.gql(RENAME, { id: model.id, name: 'é'.repeat(100) })).data!.renameModel.name).toBe('é'.repeat(100));
    const missing = await t.gql(RENAME, { id: '00000000-0000-0000-0000-000000000000', name: 'x' });
    expect(codes(missing)).toEqual(['NOT_FOUND']);
  });
});

describe('serverInfo.queueDepth', () => {
  it('counts queued runs, and a cancelled queued run no longer', async () => {
    const depth = async () => (await t.gql(`{ serverInfo { queueDepth queue { training caption } } }`)).data!.serverInfo;
    const datasetId = await readyDataset('depth');
    expect(await depth()).toEqual({ queueDepth: 0, queue: { training: 0, caption: 0 } });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`, {
        input: { datasetId, epochs: 1, batchSize: 4 },
      });
      expect(res.errors).toBeUndefined();
      ids.push(res.data!.startTraining.id);
    }
    expect(await depth()).toEqual({ queueDepth: 2, queue: { training: 2, caption: 0 } });
    const cancelled = await t.gql(`mutation($id: ID!) { cancelTraining(id: $id) { status } }`, { id: ids[0] });
    expect(cancelled.data!.cancelTraining.status).toBe('CANCELLED');
    expect(await depth()).toEqual({ queueDepth: 1, queue: { training: 1, caption: 0 } });
    // resumed, it waits again: its job counts once more
    await t.gql(`mutation($id: ID!) { resumeTraining(id: $id) { status } }`, { id: ids[0] });
    expect((await depth()).queueDepth).toBe(2);
  });
});
