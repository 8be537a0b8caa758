// startTraining with encoder.backbone through the API and a real in-process worker: a tiny TF.js
// LayersModel served over HTTP (127.0.0.1) is the encoder; the run SUCCEEDS, its features are cached
// under <data>/datasets/<id>/features, and the saved model captions a PNG (the captioner downloads
// the backbone again) with attention over gridSize² cells. The job stores the backbone's files it read as one
// blob shared by the models on it, and the API serves them to browsers beside the model (no host name).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/index.ts';
import { testBackendOptions } from '../helpers/backend.ts';
import { collect, type TestApi } from '../api/harness.ts';
import { until } from '../helpers/until.ts';
import { saveLayersModel } from '../helpers/tfjs-model.ts';
import {
  CAPTION_STREAM,
  expectCaptionStream,
  type CaptionEvent,
  startApiWithWorker,
  syntheticImagesDir,
  type ApiWithWorker,
} from './shared.ts';

const SIZE = 32;
const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status config { backbone backboneLayer imageSize } } }`;

let stack: ApiWithWorker;
let t: TestApi;
let dataDir: string;
let fixtures: string;
let server: Server;
let backboneUrl: string;
let www: string;
const requests: string[] = [];

beforeAll(async () => {
  fixtures = await mkdtemp(join(tmpdir(), 'glimpse-e2e-backbone-'));
  www = join(fixtures, 'www');
  await initBackend(undefined, testBackendOptions());
  const network = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [SIZE, SIZE, 3],
        filters: 5,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'features',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
    ],
  });
  await saveLayersModel(network, join(www, 'backbone'));
  network.dispose();
  server = createServer(async (req, res) => {
    requests.push(req.url ?? '');
    try {
      const body = await readFile(join(www, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      res.writeHead(200, { 'content-type': req.url?.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backboneUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/backbone/model.json`;

  // the test's own server on loopback: listed, and its address allowed explicitly (src/sources refuses both by default)
  const host = new URL(backboneUrl).host;
  stack = await startApiWithWorker({ GLIMPSE_BACKBONE_HOSTS: host, GLIMPSE_BACKBONE_ALLOW_PRIVATE: '127.0.0.1' });
  ({ t, dataDir } = stack);
});
afterAll(async () => {
  await stack?.close();
  if (server) await new Promise((resolve) => server.close(resolve));
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

const cachedFeatures = async (datasetId: string) =>
  (await readdir(join(dataDir, 'datasets', datasetId, 'features'), { recursive: true })).filter((f) => f.endsWith('.f32')).sort();

async function trainToEnd(input: Record<string, unknown>) {
  const started = await t.gql(START, { input });
  expect(started.errors).toBeUndefined();
  const runId = started.data!.startTraining.id as string;
  const run = await until(
    () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { model: true } }),
    (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED' || r.status === 'CANCELLED',
  );
  return { started: started.data!.startTraining, run };
}

describe('train with a pretrained backbone through the API and a worker', () => {
  let datasetId: string;
  let modelId: string;
  let backboneBlobId: string;

  it('trains on the backbone features, cached under the dataset, and SUCCEEDS with a Model', async () => {
    const created = await t.gql(`mutation { createDataset(input: { name: "shapes-bb", synthetic: { images: 12, seed: 5 } }) { id } }`);
    expect(created.errors).toBeUndefined();
    datasetId = created.data!.createDataset.id;
    const ready = await until(
      async () => (await t.gql(`query($id: ID!) { dataset(id: $id) { status imageCount } }`, { id: datasetId })).data!.dataset,
      (d) => d.status !== 'PENDING',
    );
    expect(ready).toEqual({ status: 'READY', imageCount: 12 });

    const input = {
      datasetId,
      epochs: 2,
      batchSize: 8,
      units: 16,
      embeddingDim: 8,
      vocabSize: 50,
      seed: 7,
      valFraction: 0.2,
      encoder: { backbone: backboneUrl, backboneLayer: 'features', imageSize: SIZE },
    };
    const { started, run } = await trainToEnd(input);
    expect(started.config).toEqual({ backbone: backboneUrl, backboneLayer: 'features', imageSize: SIZE });
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.model).not.toBeNull();
    modelId = run.model!.id;
    // the backbone's files, as the worker read them, stored with the model
    expect(run.model!.backboneBlobId).toMatch(/^[0-9a-f]{64}$/);
    backboneBlobId = run.model!.backboneBlobId!;
    // the worker downloaded the backbone and trained on it: the saved model's encoder is that backbone
    expect(requests).toContain('/backbone/model.json');
    expect(requests).toContain('/backbone/weights.bin');
    expect((run.model!.config as { encoder: unknown }).encoder).toMatchObject({
      kind: 'pretrained',
      url: backboneUrl,
      layer: 'features',
      imageSize: SIZE,
    });
    // … as in its config.json: the worker's own cache folder is not part of the model
    expect((run.model!.config as { encoder: object }).encoder).not.toHaveProperty('cacheDir');
    // every image (training and validation) encoded once: one feature file each, 8×8 cells × 5 channels
    const files = await cachedFeatures(datasetId);
    expect(files).toHaveLength(12);
    const bytes = await readFile(join(dataDir, 'datasets', datasetId, 'features', files[0]!));
    expect(bytes.byteLength).toBe(8 * 8 * 5 * 4);
  });

  it('a second run with the same backbone on the dataset reuses the cached features', async () => {
    const before = await cachedFeatures(datasetId);
    const { run } = await trainToEnd({
      datasetId,
      epochs: 1,
      batchSize: 8,
      units: 16,
      embeddingDim: 8,
      vocabSize: 50,
      seed: 8,
      valFraction: 0.2,
      encoder: { backbone: backboneUrl, backboneLayer: 'features', imageSize: SIZE },
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(await cachedFeatures(datasetId)).toEqual(before);
    // one stored backbone for both models
    expect(run.model!.backboneBlobId).toBe(backboneBlobId);
  });

  it('serves the model to browsers with the backbone bytes the worker read, by relative URL, no host name', async () => {
    const { data, errors } = await t.gql(`query($id: ID!) { model(id: $id) { webFiles { modelJson } } }`, { id: modelId });
    expect(errors).toBeUndefined();
    const modelJsonUrl = new URL(data!.model.webFiles.modelJson, t.api.url);
    const served = await fetch(modelJsonUrl);
    expect(served.status).toBe(200);
    const text = await served.text();
    expect(text).not.toContain(new URL(backboneUrl).host);
    expect(text).not.toContain('127.0.0.1');
    const backboneJson = new URL(JSON.parse(text).modelTopology.config.encoder.url, modelJsonUrl);
    expect(backboneJson.pathname.startsWith(modelJsonUrl.pathname.replace(/model\.json$/, 'backbone/'))).toBe(true);
    for (const name of ['model.json', 'weights.bin']) {
      const res = await fetch(new URL(name, backboneJson));
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(await readFile(join(www, 'backbone', name)));
    }
  });

  it('fails the run, naming the backbone, when its URL does not serve a model', async () => {
    const missing = backboneUrl.replace('/backbone/', '/missing/');
    const { run } = await trainToEnd({ datasetId, epochs: 1, batchSize: 8, units: 16, encoder: { backbone: missing, imageSize: SIZE } });
    expect(run.status).toBe('FAILED');
    expect(run.error).toContain(`cannot load backbone ${missing}`);
    expect(run.error).toMatch(/HTTP 404/);
    expect(run.model).toBeNull();
  });

  it('captions a PNG with the backbone model: tokens with attention over gridSize² cells', async () => {
    const downloadsBefore = requests.filter((r) => r === '/backbone/model.json').length;
    const images = await syntheticImagesDir(t.db.prisma, dataDir, datasetId);
    const png = await readFile(join(images, (await readdir(images))[0]!));
    const requested = await t.gql(`mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`, {
      input: { modelId, imageBase64: png.toString('base64') },
    });
    expect(requested.errors).toBeUndefined();
    const live = collect<{ captionStream: CaptionEvent }>(t.ws(), CAPTION_STREAM, { id: requested.data!.requestCaption.id });
    await live.completed;
    const tokens = expectCaptionStream(live.results.map((r) => r.data!.captionStream));
    for (const e of tokens) expect(e.gridSize).toBe(8);
    // the caption job loaded the backbone from its URL (the model stores the URL, not the weights)
    expect(requests.filter((r) => r === '/backbone/model.json').length).toBeGreaterThan(downloadsBefore);
  });
});
