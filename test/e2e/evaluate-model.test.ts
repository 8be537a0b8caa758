// Evaluation as a job, through GraphQL: a tiny model trained for a few steps is evaluated by a worker
// (evaluateModel, progress over evaluationProgress), and the API's numbers equal `glimpse eval`'s on the
// same model folder, split and decoding settings; typed errors, cancel, Model.evaluations and the connection.
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import { codes, collect, startTestApi, type TestApi } from '../api/harness.ts';
import { runCli } from '../cli/run-cli.ts';
import { until } from '../helpers/until.ts';
import { quietLog } from './shared.ts';

let t: TestApi;
let worker: RunningWorker;
let dataDir: string;
const env = () => ({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', GLIMPSE_BACKEND: 'wasm' });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-evaluate-'));
  t = await startTestApi(env());
  worker = await startWorker({
    config: loadConfig(env()),
    prisma: t.db.prisma,
    queue: t.queue,
    pollingIntervalSeconds: 0.5,
    log: quietLog,
  });
});
afterAll(async () => {
  await worker?.stop({ graceful: true });
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const EVALUATE = `mutation($i: EvaluateModelInput!) { evaluateModel(input: $i) { id status split method beamWidth } }`;
const FIELDS =
  'id status done total split method beamWidth splitSeed splitValFraction splitDigest bleu1 bleu2 bleu3 bleu4 ciderD objectF1 exactRate examples { image references hypothesis score } error';

describe('evaluateModel', { timeout: 240_000 }, () => {
  let datasetId: string;
  let modelId: string;

  it('trains a tiny model to evaluate', async () => {
    const created = await t.gql(`mutation { createDataset(input: { name: "eval", synthetic: { images: 40, seed: 6 } }) { id } }`);
    datasetId = created.data!.createDataset.id;
    await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } }),
      (d) => d.status === 'READY',
      60_000,
    );
    const started = await t.gql(`mutation($i: StartTrainingInput!) { startTraining(input: $i) { id } }`, {
      i: {
        datasetId,
        epochs: 6,
        batchSize: 16,
        learningRate: 0.01,
        units: 32,
        embeddingDim: 16,
        vocabSize: 30,
        seed: 2,
        encoder: { imageSize: 32, channels: [4, 8] },
      },
    });
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;
    const model = await until(
      () => t.db.prisma.model.findFirst({ where: { runId } }),
      (m) => m !== null,
      180_000,
    );
    modelId = model!.id;
  });

  it('refuses bad input, unknown references and a dataset that is not READY with typed errors', async () => {
    const i = (extra: Record<string, unknown>) => ({ i: { modelId, datasetId, ...extra } });
    expect(codes(await t.gql(EVALUATE, i({ modelId: 'nope' })))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(EVALUATE, i({ datasetId: 'nope' })))).toEqual(['NOT_FOUND']);
    const badBeam = await t.gql(EVALUATE, i({ method: 'BEAM', beamWidth: 0 }));
    expect(codes(badBeam)).toEqual(['BAD_USER_INPUT']);
    expect(badBeam.errors![0]!.extensions!.field).toBe('input.beamWidth');
    expect(codes(await t.gql(EVALUATE, i({ method: 'SAMPLE' })))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(EVALUATE, i({ maxImages: 0 })))).toEqual(['BAD_USER_INPUT']);
    const pending = await t.db.prisma.dataset.create({ data: { name: 'pending', kind: 'SYNTHETIC', syntheticImages: 4 } });
    expect(codes(await t.gql(EVALUATE, i({ datasetId: pending.id })))).toEqual(['BAD_USER_INPUT']);
    await t.db.prisma.dataset.delete({ where: { id: pending.id } });
    expect(codes(await t.gql(`mutation { cancelEvaluation(id: "nope") { id } }`))).toEqual(['NOT_FOUND']);
  });

  it("streams progress and ends with the same numbers as `glimpse eval` on the model's validation split", async () => {
    const queued = await t.gql(EVALUATE, { i: { modelId, datasetId, split: 'VALIDATION' } });
    expect(queued.errors).toBeUndefined();
    expect(queued.data!.evaluateModel).toMatchObject({ status: 'QUEUED', split: 'VALIDATION', method: 'BEAM', beamWidth: 3 });
    const id = queued.data!.evaluateModel.id;
    const stream = collect(t.ws(), `subscription($id: ID!) { evaluationProgress(id: $id) { status done total bleu4 } }`, { id });
    await stream.completed;
    const events = stream.results.map((r) => r.data!.evaluationProgress);
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', bleu4: expect.any(Number) });
    expect(events.at(-1)!.done).toBe(events.at(-1)!.total);
    const { evaluation } = (await t.gql(`query($id: ID!) { evaluation(id: $id) { ${FIELDS} } }`, { id })).data!;
    // 40 images, valFraction 0.1: 4 held out
    expect(evaluation).toMatchObject({ status: 'SUCCEEDED', done: 4, total: 4, splitSeed: 2, splitValFraction: 0.1, error: null });
    expect(evaluation.splitDigest).toMatch(/^[0-9a-f]{16}$/);
    expect(evaluation.objectF1).toEqual(expect.any(Number)); // a synthetic set: the object metric applies
    expect(evaluation.examples.length).toBe(4);
    expect(evaluation.examples[0].score).toBeLessThanOrEqual(evaluation.examples[3].score);

    const model = await t.db.prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    const cli = await runCli(['--backend', 'wasm', 'eval', '--model', join(dataDir, 'cache', model.blobId!), '--split', 'val']);
    expect(cli.stderr).toContain('captioning 4 val images');
    expect(cli.code).toBe(0);
    const row = cli.stdout.split('\n').find((line) => /^\s*val\s/.test(line))!;
    const [, images, ...scores] = row.trim().split(/\s+/);
    expect(Number(images)).toBe(4);
    const api = ['bleu1', 'bleu2', 'bleu3', 'bleu4', 'ciderD'].map((k) => (evaluation[k] as number).toFixed(4));
    console.log(`evaluateModel: ${api.join(' ')}; glimpse eval: ${scores.join(' ')}`);
    expect(api).toEqual(scores);
    // a comparison of real scores, not of zeros (6 epochs name some shapes right: CIDEr-D 1.69 on 2026-12-07)
    expect(evaluation.ciderD).toBeGreaterThan(0);

    // finished: cancelling it is a conflict
    expect(codes(await t.gql(`mutation($id: ID!) { cancelEvaluation(id: $id) { id } }`, { id }))).toEqual(['CONFLICT']);
  });

  it('the worker stops an evaluation whose cancel is requested, at its next beat', async () => {
    // cancelEvaluation sets cancelRequested on a RUNNING one; set here before the worker claims it, so that the
    // worker's first beat (before any batch) sees it whatever the machine's speed
    const row = await t.db.prisma.$transaction(async (tx) => {
      const created = await tx.evaluation.create({ data: { modelId, datasetId, split: 'ALL', cancelRequested: true } });
      await t.queue.enqueueEvaluation(tx, { evaluationId: created.id });
      return created;
    });
    const ended = await until(
      () => t.db.prisma.evaluation.findUniqueOrThrow({ where: { id: row.id } }),
      (e) => e.status !== 'QUEUED' && e.status !== 'RUNNING',
      60_000,
    );
    expect(ended).toMatchObject({ status: 'CANCELLED', workerId: worker.id, bleu4: null, finishedAt: expect.any(Date) });
    await t.db.prisma.evaluation.delete({ where: { id: row.id } });
  });

  it('cancels a queued evaluation; Model.evaluations and evaluationsConnection list them newest first', async () => {
    await worker.stop({ graceful: true }); // nothing takes the next one
    const queued = await t.gql(EVALUATE, { i: { modelId, datasetId, split: 'ALL', method: 'BEAM', beamWidth: 2, maxImages: 8 } });
    const id = queued.data!.evaluateModel.id;
    expect((await t.gql(`{ serverInfo { queue { evaluation } } }`)).data!.serverInfo.queue.evaluation).toBe(1);
    const cancelled = await t.gql(`mutation($id: ID!) { cancelEvaluation(id: $id) { status } }`, { id });
    expect(cancelled.data!.cancelEvaluation.status).toBe('CANCELLED');
    const listed = await t.gql(
      `query($m: ID!) { model(id: $m) { evaluations(first: 5) { id status } }
        evaluationsConnection(modelId: $m, first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage } } }`,
      { m: modelId },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.model.evaluations.map((e: { status: string }) => e.status)).toEqual(['CANCELLED', 'SUCCEEDED']);
    expect(listed.data!.evaluationsConnection).toMatchObject({ totalCount: 2, edges: [{ node: { id } }], pageInfo: { hasNextPage: true } });
  });
});
