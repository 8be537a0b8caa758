// createDataset(input: { name, archive }) over real HTTP multipart: a good zip becomes a stored set
// that a worker indexes from the artifact store and trains on (from its cache, refilled from the
// store), and that deleteDataset removes with its blob; every kind of bad archive is BAD_USER_INPUT
// with the reason and stores nothing (rows and blobs counted); an upload over
// GLIMPSE_MAX_DATASET_UPLOAD_BYTES is refused while it streams.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiWithWorker, type ApiWithWorker } from '../e2e/shared.ts';
import { until } from '../helpers/until.ts';
import { buildZip, captionsJson, goodSet, lieAboutFirstSize } from './dataset-upload-fixture.ts';
import { codes, startTestApi, type GraphQLResponse, type TestApi } from './harness.ts';

const LIMIT = 256 * 1024;
let stack: ApiWithWorker;
beforeAll(async () => {
  stack = await startApiWithWorker({ GLIMPSE_MAX_DATASET_UPLOAD_BYTES: String(LIMIT) });
});
afterAll(() => stack?.close());

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id name kind status imageCount captionCount annotationsPath imagesDir } }`;

async function upload(
  name: string,
  zip: Buffer,
  extra: Record<string, unknown> = {},
  api: TestApi = stack.t,
  key?: string,
): Promise<GraphQLResponse> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: CREATE, variables: { input: { name, archive: null, ...extra } } }));
  form.set('map', JSON.stringify({ 0: ['variables.input.archive'] }));
  form.set('0', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), 'set.zip');
  const headers: Record<string, string> = { 'apollo-require-preflight': 'true', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const res = await fetch(api.api.url, { method: 'POST', body: form, headers });
  return (await res.json()) as GraphQLResponse;
}

async function stored() {
  const p = stack.t.db.prisma;
  return { datasets: await p.dataset.count(), blobs: await p.blob.count(), chunks: await p.blobChunk.count() };
}

describe('createDataset with an archive', { timeout: 300_000 }, () => {
  it('stores a good zip, a worker indexes it from the store, and a run trains on it', async () => {
    const { t, dataDir } = stack;
    const set = await goodSet(12);
    const before = await stored();
    const res = await upload('uploaded', buildZip(set.entries));
    expect(res.errors).toBeUndefined();
    const created = res.data!.createDataset;
    expect(created).toMatchObject({ name: 'uploaded', kind: 'COCO', status: 'PENDING', imageCount: 12, captionCount: 24 });
    expect(created.annotationsPath).toBeNull();
    const after = await stored();
    expect(after.blobs).toBe(before.blobs + 1);

    const ready = await until(
      () => t.db.prisma.dataset.findUniqueOrThrow({ where: { id: created.id } }),
      (d) => d.status !== 'PENDING',
      60_000,
    );
    expect(ready).toMatchObject({ status: 'READY', imageCount: 12, captionCount: 24, annotationsPath: null, imagesDir: null });
    expect(ready.blobId).toMatch(/^[0-9a-f]{64}$/);
    // words: a, square, that, is, red, green, blue; "<start> a square that is red <end>"
    expect(ready).toMatchObject({ vocabularyWords: 7, maxCaptionTokens: 7, imageSide: 32 });

    // this worker's cache is only a cache: training refills it from the store
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    const started = await t.gql(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`, {
      input: {
        datasetId: created.id,
        epochs: 1,
        batchSize: 8,
        units: 32,
        embeddingDim: 16,
        vocabSize: 50,
        seed: 3,
        checkpointEvery: 0,
        encoder: { imageSize: 32, channels: [8, 16] },
      },
    });
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;
    const run = await until(
      () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } }),
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      240_000,
    );
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');

    // deletes go through the store: the model (it outlives its run) and the run, then the set, with their blobs
    const { id: modelId } = await t.db.prisma.model.findUniqueOrThrow({ where: { runId } });
    for (const [mutation, id] of [
      ['deleteModel', modelId],
      ['deleteTrainingRun', runId],
      ['deleteDataset', created.id],
    ]) {
      expect((await t.gql(`mutation($id: ID!) { ${mutation}(id: $id) }`, { id })).errors).toBeUndefined();
    }
    expect(await stored()).toEqual(before);
  });

  it('refuses each kind of bad archive with the reason, storing nothing', async () => {
    const set = await goodSet(2);
    const [json, png0, png1] = set.entries as [(typeof set.entries)[0], (typeof set.entries)[0], (typeof set.entries)[0]];
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: 'red' } })
      .png()
      .toBuffer();
    const bomb = buildZip([
      { name: 'captions.json', data: Buffer.concat([captionsJson(['images/img0.png']), Buffer.alloc(2 * 1024 * 1024, 0x20)]) },
      png0,
    ]);
    const cases: [string, Buffer, RegExp][] = [
      ['not a zip', randomBytes(2000), /not a zip archive/],
      [
        'zip-slip ..',
        buildZip([json, png0, png1, { name: '../evil.png', data: png }]),
        /unsafe entry name \(zip-slip\): invalid relative path: \.\.\/evil\.png/,
      ],
      [
        'absolute path',
        buildZip([json, png0, png1, { name: '/etc/evil.png', data: png }]),
        /unsafe entry name \(zip-slip\): absolute path: \/etc\/evil\.png/,
      ],
      [
        'backslash',
        buildZip([json, png0, png1, { name: 'images\\evil.png', data: png }]),
        /unsafe entry name \(zip-slip\): invalid characters in fileName/,
      ],
      [
        'drive letter',
        buildZip([json, png0, png1, { name: 'C:/evil.png', data: png }]),
        /unsafe entry name \(zip-slip\): absolute path: C:\/evil\.png/,
      ],
      ['no JSON', buildZip([png0, png1]), /no captions JSON/],
      ['two JSON', buildZip([json, { ...json, name: 'other.json' }, png0, png1]), /more than one \.json file/],
      ['bad JSON', buildZip([{ name: 'captions.json', data: Buffer.from('{"images": [') }, png0]), /"captions.json" is not valid JSON/],
      [
        'not COCO',
        buildZip([{ name: 'captions.json', data: Buffer.from('{"pictures": []}') }, png0]),
        /not in COCO captions format: missing "images" array/,
      ],
      [
        'file_name outside',
        buildZip([{ name: 'captions.json', data: captionsJson(['../x.png']) }, png0]),
        /file_name "\.\.\/x\.png" points outside the archive/,
      ],
      ['missing image', buildZip([json, png0]), /1 image\(s\) captioned in "captions.json" are not in the archive: "img1\.png"/],
      [
        'not an image',
        buildZip([json, png0, { name: 'images/img1.png', data: Buffer.from('just text, not a PNG') }]),
        /"images\/img1\.png" is not a JPEG or PNG image/,
      ],
      [
        'truncated PNG',
        buildZip([json, png0, { name: 'images/img1.png', data: png.subarray(0, 60) }]),
        /"images\/img1\.png" is not a (decodable PNG|JPEG or PNG) image/,
      ],
      ['zip bomb', bomb, /the archive unpacks to more than 1048576 bytes/],
      ['lying sizes', lieAboutFirstSize(bomb, 100), /"captions.json" cannot be unpacked: too many bytes/],
    ];
    const before = await stored();
    for (const [name, zip, reason] of cases) {
      expect(zip.length, name).toBeLessThan(LIMIT);
      const res = await upload(`bad-${name}`, zip);
      expect(codes(res), name).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.extensions!.field, name).toBe('input.archive');
      expect(res.errors![0]!.message, name).toMatch(reason);
      expect(await stored(), name).toEqual(before);
    }
  });

  it('refuses an upload over GLIMPSE_MAX_DATASET_UPLOAD_BYTES, and more than one source', async () => {
    const before = await stored();
    const big = await upload('too-big', randomBytes(LIMIT + 1));
    expect(codes(big)).toEqual(['BAD_USER_INPUT']);
    expect(big.errors![0]!.message).toBe(
      `input.archive: the archive exceeds the limit of ${LIMIT} bytes (GLIMPSE_MAX_DATASET_UPLOAD_BYTES)`,
    );

    const set = await goodSet(1);
    const both = await upload('both', buildZip(set.entries), { synthetic: { images: 5 } });
    expect(codes(both)).toEqual(['BAD_USER_INPUT']);
    expect(both.errors![0]!.message).toMatch(/exactly one of input\.synthetic, input\.coco, input\.archive must be given \(got 2\)/);
    expect(await stored()).toEqual(before);
  });
});

describe('createDataset with an archive when API keys are set', { timeout: 60_000 }, () => {
  it("takes key holders' zips past the image limit; a caller without a key is UNAUTHENTICATED and nothing is stored", async () => {
    // keyless multipart files are cut at the image limit (1 KiB here); the zip is larger
    const keyed = await startTestApi({
      GLIMPSE_API_KEYS: 'k1',
      GLIMPSE_MAX_IMAGE_BYTES: '1024',
      GLIMPSE_MAX_DATASET_UPLOAD_BYTES: String(LIMIT),
    });
    try {
      const zip = buildZip((await goodSet(4)).entries);
      expect(zip.length).toBeGreaterThan(1024);
      const anonymous = await upload('anonymous', zip, {}, keyed);
      expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
      expect(await keyed.db.prisma.blob.count()).toBe(0);
      const holder = await upload('holder', zip, {}, keyed, 'k1');
      expect(holder.errors).toBeUndefined();
      expect(holder.data!.createDataset).toMatchObject({ status: 'PENDING', imageCount: 4, captionCount: 8 });
      expect(await keyed.db.prisma.blob.count()).toBe(1);
    } finally {
      await keyed.close();
    }
  });
});
