// How src/ml reads a backbone's files: through the caller's fetch / readFile (every shard too, with
// TF.js' URL rules), weight files confined to the model folder, the signal stopping a download, and
// load errors that never quote what the files contain.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { Backbone } from '../../../src/ml/model/backbone.ts';
import { ModelError } from '../../../src/ml/model/model-error.ts';
import { saveLayersModel } from '../../helpers/tfjs-model.ts';
import { tempDir } from './fixtures.ts';

const SIZE = 16;
let dir: string;
let remove: () => Promise<void>;
let server: Server;
let base: string;

beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('backbone-access'));
  const network = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [SIZE, SIZE, 3],
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        name: 'features',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
    ],
  });
  const modelJson = await saveLayersModel(network, path.join(dir, 'www', 'net'));
  network.dispose();
  // the same model, its manifest pointing out of its folder
  const escaping = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest: { paths: string[] }[] };
  escaping.weightsManifest[0]!.paths = ['../../secret.bin'];
  await mkdir(path.join(dir, 'www', 'escape'), { recursive: true });
  await writeFile(path.join(dir, 'www', 'escape', 'model.json'), JSON.stringify(escaping));
  await writeFile(path.join(dir, 'secret.bin'), Buffer.alloc(16 * 3 * 3 * 3 * 4 + 12));
  await mkdir(path.join(dir, 'www', 'shadow'), { recursive: true });
  await writeFile(path.join(dir, 'www', 'shadow', 'model.json'), 'root:*:19000:0:99999:7:::');
  await mkdir(path.join(dir, 'www', 'odd'), { recursive: true });
  await writeFile(
    path.join(dir, 'www', 'odd', 'model.json'),
    JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'SecretLayerName', config: {} }, weightsManifest: [] }),
  );
  server = createServer(async (req, res) => {
    if (req.url === '/silent/model.json') return; // never answers
    try {
      res.end(await readFile(path.join(dir, 'www', new URL(req.url ?? '/', 'http://x').pathname)));
    } catch {
      res.writeHead(404).end('secret 404 page');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await remove?.();
});

const encoder = (url: string, layer?: string) => ({ kind: 'pretrained', url, imageSize: SIZE, ...(layer ? { layer } : {}) }) as const;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('expected the load to fail'),
    (e: unknown) => e as ModelError,
  );

describe('backbone access', () => {
  it("fetches model.json and every shard through the caller's fetch, keeping model.json's query string", async () => {
    const fetched: string[] = [];
    const access = { fetch: (url: string, init?: RequestInit) => (fetched.push(url), fetch(url, init)) };
    const backbone = await Backbone.load(encoder(`${base}/net/model.json?v=1`, 'features'), 4, { diskCache: false, access });
    expect(fetched).toEqual([`${base}/net/model.json?v=1`, `${base}/net/weights.bin?v=1`]);
    expect(backbone.channels).toBe(3);
    backbone.dispose();
  });

  it("reads local files through the caller's readFile and refuses weight files outside the model folder", async () => {
    const read: string[] = [];
    const access = { readFile: (file: string) => (read.push(file), readFile(file)) };
    const ok = await Backbone.load(encoder(path.join(dir, 'www', 'net', 'model.json')), 4, { diskCache: false, access });
    ok.dispose();
    expect(read).toEqual([path.join(dir, 'www', 'net', 'model.json'), path.join(dir, 'www', 'net', 'weights.bin')]);
    const error = await failure(Backbone.load(encoder(path.join(dir, 'www', 'escape', 'model.json')), 4, { access }));
    expect(error.message).toMatch(/weight file \.\.\/\.\.\/secret\.bin lies outside the model folder/);
    expect(read).not.toContain(path.join(dir, 'secret.bin'));
  });

  it("reports the access functions' errors, HTTP statuses and a missing layer, but never the files' contents", async () => {
    const refused = await failure(
      Backbone.load(encoder(`${base}/net/model.json`), 4, { access: { fetch: () => Promise.reject(new Error('host not allowed')) } }),
    );
    expect(refused).toBeInstanceOf(ModelError);
    expect(refused.message).toBe(`cannot load backbone ${base}/net/model.json: host not allowed`);
    expect((await failure(Backbone.load(encoder(`${base}/none/model.json`), 4))).message).toMatch(/GET model\.json: HTTP 404$/);
    const notJson = await failure(Backbone.load(encoder(`${base}/shadow/model.json`), 4));
    expect(notJson.message).toBe(`cannot load backbone ${base}/shadow/model.json: model.json is not valid JSON`);
    const odd = await failure(Backbone.load(encoder(`${base}/odd/model.json`), 4));
    expect(odd.message).toMatch(/not a TF\.js LayersModel or GraphModel this worker can run$/);
    expect(odd.message).not.toMatch(/SecretLayerName/);
    const layer = await failure(Backbone.load(encoder(`${base}/net/model.json`, 'nope'), 4));
    expect(layer.message).toMatch(/the model has no layer named "nope"/);
    for (const error of [notJson, odd]) expect(error.message).not.toMatch(/root|secret/i);
  });

  it('stops a download that never answers when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const error = await failure(Backbone.load(encoder(`${base}/silent/model.json`), 4, { signal: controller.signal }));
    expect(error.message).toMatch(/: cancelled$/);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
