// A model's files for the browser (src/server/model-files.ts): Model.webFiles names a content-hashed URL,
// GET serves model.json, its shards and vocabulary with immutable caching, the same auth as reads (a key
// when keys are set), nothing else of the folder, no server path; a backbone model is not served.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBlob, putDir } from '../../src/storage/index.ts';
import { startTestApi, type TestApi } from './harness.ts';

const KEY = 'files-key';
const CNN = { encoder: { kind: 'cnn', imageSize: 32, channels: [8, 16] }, gridSize: 8, vocabSize: 5 };
const BACKBONE = { encoder: { kind: 'pretrained', backbone: '/srv/backbones/mobilenet/model.json', imageSize: 224 }, vocabSize: 5 };

let t: TestApi;
let folder: string;
const files: Record<string, Buffer> = {};

async function storeModel(config: object): Promise<string> {
  const pending = await putDir(t.db.prisma, folder);
  const blobId = await t.db.prisma.$transaction((tx) => commitBlob(tx, pending));
  const row = await t.db.prisma.model.create({ data: { name: 'm', vocabSize: 5, config, blobId } });
  return row.id;
}

beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY });
  folder = await mkdtemp(path.join(os.tmpdir(), 'glimpse-model-files-'));
  files['model.json'] = Buffer.from(
    JSON.stringify({
      format: 'glimpse-caption-model',
      generatedBy: 'glimpse',
      convertedBy: null,
      modelTopology: { architecture: 'glimpse/show-attend-tell', config: CNN, vocabulary: 'vocab.json' },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
    }),
  );
  files['vocab.json'] = Buffer.from(JSON.stringify({ words: ['<pad>', '<start>', '<end>', '<unk>', 'a'] }));
  files['weights.bin'] = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  for (const [name, body] of Object.entries(files)) await writeFile(path.join(folder, name), body);
  await writeFile(path.join(folder, 'metrics.json'), '{"bleu4": 0.1}');
});
afterAll(async () => {
  await t?.close();
  await rm(folder, { recursive: true, force: true });
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

  it('has no web files for a model with a pretrained backbone (not yet available in the browser)', async () => {
    const id = await storeModel(BACKBONE);
    expect(await webFiles(id)).toBeNull();
  });
});
