// startTraining's warm start (initFrom) and epochs that follow the data, over real HTTP on a real
// database: the parent's architecture fills what the input leaves out, a differing setting is
// BAD_USER_INPUT naming its field, an unknown model NOT_FOUND; the run records its parent
// (TrainingRun.parentModel, kept as config.initFrom once the model is deleted); epochs by a step budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPOCHS_WHEN_UNKNOWN, epochsFor } from '../../src/ml/settings/index.ts';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
let datasetId: string;
let parentId: string;
beforeAll(async () => {
  t = await startTestApi();
  const dataset = await t.db.prisma.dataset.create({
    data: {
      name: 'second set',
      kind: 'SYNTHETIC',
      status: 'READY',
      imageCount: 200,
      captionCount: 1000,
      imageSide: 64,
      syntheticImages: 200,
    },
  });
  datasetId = dataset.id;
  // a model as the worker records one: its config is src/ml's ModelConfig
  const config = {
    encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
    gridSize: 8,
    encoderDim: 40,
    embeddingDim: 48,
    units: 96,
    vocabSize: 24,
    maxLength: 12,
    attentionLambda: 0,
    deepOutput: false,
  };
  parentId = (await t.db.prisma.model.create({ data: { name: 'parent', path: '/models/parent', vocabSize: 24, config } })).id;
});
afterAll(() => t?.close());

const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) {
  id config { epochs patience units embeddingDim encoderDim imageSize gridSize channels deepOutput initFrom } parentModel { id name } } }`;

describe('startTraining(input: { initFrom })', () => {
  it("takes the model's architecture where the input leaves it out and records the parent", async () => {
    const res = await t.gql(START, { input: { datasetId, initFrom: parentId, epochs: 1 } });
    expect(res.errors).toBeUndefined();
    const run = res.data!.startTraining;
    expect(run.config).toMatchObject({
      units: 96,
      embeddingDim: 48,
      encoderDim: 40,
      imageSize: 64,
      gridSize: 8,
      channels: [16, 32, 64],
      deepOutput: false,
      initFrom: parentId,
    });
    expect(run.parentModel).toEqual({ id: parentId, name: 'parent' });
    const row = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.parentModelId).toBe(parentId);
    expect(row.config).toMatchObject({ units: 96, initFrom: parentId });
  });

  it("accepts the same values given explicitly; a field's default value counts as left out", async () => {
    const res = await t.gql(START, {
      input: { datasetId, initFrom: parentId, units: 96, deepOutput: true, encoder: { imageSize: 64, gridSize: 8 } },
    });
    expect(res.errors).toBeUndefined();
  });

  it('refuses a setting that differs from the model, naming the field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ units: 128 }, 'input.units', /is 96 in the model the run starts from \(initFrom\), got 128/],
      [{ encoder: { imageSize: 32 } }, 'input.encoder.imageSize', /is 64 in the model/],
      [{ encoder: { channels: [8, 16, 32] } }, 'input.encoder.channels', /is \[16, 32, 64\] in the model/],
      [{ encoder: { backbone: 'https://storage.googleapis.com/m/model.json' } }, 'input.encoder.backbone', /is none in the model/],
    ];
    const before = await t.db.prisma.trainingRun.count();
    for (const [extra, field, message] of cases) {
      const res = await t.gql(START, { input: { datasetId, initFrom: parentId, ...extra } });
      expect(codes(res), field).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.extensions!.field).toBe(field);
      expect(res.errors![0]!.message).toMatch(message);
    }
    expect(await t.db.prisma.trainingRun.count()).toBe(before);
  });

  it('NOT_FOUND for an unknown model; BAD_USER_INPUT for a model that does not record its architecture', async () => {
    const unknown = await t.gql(START, { input: { datasetId, initFrom: 'no-such-model' } });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(unknown.errors![0]!.message).toMatch(/Model no-such-model not found/);
    const bare = await t.db.prisma.model.create({ data: { name: 'bare', path: '/models/bare', vocabSize: 20, config: { units: 8 } } });
    const res = await t.gql(START, { input: { datasetId, initFrom: bare.id } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.extensions!.field).toBe('input.initFrom');
  });

  it('keeps the parent id in the config when the model is deleted; parentModel becomes null', async () => {
    const other = await t.db.prisma.model.create({
      data: {
        name: 'gone',
        path: '/models/gone',
        vocabSize: 24,
        config: (await t.db.prisma.model.findUniqueOrThrow({ where: { id: parentId } })).config!,
      },
    });
    const { data } = await t.gql(START, { input: { datasetId, initFrom: other.id } });
    await t.db.prisma.model.delete({ where: { id: other.id } });
    const res = await t.gql(`query($id: ID!) { trainingRun(id: $id) { config { initFrom } parentModel { id } } }`, {
      id: data!.startTraining.id,
    });
    expect(res.data!.trainingRun).toEqual({ config: { initFrom: other.id }, parentModel: null });
  });
});

describe('epochs that follow the data, early stopping', () => {
  it('gives a small set more epochs by the step budget; patience is stored and bounded', async () => {
    const res = await t.gql(START, { input: { datasetId, patience: 3 } });
    expect(res.errors).toBeUndefined();
    const { config } = res.data!.startTraining;
    expect(config.epochs).toBe(epochsFor(1000, 0.1, 32));
    expect(config.epochs).toBeGreaterThan(EPOCHS_WHEN_UNKNOWN); // 900 training captions: 29 steps an epoch
    expect(config.patience).toBe(3);
    expect(res.data!.startTraining.parentModel).toBeNull();
    const bad = await t.gql(START, { input: { datasetId, patience: -1 } });
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0]!.extensions!.field).toBe('input.patience');
  });
});
