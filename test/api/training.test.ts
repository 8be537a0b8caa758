// Datasets and training runs over real HTTP: validation with typed codes, transactions, pagination.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_DATASET } from '../../src/queue/demo-dataset.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  // COCO files in the temp folder, backbones under /srv or on storage.example.com (src/sources; attacks: test/api/sources.test.ts)
  t = await startTestApi({ GLIMPSE_DATASET_ROOTS: `/srv,${tmpdir()}`, GLIMPSE_BACKBONE_HOSTS: 'storage.example.com,example.com' });
});
afterAll(() => t?.close());

const CREATE_DATASET = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id name kind status imageCount syntheticImages syntheticSeed annotationsPath imagesDir } }`;
const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status config { epochs batchSize learningRate units vocabSize maxLength seed } } }`;

async function readyDataset(name: string): Promise<string> {
  const { data } = await t.gql(CREATE_DATASET, { input: { name, synthetic: { images: 8 } } });
  // the worker's dataset job marks it READY; here the test plays the worker
  await t.db.prisma.dataset.update({ where: { id: data!.createDataset.id }, data: { status: 'READY', imageCount: 8 } });
  return data!.createDataset.id;
}

describe('createDataset', () => {
  it('registers a synthetic dataset as PENDING with its parameters', async () => {
    const res = await t.gql(CREATE_DATASET, { input: { name: 'shapes-a', synthetic: { images: 50, seed: 7 } } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.createDataset).toMatchObject({
      name: 'shapes-a',
      kind: 'SYNTHETIC',
      status: 'PENDING',
      syntheticImages: 50,
      syntheticSeed: 7,
    });
    const listed = await t.gql(`{ datasetsConnection(status: PENDING) { edges { node { id name status imageCount } } } }`);
    expect(listed.data!.datasetsConnection.edges.map((e: { node: { name: string } }) => e.node.name)).toContain('shapes-a');
  });

  it('requires exactly one of synthetic and coco', async () => {
    const none = await t.gql(CREATE_DATASET, { input: { name: 'none' } });
    const both = await t.gql(CREATE_DATASET, {
      input: { name: 'both', synthetic: { images: 5 }, coco: { annotationsPath: '/x', imagesDir: '/y' } },
    });
    for (const res of [none, both]) {
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(/exactly one of input\.synthetic, input\.coco/);
    }
    expect(await t.db.prisma.dataset.count({ where: { name: { in: ['none', 'both'] } } })).toBe(0);
  });

  it('checks COCO paths and sizes, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-coco-'));
    const annotations = join(dir, 'captions.json');
    writeFileSync(annotations, JSON.stringify({ images: [], annotations: [] }));
    const missing = await t.gql(CREATE_DATASET, {
      input: { name: 'coco-missing', coco: { annotationsPath: join(dir, 'nope.json'), imagesDir: dir } },
    });
    expect(codes(missing)).toEqual(['BAD_USER_INPUT']);
    expect(missing.errors![0]!.extensions!.field).toBe('input.coco.annotationsPath');
    const notDir = await t.gql(CREATE_DATASET, {
      input: { name: 'coco-file', coco: { annotationsPath: annotations, imagesDir: annotations } },
    });
    expect(notDir.errors![0]!.extensions!.field).toBe('input.coco.imagesDir');
    const tooMany = await t.gql(CREATE_DATASET, { input: { name: 'too-many', synthetic: { images: 10_000_000 } } });
    expect(tooMany.errors![0]!.message).toMatch(/input\.synthetic\.images: must be between 1 and 20000 \(GLIMPSE_MAX_SYNTHETIC_IMAGES\)/);
    const ok = await t.gql(CREATE_DATASET, {
      input: { name: 'coco-ok', coco: { annotationsPath: annotations, imagesDir: dir, maxCaptions: 100 } },
    });
    expect(ok.data!.createDataset).toMatchObject({ kind: 'COCO', status: 'PENDING', annotationsPath: annotations, imagesDir: dir });
  });

  it('refuses a duplicate name with CONFLICT', async () => {
    await t.gql(CREATE_DATASET, { input: { name: 'dup', synthetic: { images: 5 } } });
    const again = await t.gql(CREATE_DATASET, { input: { name: 'dup', synthetic: { images: 5 } } });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(await t.db.prisma.dataset.count({ where: { name: 'dup' } })).toBe(1);
  });
});

describe('startTraining', () => {
  it('validates hyper-parameters with messages naming the field, writing nothing', async () => {
    const datasetId = await readyDataset('hp');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ epochs: 0 }, /input\.epochs: must be 1\.\.200, got 0/],
      [{ batchSize: 5000 }, /input\.batchSize/],
      [{ learningRate: -0.1 }, /input\.learningRate: must be > 1e-6/],
      [{ units: 2 }, /input\.units/],
      [{ maxLength: 1 }, /input\.maxLength/],
      [{ valFraction: 0.9 }, /input\.valFraction/],
    ];
    for (const [params, message] of cases) {
      const res = await t.gql(START, { input: { datasetId, ...params } });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(message);
    }
    expect(await t.db.prisma.trainingRun.count({ where: { datasetId } })).toBe(0);
  });

  it('NOT_FOUND for a missing dataset, CONFLICT for one not READY', async () => {
    const missing = await t.gql(START, { input: { datasetId: '00000000-0000-0000-0000-000000000000' } });
    expect(codes(missing)).toEqual(['NOT_FOUND']);
    const pending = await t.gql(CREATE_DATASET, { input: { name: 'pending', synthetic: { images: 5 } } });
    const conflict = await t.gql(START, { input: { datasetId: pending.data!.createDataset.id } });
    expect(codes(conflict)).toEqual(['CONFLICT']);
    expect(conflict.errors![0]!.message).toMatch(/PENDING/);
    expect(await t.db.prisma.trainingRun.count()).toBe(0);
  });

  it('creates the run with defaults filled in and enqueues its job', async () => {
    const datasetId = await readyDataset('start');
    const before = await t.queue.depth();
    const res = await t.gql(START, { input: { datasetId, epochs: 2, batchSize: 4, learningRate: 0.01 } });
    expect(res.errors).toBeUndefined();
    const run = res.data!.startTraining;
    expect(run).toMatchObject({
      status: 'QUEUED',
      config: { epochs: 2, batchSize: 4, learningRate: 0.01, units: 128, vocabSize: 5000, maxLength: null, seed: 42 },
    });
    expect((await t.queue.depth()).training).toBe(before.training + 1);
    const row = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.config).toMatchObject({ epochs: 2, batchSize: 4 });
  });

  it('validates the encoder (backbone URL or absolute path, layer, image size), naming the field, writing nothing', async () => {
    const datasetId = await readyDataset('encoder-bad');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ backbone: 'models/mobilenet/model.json' }, 'input.encoder.backbone', /http\(s\):\/\/ URL or an absolute path/],
      [{ backbone: './model.json' }, 'input.encoder.backbone', /absolute path/],
      [{ backbone: 'file:///srv/model.json' }, 'input.encoder.backbone', /absolute path/],
      [{ backbone: 'ftp://example.com/model.json' }, 'input.encoder.backbone', /absolute path/],
      [{ backbone: 'http://' }, 'input.encoder.backbone', /absolute path/],
      [{ backbone: '   ' }, 'input.encoder.backbone', /must not be empty/],
      [{ backbone: '/srv/model.json', backboneLayer: '' }, 'input.encoder.backboneLayer', /must not be empty/],
      [{ backbone: '/srv/model.json', backboneLayer: 'x'.repeat(201) }, 'input.encoder.backboneLayer', /at most 200/],
      [{ backbone: '/srv/model.json', imageSize: 8 }, 'input.encoder.imageSize', /must be 16\.\.1024/],
      [{ backbone: 'https://example.com/m/model.json', imageSize: 2048 }, 'input.encoder.imageSize', /must be 16\.\.1024/],
      [{ backboneLayer: 'conv' }, 'input.encoder.backboneLayer', /needs input\.encoder\.backbone/],
      [{ imageSize: 224 }, 'input.encoder.imageSize', /the CNN needs gridSize 8 × a power of two \(e\.g\. 64\), got 224/],
      [{ imageSize: 128, channels: [8, 16] }, 'input.encoder.channels', /takes 4 pooling stages: give at least 4 channel entries, got 2/],
    ];
    for (const [encoder, field, message] of cases) {
      const res = await t.gql(START, { input: { datasetId, encoder } });
      expect(codes(res), JSON.stringify(encoder)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.extensions!.field).toBe(field);
      expect(res.errors![0]!.message).toMatch(message);
    }
    expect(await t.db.prisma.trainingRun.count({ where: { datasetId } })).toBe(0);
  });

  it("stores the decided encoder in the run config and returns it (224 px with a backbone; the CNN at the data's size, 128 px when unknown)", async () => {
    const datasetId = await readyDataset('encoder-ok');
    const START_ENCODER = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id config { backbone backboneLayer imageSize } } }`;
    const url = 'https://storage.example.com/tfjs/mobilenet_v2/model.json';
    const cases: [Record<string, unknown> | undefined, Record<string, unknown>][] = [
      [
        { backbone: url, backboneLayer: ' out_relu ' },
        { backbone: url, backboneLayer: 'out_relu', imageSize: 224 },
      ],
      [
        { backbone: '/srv/models/inception/model.json', imageSize: 299 },
        { backbone: '/srv/models/inception/model.json', backboneLayer: null, imageSize: 299 },
      ],
      [{ imageSize: 64 }, { backbone: null, backboneLayer: null, imageSize: 64 }],
      [{}, { backbone: null, backboneLayer: null, imageSize: 128 }],
      [undefined, { backbone: null, backboneLayer: null, imageSize: 128 }],
    ];
    for (const [encoder, expected] of cases) {
      const res = await t.gql(START_ENCODER, { input: { datasetId, ...(encoder ? { encoder } : {}) } });
      expect(res.errors, JSON.stringify(encoder)).toBeUndefined();
      expect(res.data!.startTraining.config).toEqual(expected);
      const row = await t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: res.data!.startTraining.id } });
      // every decided setting is stored; a backbone's keys only when there is one
      const stored = row.config as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) {
        if (value === null) expect(stored, key).not.toHaveProperty(key);
        else expect(stored[key]).toBe(value);
      }
      expect(stored).toMatchObject({ units: 128, embeddingDim: 64, encoderDim: 64, gridSize: 8 });
    }
    const queried = await t.gql(`{ trainingRuns(first: 100) { edges { node { datasetId config { backbone imageSize } } } } }`);
    const mine = queried.data!.trainingRuns.edges.filter((e: { node: { datasetId: string } }) => e.node.datasetId === datasetId);
    expect(mine.map((e: { node: { config: unknown } }) => e.node.config)).toContainEqual({ backbone: url, imageSize: 224 });
  });
});

describe('a first run with only datasetId (issue 12)', () => {
  it('gets the defaults for the demo set: small sizes at its 64 px, deep output, cosine decay, 5 epochs, totalSteps at once', async () => {
    const datasetId = await readyDataset('demo-shaped');
    // as the worker records the demo set (DEMO_DATASET: 4,000 images of 64 px, 5 captions each)
    await t.db.prisma.dataset.update({
      where: { id: datasetId },
      data: {
        imageCount: DEMO_DATASET.images,
        captionCount: DEMO_DATASET.images * 5,
        imageSide: 64,
        vocabularyWords: 28,
        maxCaptionTokens: 20,
      },
    });
    const res = await t.gql(
      `mutation($input: StartTrainingInput!) { startTraining(input: $input) {
        totalSteps config { epochs batchSize learningRate learningRateEnd deepOutput contextDropout units embeddingDim encoderDim imageSize channels gridSize } } }`,
      { input: { datasetId } },
    );
    expect(res.errors).toBeUndefined();
    const { config, totalSteps } = res.data!.startTraining;
    expect(config).toEqual({
      epochs: 9,
      batchSize: 32,
      learningRate: 0.003,
      learningRateEnd: 0.05,
      deepOutput: true,
      contextDropout: 0.25,
      units: 128,
      embeddingDim: 64,
      encoderDim: 64,
      imageSize: 64,
      channels: [16, 32, 64],
      gridSize: 8,
    });
    // 90 % of 20,000 captions in batches of 32, 9 times (the split is by image: about 18,000 captions)
    expect(totalSteps).toBeGreaterThan(9 * 550);
    expect(totalSteps).toBeLessThan(9 * 575);
  });
});

describe('cancelTraining / resumeTraining', () => {
  it('cancels a QUEUED run at once, flags a RUNNING one, refuses a finished one', async () => {
    const datasetId = await readyDataset('cancel');
    const start = async () => (await t.gql(START, { input: { datasetId } })).data!.startTraining.id as string;
    const CANCEL = `mutation($id: ID!) { cancelTraining(id: $id) { id status cancelRequested finishedAt } }`;

    const queued = await start();
    const cancelled = await t.gql(CANCEL, { id: queued });
    expect(cancelled.data!.cancelTraining).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
    expect(cancelled.data!.cancelTraining.finishedAt).not.toBeNull();

    const running = await start();
    await t.db.prisma.trainingRun.update({ where: { id: running }, data: { status: 'RUNNING' } });
    const flagged = await t.gql(CANCEL, { id: running });
    expect(flagged.data!.cancelTraining).toMatchObject({ status: 'RUNNING', cancelRequested: true });

    const again = await t.gql(CANCEL, { id: queued });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(codes(await t.gql(CANCEL, { id: 'no-such-run' }))).toEqual(['NOT_FOUND']);
  });

  it('re-queues a FAILED run and enqueues it again; refuses a QUEUED one', async () => {
    const datasetId = await readyDataset('resume');
    const id = (await t.gql(START, { input: { datasetId } })).data!.startTraining.id as string;
    const RESUME = `mutation($id: ID!) { resumeTraining(id: $id) { id status error } }`;
    expect(codes(await t.gql(RESUME, { id }))).toEqual(['CONFLICT']);
    await t.db.prisma.trainingRun.update({ where: { id }, data: { status: 'FAILED', error: 'worker lost', finishedAt: new Date() } });
    const depth = (await t.queue.depth()).training;
    const resumed = await t.gql(RESUME, { id });
    expect(resumed.data!.resumeTraining).toEqual({ id, status: 'QUEUED', error: null });
    expect((await t.queue.depth()).training).toBe(depth + 1);
  });
});

describe('queries', () => {
  it('pages through training runs newest first with cursors', async () => {
    const datasetId = await readyDataset('pages');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.gql(START, { input: { datasetId, seed: i } })).data!.startTraining.id);
    const PAGE = `query($after: String) { trainingRuns(first: 2, after: $after, status: QUEUED) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: any = await t.gql(PAGE, { after });
      const page = res.data.trainingRuns;
      seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const queued = await t.db.prisma.trainingRun.findMany({
      where: { status: 'QUEUED' },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    expect(seen).toEqual(queued.map((r) => r.id));
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(pages).toBe(Math.ceil(queued.length / 2));
    expect(codes(await t.gql(PAGE, { after: 'garbage' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('returns a run with its loss curve, downsampled on request', async () => {
    const datasetId = await readyDataset('curve');
    const runId = (await t.gql(START, { input: { datasetId } })).data!.startTraining.id as string;
    const points = Array.from({ length: 100 }, (_, i) => ({
      runId,
      step: i + 1,
      epoch: 1 + Math.floor(i / 50),
      batch: (i % 50) + 1,
      loss: 5 - i * 0.03,
      examplesPerSec: 10 + i,
    }));
    await t.db.prisma.lossPoint.createMany({ data: points });
    await t.db.prisma.epochSummary.create({ data: { runId, epoch: 1, step: 50, trainLoss: 4.2, valLoss: 4.5, bleu4: 0.1 } });
    const Q = `query($id: ID!, $since: Int!, $max: Int!) { trainingRun(id: $id) { status dataset { id } epochs { epoch valLoss bleu4 } model { id }
      lossCurve(sinceStep: $since, maxPoints: $max) { step epoch batch loss examplesPerSec } } }`;
    const full = (await t.gql(Q, { id: runId, since: 90, max: 1000 })).data!.trainingRun;
    expect(full.lossCurve.map((p: { step: number }) => p.step)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    expect(full).toMatchObject({
      status: 'QUEUED',
      dataset: { id: datasetId },
      epochs: [{ epoch: 1, valLoss: 4.5, bleu4: 0.1 }],
      model: null,
    });

    // downsampled: real batches (min/max decimation, test/api/loss-curve.test.ts), the first and last among them
    const down = (await t.gql(Q, { id: runId, since: 0, max: 10 })).data!.trainingRun.lossCurve as { step: number }[];
    expect(down.length).toBeGreaterThan(2);
    expect(down.length).toBeLessThanOrEqual(10);
    expect(down[0]!.step).toBe(1);
    expect(down.at(-1)!.step).toBe(100);
    for (const p of down) {
      const { runId: _, ...stored } = points[p.step - 1]!;
      expect(p).toEqual(stored);
    }
    expect(codes(await t.gql(Q, { id: runId, since: 0, max: 0 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(Q, { id: 'missing', since: 0, max: 5 }))).toEqual(['NOT_FOUND']);
  });

  it('reports live workers and queue depth in serverInfo', async () => {
    await t.db.prisma.worker.createMany({
      data: [
        { id: 'w-live', hostname: 'h', pid: 1, backend: 'wasm', threads: 2 },
        { id: 'w-dead', hostname: 'h', pid: 2, backend: 'cpu', threads: 1, lastSeenAt: new Date(Date.now() - 3_600_000) },
      ],
    });
    const res = await t.gql(`{ serverInfo { version backend workers queueDepth queue { training caption } liveWorkers { id threads } } }`);
    const info = res.data!.serverInfo;
    const depth = await t.queue.depth();
    expect(info).toMatchObject({ version: '0.1.0', backend: 'wasm', workers: 1, liveWorkers: [{ id: 'w-live', threads: 2 }] });
    expect(info.queueDepth).toBe(depth.training + depth.caption);
  });

  it('masks internal errors for the client and logs them with the same request id', async () => {
    const logged: { requestId: string; error: unknown }[] = [];
    const own = await startTestApi({}, { logInternalError: ({ requestId }, error) => logged.push({ requestId, error }) });
    try {
      // a real fault: the table the resolver reads is gone
      await own.db.prisma.$executeRawUnsafe('ALTER TABLE "Worker" RENAME TO "WorkerGone"');
      const res = await own.gql(`{ serverInfo { workers } }`);
      expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
      const requestId = res.errors![0]!.extensions!.requestId;
      expect(res.errors![0]!.message).toBe(`Internal server error (request id ${requestId})`);
      expect(JSON.stringify(res)).not.toMatch(/Worker/);
      expect(logged).toHaveLength(1);
      expect(logged[0]!.requestId).toBe(requestId);
      expect(String(logged[0]!.error)).toMatch(/Worker/);
    } finally {
      await own.close();
    }
  });
});
