// Issue 22's acceptance: a model's whole life through GraphQL (HTTP and graphql-ws) against a real API and a real
// in-process worker. Two small runs registered as "captioner" versions 1 and 2 are evaluated on the same held-out
// split; the better is promoted to @production and captions through the alias; the alias moves and the other
// version answers; a run fine-tunes from @production on a second synthetic set; the fine-tuned model captions a
// 200-image set as one bulk job, its results paged and downloaded.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, type GraphQLResponse, type TestApi } from '../api/harness.ts';
import { until } from '../helpers/until.ts';
import {
  type ApiWithWorker,
  CAPTION_STREAM,
  type CaptionEvent,
  expectCaptionStream,
  startApiWithWorker,
  syntheticImagesDir,
} from './shared.ts';

let stack: ApiWithWorker;
let t: TestApi;

beforeAll(async () => {
  stack = await startApiWithWorker();
  t = stack.t;
});
afterAll(() => stack?.close());

/** tiny sizes: a 32-pixel CNN encoder of two stages, few units; the same seed and split for every run */
const TINY = { batchSize: 16, learningRate: 0.01, units: 32, embeddingDim: 16, vocabSize: 30, seed: 2, valFraction: 0.1 };
const ENCODER = { imageSize: 32, channels: [4, 8] };
const METRICS = 'bleu1 bleu4 ciderD objectF1';

interface Scores {
  bleu1: number;
  bleu4: number;
  ciderD: number;
  objectF1: number;
}

async function createSynthetic(name: string, images: number, seed: number): Promise<string> {
  const created = await t.gql(`mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }`, {
    i: { name, synthetic: { images, seed } },
  });
  expect(created.errors).toBeUndefined();
  return created.data!.createDataset.id;
}

const ready = (ids: string[]) =>
  until(
    () => t.db.prisma.dataset.findMany({ where: { id: { in: ids } } }),
    (sets) => sets.length === ids.length && sets.every((d) => d.status === 'READY'),
    90_000,
  );

/** startTraining, then the run as it ended (polled over GraphQL) */
async function train(input: Record<string, unknown>) {
  const started = await t.gql(`mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, { i: input });
  expect(started.errors).toBeUndefined();
  const id = started.data!.startTraining.id;
  return until(
    async () =>
      (
        await t.gql(
          `query($id: ID!) { trainingRun(id: $id) { id status error parentModel { id name version } model { id name version } config { units embeddingDim imageSize initFrom } } }`,
          { id },
        )
      ).data!.trainingRun,
    (run) => !['QUEUED', 'RUNNING'].includes(run.status),
    120_000,
    250,
  );
}

/** evaluateModel on the VALIDATION split, followed over evaluationProgress to its end */
async function evaluate(modelRef: string, datasetId: string): Promise<Scores & { status: string; splitDigest: string; total: number }> {
  const queued = await t.gql(`mutation($i: EvaluateModelInput!) { evaluateModel(input: $i) { id } }`, {
    i: { modelId: modelRef, datasetId, split: 'VALIDATION' },
  });
  expect(queued.errors).toBeUndefined();
  const progress = collect<{ evaluationProgress: Scores & { status: string; splitDigest: string; total: number } }>(
    t.ws(),
    `subscription($id: ID!) { evaluationProgress(id: $id) { status done total splitDigest ${METRICS} } }`,
    { id: queued.data!.evaluateModel.id },
  );
  await progress.completed;
  return progress.results.at(-1)!.data!.evaluationProgress;
}

/** requestCaption through a reference, streamed with captionStream to its done event */
async function caption(model: string, png: Buffer) {
  const requested = await t.gql(`mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id modelId model { name version } } }`, {
    i: { model, imageBase64: png.toString('base64') },
  });
  expect(requested.errors).toBeUndefined();
  const live = collect<{ captionStream: CaptionEvent }>(t.ws(), CAPTION_STREAM, { id: requested.data!.requestCaption.id });
  await live.completed;
  expectCaptionStream(live.results.map((r) => r.data!.captionStream));
  const row = await t.gql(`query($id: ID!) { captionRequest(id: $id) { status caption model { version } } }`, {
    id: requested.data!.requestCaption.id,
  });
  expect(row.data!.captionRequest).toMatchObject({ status: 'SUCCEEDED', caption: expect.any(String) });
  const { modelId, model: answered } = requested.data!.requestCaption;
  return { modelId, model: answered } as { modelId: string; model: { name: string; version: number } };
}

const setAlias = async (version: number) => {
  const res = await t.gql(`mutation($v: Int!) { setModelAlias(name: "captioner", alias: "production", version: $v) { version modelId } }`, {
    v: version,
  });
  expect(res.errors).toBeUndefined();
  expect(res.data!.setModelAlias.version).toBe(version);
};

describe("a model's life through GraphQL: train, evaluate, promote, move, fine-tune, bulk-caption", { timeout: 240_000 }, () => {
  let shapesId: string;
  let secondId: string;
  let bulkId: string;
  const versionIds = new Map<number, string>();
  let better: number;
  let other: number;
  let fineTunedVersion: number;

  it('trains two runs under one name (versions 1 and 2) and scores both on the same held-out split', async () => {
    // all three sets generate now (the worker takes them while the first runs train)
    shapesId = await createSynthetic('shapes', 40, 6);
    secondId = await createSynthetic('second shapes', 40, 19);
    bulkId = await createSynthetic('bulk shapes', 200, 23);
    await ready([shapesId]);
    // the same data, split and seed: they differ in training length (1 epoch against 6)
    for (const [version, epochs] of [
      [1, 1],
      [2, 6],
    ] as const) {
      const run = await train({ ...TINY, datasetId: shapesId, modelName: 'captioner', epochs, encoder: ENCODER });
      expect(run).toMatchObject({ status: 'SUCCEEDED', parentModel: null, model: { name: 'captioner', version } });
      versionIds.set(version, run.model.id);
    }

    const [one, two] = [await evaluate('captioner:1', shapesId), await evaluate('captioner:2', shapesId)];
    console.log(`captioner:1 ${JSON.stringify(one)}\ncaptioner:2 ${JSON.stringify(two)}`);
    for (const e of [one, two])
      expect(e).toMatchObject({ status: 'SUCCEEDED', total: 4, splitDigest: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // the same images scored
    expect(two.splitDigest).toBe(one.splitDigest);
    // the runs differ, and so do their scores
    expect([one.bleu1, one.ciderD, one.objectF1]).not.toEqual([two.bleu1, two.ciderD, two.objectF1]);
    // the better by CIDEr-D (ties: BLEU-1, then the object F1)
    const key = (s: Scores) => [s.ciderD, s.bleu1, s.objectF1];
    const cmp = key(one)
      .map((v, i) => v - key(two)[i]!)
      .find((d) => d !== 0)!;
    [better, other] = cmp > 0 ? [1, 2] : [2, 1];
  });

  it('promotes the better version to @production and captions through the alias, then moves the alias', async () => {
    const images = await syntheticImagesDir(t.db.prisma, stack.dataDir, shapesId);
    const png = await readFile(join(images, (await readdir(images))[0]!));

    await setAlias(better);
    const first = await caption('captioner@production', png);
    expect(first).toEqual({ modelId: versionIds.get(better), model: { name: 'captioner', version: better } });

    // moved: the very next request through the alias is answered by the other version
    await setAlias(other);
    const second = await caption('captioner@production', png);
    expect(second).toEqual({ modelId: versionIds.get(other), model: { name: 'captioner', version: other } });

    const history = await t.gql(
      `{ modelAliasHistory(name: "captioner", first: 10) { totalCount edges { node { alias fromVersion toVersion } } } }`,
    );
    expect(history.errors).toBeUndefined();
    expect(history.data!.modelAliasHistory).toEqual({
      totalCount: 2,
      edges: [
        { node: { alias: 'production', fromVersion: better, toVersion: other } },
        { node: { alias: 'production', fromVersion: null, toVersion: better } },
      ],
    });
  });

  it('fine-tunes from captioner@production on a second synthetic set: the parent is the aliased version', async () => {
    await ready([secondId]);
    // the architecture (units, embeddingDim, encoder) comes from the parent
    const run = await train({
      datasetId: secondId,
      initFrom: 'captioner@production',
      modelName: 'captioner',
      epochs: 1,
      batchSize: 16,
      seed: 3,
    });
    expect(run.error).toBeNull();
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      parentModel: { id: versionIds.get(other), name: 'captioner', version: other },
      model: { name: 'captioner', version: 3 },
      // the parent's architecture, its id recorded
      config: { units: 32, embeddingDim: 16, imageSize: 32, initFrom: versionIds.get(other) },
    });
    fineTunedVersion = run.model.version;
  });

  it('bulk-captions a 200-image set with the fine-tuned model: progress to SUCCEEDED, 200 result rows, the JSON', async () => {
    await ready([bulkId]);
    const res = await t.gql(`mutation($i: CaptionDatasetInput!) { captionDataset(input: $i) { id total resultsUrl } }`, {
      i: { modelId: `captioner:${fineTunedVersion}`, datasetId: bulkId },
    });
    expect(res.errors).toBeUndefined();
    const job = res.data!.captionDataset;
    expect(job.total).toBe(200);
    const progress = collect<{ bulkCaptionProgress: { status: string; done: number; total: number } }>(
      t.ws(),
      `subscription($id: ID!) { bulkCaptionProgress(id: $id) { status done total } }`,
      { id: job.id },
    );
    await progress.completed;
    expect(progress.results.at(-1)!.data!.bulkCaptionProgress).toEqual({ status: 'SUCCEEDED', done: 200, total: 200 });

    const rows: { index: number; imageId: string; caption: string | null }[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse = await t.gql(
        `query($id: ID!, $after: String) { bulkCaptionResults(jobId: $id, first: 100, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { index imageId caption } } } }`,
        { id: job.id, after },
      );
      expect(page.errors).toBeUndefined();
      const conn = page.data!.bulkCaptionResults;
      expect(conn.totalCount).toBe(200);
      rows.push(...conn.edges.map((e: { node: (typeof rows)[number] }) => e.node));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const r of rows) expect(r.caption).toMatch(/\S/);

    const download = await fetch(new URL(job.resultsUrl, t.api.url));
    expect(download.status).toBe(200);
    const coco = (await download.json()) as { image_id: number | string; caption: string }[];
    expect(coco).toHaveLength(200);
    expect(coco.map((c) => [String(c.image_id), c.caption])).toEqual(rows.map((r) => [r.imageId, r.caption]));
    // an id no job can have (a NUL byte reaches no query) is an unknown job, not an error
    expect((await fetch(new URL('/bulk-captions/%00x/results.json', t.api.url))).status).toBe(404);
  });
});
