// The jobs' side of the artifact store on a real Postgres: a resume opens the latest checkpoint it
// can (a corrupt one is logged and the previous one used), checkpoints beyond the latest 2 are pruned
// with their blobs in the transaction that records a new one, abandoned uploads are swept; a run's model
// belongs to the API key that started the run.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { KEEP_CHECKPOINTS, openLatestCheckpoint, recordCheckpoint, uploadCheckpoint } from '../../src/jobs/checkpoints.ts';
import { recordModel, uploadModel } from '../../src/jobs/artifacts.ts';
import type { JobHelpers } from '../../src/jobs/helpers.ts';
import { BackboneFiles, uploadBackbone } from '../../src/storage/backbone-blob.ts';
import { putBlob, sweepPendingBlobs } from '../../src/storage/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let dir: string;
let helpers: JobHelpers;
const errors: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'glimpse-artifacts-'));
  const log = { info: () => {}, error: (message: string, error?: unknown) => void errors.push(`${message}: ${String(error)}`) };
  helpers = { config: loadConfig({ GLIMPSE_DATA_DIR: join(dir, 'data') }), prisma: db.prisma, log } as unknown as JobHelpers;
});
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function checkpointFolder(step: number): Promise<string> {
  const folder = join(dir, 'written', `step-${step}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'state.json'), JSON.stringify({ step }));
  return folder;
}

describe('checkpoints in the store', () => {
  it('keeps the latest 2, resumes from the latest readable one', async () => {
    const dataset = await db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
    for (const step of [10, 20, 30, 40]) {
      const uploaded = await uploadCheckpoint(db.prisma, { step, epoch: 1, path: await checkpointFolder(step) });
      await db.prisma.$transaction((tx) => recordCheckpoint(tx, run.id, uploaded));
    }
    const kept = await db.prisma.checkpoint.findMany({ where: { runId: run.id }, orderBy: { step: 'asc' } });
    expect(kept.map((c) => c.step)).toEqual([30, 40]);
    expect(KEEP_CHECKPOINTS).toBe(2);
    // the pruned checkpoints' blobs are gone with them
    expect(await db.prisma.blob.count()).toBe(2);

    const latest = await openLatestCheckpoint(helpers, run.id);
    expect(latest!.checkpoint.step).toBe(40);
    expect(JSON.parse(await readFile(join(latest!.folder.dir, 'state.json'), 'utf8'))).toEqual({ step: 40 });
    latest!.folder.release();

    // a byte flipped in the latest one: logged, and the one before is used (nothing of the corrupt one cached)
    await db.prisma
      .$executeRaw`UPDATE "BlobChunk" SET "bytes" = set_byte("bytes", 0, get_byte("bytes", 0) # 1) WHERE "blobId" = ${kept[1]!.blobId}`;
    await rm(helpers.config.paths.cache, { recursive: true, force: true });
    const fallback = await openLatestCheckpoint(helpers, run.id);
    expect(fallback!.checkpoint.step).toBe(30);
    fallback!.folder.release();
    expect(errors.join('\n')).toMatch(new RegExp(`checkpoint at step 40 cannot be used.*blob ${kept[1]!.blobId} is corrupt`));
  });

  it('sweeps uploads never committed, after their grace period', async () => {
    async function* bytes() {
      yield Buffer.from('half a checkpoint');
    }
    const pending = await putBlob(db.prisma, bytes());
    expect(await sweepPendingBlobs(db.prisma, 3600)).toBe(0);
    await db.prisma.$executeRaw`UPDATE "Blob" SET "createdAt" = "createdAt" - interval '2 hours' WHERE "id" = ${pending.pendingId}`;
    expect(await sweepPendingBlobs(db.prisma, 3600)).toBe(1);
    expect(await db.prisma.blobChunk.count({ where: { blobId: pending.pendingId } })).toBe(0);
  });

  it("records a run's model as the API key's that started the run", async () => {
    const dataset = await db.prisma.dataset.create({ data: { name: 'owned', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {}, createdByKey: 'ci' } });
    const pending = await uploadModel(db.prisma, await checkpointFolder(50));
    await db.prisma.$transaction((tx) => recordModel(tx, run.id, pending, { name: 'm', vocabSize: 10, config: {}, metrics: {} }));
    expect((await db.prisma.model.findUniqueOrThrow({ where: { runId: run.id } })).createdByKey).toBe('ci');
  });

  it('stores a backbone with the model, shared by models on it, and collects a replaced one that no model uses', async () => {
    const dataset = await db.prisma.dataset.create({ data: { name: 'bb', kind: 'SYNTHETIC', status: 'READY' } });
    const backbone = (weights: number[]) => {
      const files = new BackboneFiles();
      files.onFile(null, new TextEncoder().encode('{"weightsManifest":[{"paths":["w.bin"]}]}').buffer as ArrayBuffer);
      files.onFile('w.bin', new Float32Array(weights).buffer);
      return uploadBackbone(db.prisma, files, dir);
    };
    const record = async (runId: string, weights: number[]) => {
      const pending = await uploadModel(db.prisma, await checkpointFolder(60));
      const pendingBackbone = await backbone(weights);
      await db.prisma.$transaction((tx) =>
        recordModel(tx, runId, pending, { name: 'm', vocabSize: 10, config: {}, metrics: {} }, pendingBackbone),
      );
      return (await db.prisma.model.findUniqueOrThrow({ where: { runId } })).backboneBlobId!;
    };
    const [a, b] = [
      await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } }),
      await db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } }),
    ];
    const first = await record(a.id, [1, 2]);
    expect(await record(b.id, [1, 2])).toBe(first);
    // run a's model recorded again on another backbone: the first stays (run b's model uses it) …
    const second = await record(a.id, [3, 4]);
    expect(second).not.toBe(first);
    expect(await db.prisma.blob.count({ where: { id: first } })).toBe(1);
    // … and once run b's model moves too, nothing references it: collected
    await record(b.id, [3, 4]);
    expect(await db.prisma.blob.count({ where: { id: first } })).toBe(0);
    expect(await db.prisma.blob.count({ where: { id: second } })).toBe(1);
    // a weight file that is no plain name beside model.json: nothing stored
    const outside = new BackboneFiles();
    outside.onFile(null, new ArrayBuffer(2));
    outside.onFile('../w.bin', new ArrayBuffer(4));
    expect(await uploadBackbone(db.prisma, outside, dir)).toBeNull();
  });
});
