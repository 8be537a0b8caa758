// Run estimates over real HTTP: startTraining answers totalSteps at once (from the dataset's counts);
// a running run reports its recent speed, the time left and the time spent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
let datasetId: string;
beforeAll(async () => {
  t = await startTestApi();
  const row = await t.db.prisma.dataset.create({
    data: {
      name: 'counted',
      kind: 'SYNTHETIC',
      status: 'READY',
      imageCount: 100,
      captionCount: 500,
      vocabularyWords: 25,
      maxCaptionTokens: 14,
    },
  });
  datasetId = row.id;
});
afterAll(() => t?.close());

const FIELDS = 'id status step totalSteps stepsPerSecond etaSeconds elapsedSeconds';

describe('training estimates', () => {
  it('answers totalSteps at once; speed and ETA are null until batches arrive', async () => {
    const res = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { ${FIELDS} } }`, {
      input: { datasetId, epochs: 3, batchSize: 32, valFraction: 0.1 },
    });
    expect(res.errors).toBeUndefined();
    // 10 of 100 images held out → 450 training captions → 15 batches of 32 per epoch
    expect(res.data!.startTraining).toMatchObject({
      status: 'QUEUED',
      totalSteps: 45,
      stepsPerSecond: null,
      etaSeconds: null,
      elapsedSeconds: null,
    });
  });

  it('reports steps per second over the recent batches, the seconds left and the seconds spent', async () => {
    const run = await t.db.prisma.trainingRun.findFirstOrThrow({ where: { datasetId } });
    const started = new Date(Date.now() - 60_000);
    // 11 batches, one every 0.5 s
    await t.db.prisma.lossPoint.createMany({
      data: Array.from({ length: 11 }, (_, i) => ({
        runId: run.id,
        step: i + 1,
        epoch: 1,
        batch: i + 1,
        loss: 3 - i * 0.1,
        examplesPerSec: 60,
        createdAt: new Date(started.getTime() + 50_000 + i * 500),
      })),
    });
    await t.db.prisma.trainingRun.update({ where: { id: run.id }, data: { status: 'RUNNING', step: 11, startedAt: started } });
    const res = await t.gql(`query($id: ID!) { trainingRun(id: $id) { ${FIELDS} } }`, { id: run.id });
    const r = res.data!.trainingRun;
    expect(r.stepsPerSecond).toBeCloseTo(2, 5);
    expect(r.etaSeconds).toBeCloseTo((45 - 11) / 2, 5);
    expect(r.elapsedSeconds).toBeGreaterThanOrEqual(60);
    expect(r.elapsedSeconds).toBeLessThan(90);
  });
});
