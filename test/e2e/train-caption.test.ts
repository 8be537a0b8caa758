// The whole path with a real in-process worker: createDataset (synthetic) → READY → startTraining →
// every batch's loss over graphql-ws, SUCCEEDED with a Model → requestCaption (base64 PNG) →
// captionStream tokens with attention over the grid → the caption. Late subscribers get the history.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, type TestApi } from '../api/harness.ts';
import { until } from '../helpers/until.ts';
import {
  CAPTION_STREAM,
  expectCaptionStream,
  type CaptionEvent,
  startApiWithWorker,
  syntheticImagesDir,
  type ApiWithWorker,
} from './shared.ts';

const PROGRESS = `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind step epoch batch loss valLoss bleu4 status error } }`;

interface Progress {
  kind: 'BATCH' | 'EPOCH' | 'STATUS';
  step: number;
  epoch: number;
  batch: number | null;
  loss: number | null;
  valLoss: number | null;
  status: string;
  error: string | null;
}

let stack: ApiWithWorker;
let t: TestApi;
let dataDir: string;

beforeAll(async () => {
  stack = await startApiWithWorker();
  ({ t, dataDir } = stack);
});
afterAll(() => stack?.close());

const progressOf = (results: { data?: { trainingProgress: Progress } | null }[]) => results.map((r) => r.data!.trainingProgress);

describe('train and caption through the API and a worker', () => {
  let datasetId: string;
  let runId: string;
  let modelId: string;

  it('generates the synthetic dataset (PENDING → READY)', async () => {
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes", synthetic: { images: 12, seed: 3 } }) { id status } }`);
    expect(created.errors).toBeUndefined();
    expect(created.data!.createDataset.status).toBe('PENDING');
    datasetId = created.data!.createDataset.id;
    const ready = await until(
      async () => (await t.gql(`query($id: ID!) { dataset(id: $id) { status imageCount } }`, { id: datasetId })).data!.dataset,
      (d) => d.status !== 'PENDING',
    );
    expect(ready).toEqual({ status: 'READY', imageCount: 12 });
    // stored in the artifact store; the worker that generated it keeps it in its cache
    expect((await readdir(await syntheticImagesDir(t.db.prisma, dataDir, datasetId))).length).toBe(12);
  });

  it('trains: a loss for every batch in order, epoch summaries, SUCCEEDED with a Model', async () => {
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`, {
      input: {
        datasetId,
        modelName: 'e2e-captioner',
        epochs: 2,
        batchSize: 8,
        units: 32,
        embeddingDim: 16,
        vocabSize: 50,
        seed: 7,
        valFraction: 0.1,
      },
    });
    expect(started.errors).toBeUndefined();
    runId = started.data!.startTraining.id;
    const live = collect<{ trainingProgress: Progress }>(t.ws(), PROGRESS, { runId });
    await live.completed;
    const events = progressOf(live.results);
    const batches = events.filter((e) => e.kind === 'BATCH');
    const run = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { model: true } });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.totalSteps).toBeGreaterThan(2);
    expect(batches.map((b) => b.step)).toEqual(Array.from({ length: run.totalSteps! }, (_, i) => i + 1));
    expect(batches.every((b) => Number.isFinite(b.loss) && b.loss! > 0)).toBe(true);
    const epochs = events.filter((e) => e.kind === 'EPOCH');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs[1]!.step).toBe(run.totalSteps);
    expect(epochs.every((e) => Number.isFinite(e.valLoss))).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED' });
    // each epoch summary follows the last batch of its epoch
    for (const e of epochs) expect(events[events.indexOf(e) - 1]).toMatchObject({ kind: 'BATCH', step: e.step });

    expect(run.model).not.toBeNull();
    modelId = run.model!.id;
    // registered under the run's modelName as its first version
    expect(run.model).toMatchObject({ name: 'e2e-captioner', version: 1 });
    expect(run.model!.metrics).toMatchObject({ valLoss: epochs[1]!.valLoss });
    expect(run.model!.vocabSize).toBeGreaterThan(4);
    expect(await t.db.prisma.checkpoint.count({ where: { runId } })).toBeGreaterThanOrEqual(2);

    // a late subscriber replays the same history, then completes
    const late = collect<{ trainingProgress: Progress }>(t.ws(), PROGRESS, { runId });
    await late.completed;
    // (each event carries the run's status when it was read: RUNNING live, SUCCEEDED on replay)
    const history = (list: Progress[]) => list.filter((e) => e.kind !== 'STATUS').map(({ status: _s, ...e }) => e);
    expect(history(progressOf(late.results))).toEqual(history(events));
    expect(progressOf(late.results).at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED' });
  });

  it('captions a PNG through an alias: tokens with attention over gridSize² cells summing to 1, then the caption', async () => {
    const images = await syntheticImagesDir(t.db.prisma, dataDir, datasetId);
    const file = join(images, (await readdir(images))[0]!);
    const png = await readFile(file);
    const alias = await t.gql(`mutation { setModelAlias(name: "e2e-captioner", alias: "production", version: 1) { modelId } }`);
    expect(alias.data!.setModelAlias.modelId).toBe(modelId);
    const requested = await t.gql(
      `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id status modelId model { name version } } }`,
      { input: { model: 'e2e-captioner@production', imageBase64: png.toString('base64') } },
    );
    expect(requested.errors).toBeUndefined();
    expect(requested.data!.requestCaption).toMatchObject({ modelId, model: { name: 'e2e-captioner', version: 1 } });
    const requestId = requested.data!.requestCaption.id;
    const live = collect<{ captionStream: CaptionEvent }>(t.ws(), CAPTION_STREAM, { id: requestId });
    await live.completed;
    const events = live.results.map((r) => r.data!.captionStream);
    expectCaptionStream(events);

    const late = collect<{ captionStream: CaptionEvent }>(t.ws(), CAPTION_STREAM, { id: requestId });
    await late.completed;
    expect(late.results.map((r) => r.data!.captionStream)).toEqual(events);
  });

  it('fails a request whose bytes are not a decodable image, with the image error', async () => {
    // a PNG signature followed by garbage passes the API's magic-number screening but not decoding
    const broken = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);
    const requested = await t.gql(`mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
      input: { modelId, imageBase64: broken.toString('base64') },
    });
    expect(requested.errors).toBeUndefined();
    const id = requested.data!.requestCaption.id;
    const row = await until(
      () => t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id } }),
      (r) => r.status !== 'QUEUED' && r.status !== 'RUNNING',
    );
    expect(row.status).toBe('FAILED');
    expect(row.error).toBeTruthy();
  });
});
