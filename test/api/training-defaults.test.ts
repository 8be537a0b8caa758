// Defaults that follow the data: the CNN's input size is the dataset's image size (never upsampled
// past it, at most 128 px); a backbone run needs no channels (the CNN's default does not get in its way).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
const ids: Record<string, string> = {};
beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_BACKBONE_HOSTS: 'models.example.com' });
  for (const [name, imageSide] of [
    ['small', 64],
    ['large', 480],
    ['unknown', null],
  ] as const) {
    const row = await t.db.prisma.dataset.create({
      data: {
        name,
        kind: 'SYNTHETIC',
        status: 'READY',
        imageCount: 50,
        captionCount: 250,
        vocabularyWords: 20,
        maxCaptionTokens: 12,
        imageSide,
      },
    });
    ids[name] = row.id;
  }
});
afterAll(() => t?.close());

const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { config { imageSize gridSize channels backbone } } }`;

describe('startTraining defaults that follow the dataset', () => {
  it("takes the dataset's image size for the CNN, at most 128 px", async () => {
    const sizes: Record<string, number> = {};
    for (const name of ['small', 'large', 'unknown']) {
      const res = await t.gql(START, { input: { datasetId: ids[name] } });
      expect(res.errors).toBeUndefined();
      sizes[name] = res.data!.startTraining.config.imageSize;
    }
    expect(sizes).toEqual({ small: 64, large: 128, unknown: 128 });
    // one conv stage per pooling step, the small widths for a 250-caption set
    const small = await t.gql(START, { input: { datasetId: ids.small } });
    expect(small.data!.startTraining.config.channels).toEqual([16, 32, 64]);
    const grid4 = await t.gql(START, { input: { datasetId: ids.small, encoder: { gridSize: 4 } } });
    expect(grid4.errors).toBeUndefined();
    expect(grid4.data!.startTraining.config).toMatchObject({ imageSize: 64, gridSize: 4 });
  });

  it('accepts a backbone without channels, and refuses channels given with one', async () => {
    const backbone = 'https://models.example.com/mobilenet/model.json';
    const ok = await t.gql(START, { input: { datasetId: ids.small, encoder: { backbone } } });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.startTraining.config).toMatchObject({ backbone, imageSize: 224, channels: null });
    const bad = await t.gql(START, { input: { datasetId: ids.small, encoder: { backbone, channels: [8, 16] } } });
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0]!.extensions!.field).toBe('input.encoder.channels');
  });
});
