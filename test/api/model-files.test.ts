// A model's files for the browser (src/server/model-files.ts): Model.webFiles names a content-hashed URL,
// GET serves model.json, its shards and vocabulary with immutable caching, the same auth as reads (a key
// when keys are set), nothing else of the folder, no server path. A backbone model's backbone (stored as its own
// blob, shared by the models on it) is served beside it under backbone/<hash>/, named by a relative URL in the
// served model.json; one saved before backbones were stored is not served, with the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneFiles, uploadBackbone } from '../../src/storage/backbone-blob.ts';
import { commitBlob, putDir } from '../../src/storage/index.ts';
import { startTestApi, type TestApi } from './harness.ts';

const KEY = 'files-key';
const CNN = { encoder: { kind: 'cnn', imageSize: 32, channels: [8, 16] }, gridSize: 8, vocabSize: 5 };
const BACKBONE_PATH = '/srv/backbones/mobilenet/model.json';
const BACKBONE = { encoder: { kind: 'pretrained', url: BACKBONE_PATH, layer: 'conv', imageSize: 224 }, gridSize: 7, vocabSize: 5 };

let t: TestApi;
let folder: string;
let backboneFolder: string;
const files: Record<string, Buffer> = {};
/** the backbone's files as the worker read them */
const backboneFiles: Record<string, Buffer> = {
  'model.json': Buffer.from(
    JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] }),
  ),
  'group1-shard1of1.bin': Buffer.from(new Float32Array([5, 6, 7]).buffer),
};

const modelJsonOf = (config: object) =>
  Buffer.from(
    JSON.stringify({
      format: 'glimpse-caption-model',
      generatedBy: 'glimpse',
      convertedBy: null,
      modelTopology: { architecture: 'glimpse/show-attend-tell', config, vocabulary: 'vocab.json' },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
    }),
  );

/** a Model row on a model folder; a backbone model with its backbone stored as the training job stores it */
async function storeModel(config: object, withBackbone = false): Promise<string> {
  const pending = await putDir(t.db.prisma, config === CNN ? folder : backboneFolder);
  let backbone = null;
  if (withBackbone) {
    const read = new BackboneFiles();
    for (const [name, body] of Object.entries(backboneFiles)) read.onFile(name === 'model.json' ? null : name, new Uint8Array(body).buffer);
    backbone = await uploadBackbone(t.db.prisma, read, os.tmpdir());
  }
  const ids = await t.db.prisma.$transaction(async (tx) => ({
    blobId: await commitBlob(tx, pending),
    backboneBlobId: backbone ? await commitBlob(tx, backbone) : null,
  }));
  const row = await t.db.prisma.model.create({ data: { name: 'm', vocabSize: 5, config, ...ids } });
  return row.id;
}

beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY });
  folder = await mkdtemp(path.join(os.tmpdir(), 'glimpse-model-files-'));
  files['model.json'] = modelJsonOf(CNN);
  files['vocab.json'] = Buffer.from(JSON.stringify({ words: ['<pad>', '<start>', '<end>', '<unk>', 'a'] }));
  files['weights.bin'] = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  for (const [name, body] of Object.entries(files)) await writeFile(path.join(folder, name), body);
  await writeFile(path.join(folder, 'metrics.json'), '{"bleu4": 0.1}');
  backboneFolder = await mkdtemp(path.join(os.tmpdir(), 'glimpse-model-files-backbone-'));
  for (const [name, body] of Object.entries({ ...files, 'model.json': modelJsonOf(BACKBONE) }))
    await writeFile(path.join(backboneFolder, name), body);
});
afterAll(async () => {
  await t?.close();
  await rm(folder, { recursive: true, force: true });
  await rm(backboneFolder, { recursive: true, force: true });
});

const webFiles = async (id: string) =>
  (
    await t.gql<{ model: { webFiles: { modelJson: string } | null } }>(
      'query($id: ID!) { model(id: $id) { webFiles { modelJson } } }',
      { id },
      KEY,
    )
  ).data?.model.webFiles;
const get = (urlPath: string, key?: string) =>
  fetch(new URL(urlPath, t.api.url), { headers: key ? { authorization: `Bearer ${key}` } : {} });

describe('model files for the browser', () => {
  it('serves model.json, weights and vocabulary at a content-hashed URL, immutable, with a key', async () => {
    const id = await storeModel(CNN);
    const modelJson = (await webFiles(id))?.modelJson;
    expect(modelJson).toMatch(new RegExp(`^/models/${id}/web/[0-9a-f]{16}/model\\.json$`));
    for (const name of ['model.json', 'vocab.json', 'weights.bin']) {
      const res = await get(modelJson!.replace(/model\.json$/, name), KEY);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(files[name]);
    }
    const text = await (await get(modelJson!, KEY)).text();
    expect(text).not.toMatch(/\/(srv|tmp|home|var)\/|127\.0\.0\.1|localhost/);
    // nothing else of the folder, no other hash, no way out of it
    expect((await get(modelJson!.replace(/model\.json$/, 'metrics.json'), KEY)).status).toBe(404);
    expect((await get(modelJson!.replace(/\/[0-9a-f]{16}\//, '/0000000000000000/'), KEY)).status).toBe(404);
    expect((await get(modelJson!.replace(/model\.json$/, '..%2F..%2Fmodel.json'), KEY)).status).toBe(404);
    expect((await get(`/models/nope/web/0000000000000000/model.json`, KEY)).status).toBe(404);
  });

  it('refuses a caller without a key when reads need one', async () => {
    const id = await storeModel(CNN);
    const modelJson = (await webFiles(id))!.modelJson;
    const res = await get(modelJson);
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('glimpse-caption-model');
    expect((await get(modelJson, 'wrong-key')).status).toBe(401);
  });

  it('serves a backbone model with its stored backbone at relative, content-hashed URLs, no server path', async () => {
    const id = await storeModel(BACKBONE, true);
    const modelJson = (await webFiles(id))?.modelJson;
    expect(modelJson).toMatch(new RegExp(`^/models/${id}/web/[0-9a-f]{16}/model\\.json$`));
    const served = await get(modelJson!, KEY);
    expect(served.status).toBe(200);
    const text = await served.text();
    // the encoder names its backbone beside model.json, not the worker's path
    expect(text).not.toContain(BACKBONE_PATH);
    expect(text).not.toMatch(/\/(srv|tmp|home|var)\/|127\.0\.0\.1|localhost|https?:/);
    const encoder = JSON.parse(text).modelTopology.config.encoder;
    expect(encoder).toEqual({ ...BACKBONE.encoder, url: expect.stringMatching(/^backbone\/[0-9a-f]{16}\/model\.json$/) });
    const backboneJson = new URL(encoder.url, new URL(modelJson!, t.api.url));
    for (const [name, body] of Object.entries(backboneFiles)) {
      const res = await get(new URL(name, backboneJson).pathname, KEY);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
    }
    // the backbone's files need the key too; another hash or a file it does not name is 404
    const noKey = await get(backboneJson.pathname);
    expect(noKey.status).toBe(401);
    expect(await noKey.text()).not.toContain('layers-model');
    expect((await get(backboneJson.pathname.replace(/backbone\/[0-9a-f]{16}/, 'backbone/0000000000000000'), KEY)).status).toBe(404);
    expect((await get(backboneJson.pathname.replace(/model\.json$/, 'vocab.json'), KEY)).status).toBe(404);
    expect((await get(modelJson!.replace(/model\.json$/, 'backbone'), KEY)).status).toBe(404);
  });

  it('has no web files for a backbone model saved before backbones were stored, and says why', async () => {
    const id = await storeModel(BACKBONE);
    expect(await webFiles(id)).toBeNull();
    const row = await t.db.prisma.model.findUniqueOrThrow({ where: { id } });
    const res = await get(`/models/${id}/web/${row.blobId!.slice(0, 16)}/model.json`, KEY);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/saved before backbones were stored/);
  });

  it('stores one backbone once for the models on it and collects it with the last of them', async () => {
    const [a, b] = [await storeModel(BACKBONE, true), await storeModel(BACKBONE, true)];
    const rows = await t.db.prisma.model.findMany({ where: { id: { in: [a, b] } } });
    expect(rows[0]!.backboneBlobId).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.backboneBlobId).toBe(rows[0]!.backboneBlobId);
    const blob = () => t.db.prisma.blob.count({ where: { id: rows[0]!.backboneBlobId! } });
    // other tests' models share it too: delete every model on it, the last one takes the blob
    const users = await t.db.prisma.model.findMany({ where: { backboneBlobId: rows[0]!.backboneBlobId }, select: { id: true } });
    for (const [i, { id }] of users.entries()) {
      const deleted = await t.gql('mutation($id: ID!) { deleteModel(id: $id) }', { id }, KEY);
      expect(deleted.errors).toBeUndefined();
      expect(await blob()).toBe(i === users.length - 1 ? 0 : 1);
    }
  });
});
