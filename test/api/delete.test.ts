// deleteTrainingRun / deleteModel / deleteDataset over real HTTP on a real database, with real
// folders under a temporary GLIMPSE_DATA_DIR: rows and cascaded rows gone, folders gone after the
// commit, kept models detached, COCO files never touched, CONFLICT / NOT_FOUND / UNAUTHENTICATED.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../../src/log.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isInside } from '../../src/resolvers/shared/deletion.ts';
import { until } from '../helpers/until.ts';
import { codes, startTestApi, type TestApi } from './harness.ts';

const KEY = 'delete-key';
let t: TestApi;
let dataDir: string;
let outside: string;
const paths = () => ({ datasets: join(dataDir, 'datasets'), checkpoints: join(dataDir, 'checkpoints'), models: join(dataDir, 'models') });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'glimpse-delete-data-'));
  outside = mkdtempSync(join(tmpdir(), 'glimpse-delete-user-'));
  t = await startTestApi({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_API_KEYS: KEY });
});
afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const DELETE_RUN = `mutation($id: ID!) { deleteTrainingRun(id: $id) }`;
const DELETE_MODEL = `mutation($id: ID!) { deleteModel(id: $id) }`;
const DELETE_DATASET = `mutation($id: ID!) { deleteDataset(id: $id) }`;
const gql = (query: string, id: string) => t.gql(query, { id }, KEY);

/** a folder with one file in it; returns the file */
function folderWithFile(dir: string, name = 'data.bin'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, 'x');
  return file;
}

async function dataset(
  kind: 'SYNTHETIC' | 'COCO' = 'SYNTHETIC',
  status: 'PENDING' | 'READY' | 'FAILED' = 'READY',
  id: string = randomUUID(),
) {
  return t.db.prisma.dataset.create({ data: { id, name: `ds-${id}`, kind, status } });
}

async function run(datasetId: string, status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED', id: string = randomUUID()) {
  return t.db.prisma.trainingRun.create({ data: { id, datasetId, status, config: { epochs: 1 } } });
}

/** a run with history rows and a checkpoint folder */
async function runWithHistory(datasetId: string, status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'QUEUED' | 'RUNNING') {
  const row = await run(datasetId, status);
  const { prisma } = t.db;
  const ckptFile = folderWithFile(join(paths().checkpoints, row.id, 'step-2'), 'weights.bin');
  await prisma.lossPoint.createMany({
    data: [1, 2].map((step) => ({ runId: row.id, step, epoch: 1, batch: step, loss: 3 - step, examplesPerSec: 10 })),
  });
  await prisma.epochSummary.create({ data: { runId: row.id, epoch: 1, step: 2, trainLoss: 1, valLoss: 1.2, bleu4: 0.1 } });
  await prisma.checkpoint.create({ data: { runId: row.id, step: 2, epoch: 1, path: join(paths().checkpoints, row.id, 'step-2') } });
  return { run: row, ckptFile };
}

async function model(runId: string | null, path = join(paths().models, runId ?? randomUUID())) {
  const weights = folderWithFile(path, 'weights.bin');
  const row = await t.db.prisma.model.create({ data: { name: `model-${randomUUID()}`, runId, path, vocabSize: 10, config: {} } });
  return { model: row, weights };
}

async function caption(modelId: string, status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED') {
  const row = await t.db.prisma.captionRequest.create({ data: { modelId, imageHash: randomUUID(), status } });
  if (status === 'SUCCEEDED') {
    await t.db.prisma.captionToken.createMany({
      data: ['a', 'cat'].map((token, index) => ({ requestId: row.id, index, token, attention: [0.5, 0.5], logProb: -0.1 })),
    });
  }
  return row;
}

describe('isInside', () => {
  it('accepts only paths strictly below the root', () => {
    expect(isInside('/data/checkpoints', '/data/checkpoints/abc')).toBe(true);
    expect(isInside('/data/checkpoints', '/data/checkpoints/abc/def')).toBe(true);
    expect(isInside('/data/checkpoints', '/data/checkpoints/..abc')).toBe(true);
    expect(isInside('/data/checkpoints', '/data/checkpoints')).toBe(false);
    expect(isInside('/data/checkpoints', '/data/checkpoints/')).toBe(false);
    expect(isInside('/data/checkpoints', '/data/checkpoints/../models')).toBe(false);
    expect(isInside('/data/checkpoints', '/data/checkpoints-old/abc')).toBe(false);
    expect(isInside('/data/checkpoints', '/etc')).toBe(false);
  });
});

describe('deleteTrainingRun', () => {
  it('deletes a finished run, its history rows and checkpoint folder, and keeps its model detached', async () => {
    const ds = await dataset();
    const { run: r, ckptFile } = await runWithHistory(ds.id, 'SUCCEEDED');
    const { model: m, weights } = await model(r.id);
    const res = await gql(DELETE_RUN, r.id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteTrainingRun).toBe(r.id);

    const { prisma } = t.db;
    expect(await prisma.trainingRun.findUnique({ where: { id: r.id } })).toBeNull();
    expect(await prisma.lossPoint.count({ where: { runId: r.id } })).toBe(0);
    expect(await prisma.epochSummary.count({ where: { runId: r.id } })).toBe(0);
    expect(await prisma.checkpoint.count({ where: { runId: r.id } })).toBe(0);
    expect(existsSync(ckptFile)).toBe(false);
    expect(existsSync(join(paths().checkpoints, r.id))).toBe(false);
    expect(existsSync(paths().checkpoints)).toBe(true);
    // the model stays, with its files, and no longer points at the run
    expect((await prisma.model.findUniqueOrThrow({ where: { id: m.id } })).runId).toBeNull();
    expect(existsSync(weights)).toBe(true);
    const viaApi = await t.gql(`query($id: ID!) { model(id: $id) { id run { id } } }`, { id: m.id }, KEY); // reads need the key too when keys are set
    expect(viaApi.data!.model).toEqual({ id: m.id, run: null });
    // the dataset is untouched
    expect(await prisma.dataset.findUnique({ where: { id: ds.id } })).not.toBeNull();
    const gone = await t.gql(`query($id: ID!) { trainingRun(id: $id) { id } }`, { id: r.id }, KEY); // reads need the key too when keys are set
    expect(codes(gone)).toEqual(['NOT_FOUND']);
  });

  it('deletes FAILED and CANCELLED runs too, leaving other runs alone', async () => {
    const ds = await dataset();
    const keep = await runWithHistory(ds.id, 'SUCCEEDED');
    for (const status of ['FAILED', 'CANCELLED'] as const) {
      const { run: r, ckptFile } = await runWithHistory(ds.id, status);
      const res = await gql(DELETE_RUN, r.id);
      expect(res.errors, status).toBeUndefined();
      expect(await t.db.prisma.trainingRun.count({ where: { id: r.id } })).toBe(0);
      expect(existsSync(ckptFile)).toBe(false);
    }
    expect(await t.db.prisma.lossPoint.count({ where: { runId: keep.run.id } })).toBe(2);
    expect(existsSync(keep.ckptFile)).toBe(true);
  });

  it('refuses QUEUED and RUNNING runs with CONFLICT, deleting nothing', async () => {
    const ds = await dataset();
    for (const status of ['QUEUED', 'RUNNING'] as const) {
      const { run: r, ckptFile } = await runWithHistory(ds.id, status);
      const res = await gql(DELETE_RUN, r.id);
      expect(codes(res), status).toEqual(['CONFLICT']);
      expect(res.errors![0]!.message).toMatch(new RegExp(`${status}: cancel it first`));
      expect(res.errors![0]!.extensions).toMatchObject({ field: 'id', status });
      expect(await t.db.prisma.trainingRun.count({ where: { id: r.id } })).toBe(1);
      expect(await t.db.prisma.lossPoint.count({ where: { runId: r.id } })).toBe(2);
      expect(existsSync(ckptFile)).toBe(true);
    }
  });

  it('NOT_FOUND for an unknown id', async () => {
    const id = randomUUID();
    const res = await gql(DELETE_RUN, id);
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(res.errors![0]!.extensions).toMatchObject({ entity: 'TrainingRun', id });
  });

  it('refuses (and logs) a checkpoint folder outside the checkpoints root; the rows still go', async () => {
    const ds = await dataset();
    // an id that walks out of checkpoints/ into models/
    const victim = folderWithFile(join(paths().models, 'precious'), 'weights.bin');
    const r = await run(ds.id, 'FAILED', '../models/precious');
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      const res = await gql(DELETE_RUN, r.id);
      expect(res.errors).toBeUndefined();
      expect(warn.mock.calls.map((c) => `${String(c[1])} ${JSON.stringify(c[0])}`).join('\n')).toMatch(
        /refusing to delete a folder outside its data root/,
      );
    } finally {
      warn.mockRestore();
    }
    expect(await t.db.prisma.trainingRun.count({ where: { id: r.id } })).toBe(0);
    expect(existsSync(victim)).toBe(true);
  });
});

describe('deleteModel', () => {
  it('deletes the model, its caption requests and tokens, and its artifact folder; its run stays', async () => {
    const ds = await dataset();
    const { run: r, ckptFile } = await runWithHistory(ds.id, 'SUCCEEDED');
    const { model: m, weights } = await model(r.id);
    const other = await model(null);
    const done = await caption(m.id, 'SUCCEEDED');
    const failed = await caption(m.id, 'FAILED');
    const otherCaption = await caption(other.model.id, 'SUCCEEDED');
    expect(await t.db.prisma.captionToken.count({ where: { requestId: done.id } })).toBe(2);

    const res = await gql(DELETE_MODEL, m.id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteModel).toBe(m.id);
    const { prisma } = t.db;
    expect(await prisma.model.findUnique({ where: { id: m.id } })).toBeNull();
    expect(await prisma.captionRequest.count({ where: { id: { in: [done.id, failed.id] } } })).toBe(0);
    expect(await prisma.captionToken.count({ where: { requestId: done.id } })).toBe(0);
    expect(existsSync(weights)).toBe(false);
    expect(existsSync(m.path!)).toBe(false);
    // the run, the other model and its captions are untouched
    expect(await prisma.trainingRun.count({ where: { id: r.id } })).toBe(1);
    expect(existsSync(ckptFile)).toBe(true);
    expect(existsSync(other.weights)).toBe(true);
    expect(await prisma.captionToken.count({ where: { requestId: otherCaption.id } })).toBe(2);
    const viaRun = await t.gql(`query($id: ID!) { trainingRun(id: $id) { model { id } } }`, { id: r.id }, KEY); // reads need the key too when keys are set
    expect(viaRun.data!.trainingRun.model).toBeNull();
    // a later caption request on the deleted id is NOT_FOUND, as for any unknown model
    const request = await t.gql(
      `mutation($id: ID!) { requestCaption(input: { modelId: $id, imageBase64: "iVBORw0KGgo=" }) { id } }`,
      { id: m.id },
      KEY,
    );
    expect(codes(request)).toEqual(['NOT_FOUND']);
  });

  it('refuses with CONFLICT while caption requests are QUEUED or RUNNING, then deletes once they finish', async () => {
    const { model: m, weights } = await model(null);
    const finished = await caption(m.id, 'SUCCEEDED');
    for (const status of ['QUEUED', 'RUNNING'] as const) {
      const active = await caption(m.id, status);
      const res = await gql(DELETE_MODEL, m.id);
      expect(codes(res), status).toEqual(['CONFLICT']);
      expect(res.errors![0]!.message).toMatch(/1 queued or running caption request/);
      expect(res.errors![0]!.extensions).toMatchObject({ field: 'id', activeCaptionRequests: 1 });
      expect(await t.db.prisma.model.count({ where: { id: m.id } })).toBe(1);
      expect(await t.db.prisma.captionToken.count({ where: { requestId: finished.id } })).toBe(2);
      expect(existsSync(weights)).toBe(true);
      await t.db.prisma.captionRequest.update({ where: { id: active.id }, data: { status: 'FAILED' } });
    }
    const res = await gql(DELETE_MODEL, m.id);
    expect(res.errors).toBeUndefined();
    expect(await t.db.prisma.captionRequest.count({ where: { modelId: m.id } })).toBe(0);
    expect(existsSync(weights)).toBe(false);
  });

  it('NOT_FOUND for an unknown id', async () => {
    const res = await gql(DELETE_MODEL, randomUUID());
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(res.errors![0]!.extensions!.entity).toBe('Model');
  });

  it('leaves (and logs) an artifact folder outside the models root; the rows still go', async () => {
    const foreign = join(outside, 'foreign-model');
    const { model: m, weights } = await model(null, foreign);
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    try {
      const res = await gql(DELETE_MODEL, m.id);
      expect(res.errors).toBeUndefined();
      expect(warn.mock.calls.map((c) => `${String(c[1])} ${JSON.stringify(c[0])}`).join('\n')).toMatch(
        /refusing to delete a folder outside its data root.*foreign-model/,
      );
    } finally {
      warn.mockRestore();
    }
    expect(await t.db.prisma.model.count({ where: { id: m.id } })).toBe(0);
    expect(existsSync(weights)).toBe(true);
  });
});

describe('requestCaption racing deleteModel', () => {
  it('gets NOT_FOUND when the model is deleted while the request is being stored', async () => {
    const { model: m } = await model(null);
    // a deleteModel-like transaction holds the row locked, deleted but not yet committed
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let locked!: (backendPid: number) => void;
    const isLocked = new Promise<number>((resolve) => (locked = resolve));
    const deleting = t.db.prisma.$transaction(
      async (tx) => {
        const [{ pid }] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        await tx.$queryRaw`SELECT "id" FROM "Model" WHERE "id" = ${m.id} FOR UPDATE`;
        await tx.model.delete({ where: { id: m.id } });
        locked(pid);
        await held;
      },
      { timeout: 60_000 },
    );
    const deleter = await isLocked;
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC', 'base64');
    const request = t.gql(
      `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`,
      { input: { modelId: m.id, imageBase64: png.toString('base64') } },
      KEY,
    );
    // it passes the lookup (the delete is uncommitted) and waits on the row lock: a backend blocked by the
    // deleting transaction is the proof that the request reached the lock before the delete commits
    await until(
      async () =>
        (
          await t.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${deleter}::int = ANY(pg_blocking_pids(pid))`
        )[0]!.n,
      (n) => n === 1,
      30_000,
      20,
    );
    commit();
    await deleting;
    const res = await request;
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(await t.db.prisma.captionRequest.count({ where: { modelId: m.id } })).toBe(0);
  });
});

describe('deleteDataset', () => {
  it("deletes a synthetic dataset and its generated folder, and no one else's", async () => {
    const ds = await dataset('SYNTHETIC', 'READY');
    const image = folderWithFile(join(paths().datasets, ds.id, 'images'), '0.png');
    const features = folderWithFile(join(paths().datasets, ds.id, 'features'), 'cache.bin');
    const neighbour = await dataset('SYNTHETIC', 'READY');
    const neighbourFile = folderWithFile(join(paths().datasets, neighbour.id), 'captions.json');

    const res = await gql(DELETE_DATASET, ds.id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteDataset).toBe(ds.id);
    expect(await t.db.prisma.dataset.findUnique({ where: { id: ds.id } })).toBeNull();
    expect(existsSync(image)).toBe(false);
    expect(existsSync(features)).toBe(false);
    expect(existsSync(join(paths().datasets, ds.id))).toBe(false);
    expect(existsSync(neighbourFile)).toBe(true);
    expect(await t.db.prisma.dataset.count({ where: { id: neighbour.id } })).toBe(1);
  });

  it('deletes a FAILED synthetic dataset', async () => {
    const ds = await dataset('SYNTHETIC', 'FAILED');
    const partial = folderWithFile(join(paths().datasets, ds.id), '0.png');
    expect((await gql(DELETE_DATASET, ds.id)).errors).toBeUndefined();
    expect(existsSync(partial)).toBe(false);
  });

  it("never touches a COCO dataset's files, wherever they are", async () => {
    // the user's files outside the data dir …
    const external = await t.db.prisma.dataset.create({
      data: {
        name: `coco-${randomUUID()}`,
        kind: 'COCO',
        status: 'READY',
        annotationsPath: folderWithFile(join(outside, 'coco'), 'captions.json'),
        imagesDir: join(outside, 'coco'),
      },
    });
    const externalImage = folderWithFile(join(outside, 'coco'), '0001.jpg');
    // … and even at paths that happen to sit where a synthetic set of that id would be generated
    const id = randomUUID();
    const insideDir = join(paths().datasets, id);
    const insideAnnotations = folderWithFile(insideDir, 'captions.json');
    const insideImage = folderWithFile(join(insideDir, 'images'), '0001.jpg');
    await t.db.prisma.dataset.create({
      data: {
        id,
        name: `coco-${id}`,
        kind: 'COCO',
        status: 'FAILED',
        annotationsPath: insideAnnotations,
        imagesDir: join(insideDir, 'images'),
      },
    });

    for (const datasetId of [external.id, id]) {
      const res = await gql(DELETE_DATASET, datasetId);
      expect(res.errors).toBeUndefined();
      expect(await t.db.prisma.dataset.count({ where: { id: datasetId } })).toBe(0);
    }
    for (const file of [external.annotationsPath!, externalImage, insideAnnotations, insideImage])
      expect(existsSync(file), file).toBe(true);
  });

  it("removes the feature cache Glimpse wrote for a COCO dataset, not the user's files", async () => {
    const coco = await t.db.prisma.dataset.create({
      data: {
        name: `coco-${randomUUID()}`,
        kind: 'COCO',
        status: 'READY',
        annotationsPath: folderWithFile(join(outside, 'coco2'), 'captions.json'),
        imagesDir: join(outside, 'coco2'),
      },
    });
    const cached = folderWithFile(join(paths().datasets, coco.id, 'features', 'abc123'), 'f00d.f32');
    expect((await gql(DELETE_DATASET, coco.id)).errors).toBeUndefined();
    expect(existsSync(cached)).toBe(false);
    expect(existsSync(join(paths().datasets, coco.id))).toBe(false); // the emptied folder too
    expect(existsSync(coco.annotationsPath!)).toBe(true);

    // user files that sit inside that features folder (however unlikely) keep it
    const id = randomUUID();
    const userImages = join(paths().datasets, id, 'features', 'images');
    const userImage = folderWithFile(userImages, '0001.jpg');
    await t.db.prisma.dataset.create({
      data: {
        id,
        name: `coco-${id}`,
        kind: 'COCO',
        status: 'READY',
        annotationsPath: folderWithFile(join(outside, 'coco3'), 'captions.json'),
        imagesDir: userImages,
      },
    });
    expect((await gql(DELETE_DATASET, id)).errors).toBeUndefined();
    expect(existsSync(userImage)).toBe(true);
  });

  it('refuses with CONFLICT while training runs use it, telling how many; works once they are deleted', async () => {
    const ds = await dataset('SYNTHETIC', 'READY');
    const generated = folderWithFile(join(paths().datasets, ds.id), 'captions.json');
    const runs = [await run(ds.id, 'SUCCEEDED'), await run(ds.id, 'FAILED')];
    const res = await gql(DELETE_DATASET, ds.id);
    expect(codes(res)).toEqual(['CONFLICT']);
    expect(res.errors![0]!.message).toMatch(/used by 2 training run\(s\): delete those runs first/);
    expect(res.errors![0]!.extensions).toMatchObject({ field: 'id', runCount: 2 });
    expect(await t.db.prisma.dataset.count({ where: { id: ds.id } })).toBe(1);
    expect(existsSync(generated)).toBe(true);

    for (const r of runs) expect((await gql(DELETE_RUN, r.id)).errors).toBeUndefined();
    expect((await gql(DELETE_DATASET, ds.id)).errors).toBeUndefined();
    expect(await t.db.prisma.dataset.count({ where: { id: ds.id } })).toBe(0);
    expect(existsSync(generated)).toBe(false);
  });

  it('deletes a PENDING dataset (the cancellation: its job stops; test/e2e/untrusted-sources.test.ts) with the files written so far', async () => {
    const ds = await dataset('SYNTHETIC', 'PENDING');
    const partial = folderWithFile(join(paths().datasets, ds.id), '0.png');
    const res = await gql(DELETE_DATASET, ds.id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteDataset).toBe(ds.id);
    expect(await t.db.prisma.dataset.count({ where: { id: ds.id } })).toBe(0);
    expect(existsSync(partial)).toBe(false);
  });

  it('NOT_FOUND for an unknown id', async () => {
    const res = await gql(DELETE_DATASET, randomUUID());
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(res.errors![0]!.extensions!.entity).toBe('Dataset');
  });
});

describe('API keys', () => {
  it('refuses all three without a key or with a wrong one, deleting nothing', async () => {
    const ds = await dataset('SYNTHETIC', 'READY');
    const generated = folderWithFile(join(paths().datasets, ds.id), 'captions.json');
    const { run: r, ckptFile } = await runWithHistory(ds.id, 'SUCCEEDED');
    const { model: m, weights } = await model(r.id);
    const attempts: [string, string][] = [
      [DELETE_RUN, r.id],
      [DELETE_MODEL, m.id],
      [DELETE_DATASET, ds.id],
    ];
    for (const [query, id] of attempts) {
      for (const token of [undefined, 'wrong-key']) {
        const res = await t.gql(query, { id }, token);
        expect(codes(res), `${query} with ${token ?? 'no key'}`).toEqual(['UNAUTHENTICATED']);
      }
    }
    expect(await t.db.prisma.trainingRun.count({ where: { id: r.id } })).toBe(1);
    expect(await t.db.prisma.model.count({ where: { id: m.id } })).toBe(1);
    expect(await t.db.prisma.dataset.count({ where: { id: ds.id } })).toBe(1);
    for (const file of [generated, ckptFile, weights]) expect(existsSync(file)).toBe(true);
  });
});
