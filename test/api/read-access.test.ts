// Who can read what, with GLIMPSE_API_KEYS set: queries and subscriptions need a key (introspection stays
// open), unless GLIMPSE_PUBLIC_READ=true; even then server paths, host names and pids read null for
// callers without a key. Real HTTP and graphql-ws clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, collect, startTestApi, type TestApi } from './harness.ts';

let closed: TestApi; // keys, reads closed
let publicRead: TestApi; // keys, GLIMPSE_PUBLIC_READ=true
let runId: string;

async function seed(t: TestApi): Promise<string> {
  const p = t.db.prisma;
  const dataset = await p.dataset.create({
    data: { name: 'coco', kind: 'COCO', status: 'READY', annotationsPath: '/srv/coco/captions.json', imagesDir: '/srv/coco/images' },
  });
  const config = {
    epochs: 1,
    batchSize: 2,
    learningRate: 0.001,
    embeddingDim: 8,
    units: 8,
    vocabSize: 10,
    maxLength: null,
    seed: 1,
    valFraction: 0.1,
    checkpointEvery: 0,
    backbone: '/srv/backbones/mobilenet/model.json',
  };
  const run = await p.trainingRun.create({ data: { datasetId: dataset.id, config, status: 'SUCCEEDED' } });
  await p.checkpoint.create({ data: { runId: run.id, step: 1, epoch: 1, path: '/srv/glimpse/checkpoints/x/step-1' } });
  await p.model.create({
    data: {
      name: 'm',
      runId: run.id,
      path: '/srv/glimpse/models/m',
      vocabSize: 10,
      config: { units: 8, encoder: { backbone: '/srv/backbones/mobilenet/model.json', imageSize: 224 } },
    },
  });
  await p.worker.create({ data: { id: 'w1', hostname: 'gpu-node-7.internal', pid: 4242, backend: 'wasm', threads: 1 } });
  return run.id;
}

beforeAll(async () => {
  // a long heartbeat: the seeded worker row stays live however slowly the machine runs the tests
  closed = await startTestApi({ GLIMPSE_API_KEYS: 'key-one', GLIMPSE_HEARTBEAT_SECONDS: '300' });
  publicRead = await startTestApi({ GLIMPSE_API_KEYS: 'key-one', GLIMPSE_PUBLIC_READ: 'true', GLIMPSE_HEARTBEAT_SECONDS: '300' });
  runId = await seed(closed);
  await seed(publicRead);
});
afterAll(async () => {
  await closed?.close();
  await publicRead?.close();
});

const SENSITIVE = `query($id: ID!) {
  datasets { name annotationsPath imagesDir }
  models { name path config }
  trainingRun(id: $id) { config { backbone } checkpoints { step path } }
  serverInfo { workers liveWorkers { id backend hostname pid } }
}`;

describe('reads with API keys set', () => {
  it('refuses anonymous queries (HTTP 401, UNAUTHENTICATED) and wrong keys; a key reads', async () => {
    const res = await fetch(closed.api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ datasets { name } }' }),
    });
    expect(res.status).toBe(401);
    expect(codes((await res.json()) as never)).toEqual(['UNAUTHENTICATED']);
    expect(codes(await closed.gql('{ serverInfo { version } }', {}, 'wrong'))).toEqual(['UNAUTHENTICATED']);
    expect((await closed.gql('{ datasets { name } }', {}, 'key-one')).data).toEqual({ datasets: [{ name: 'coco' }] });
  });

  it('leaves introspection open (the IDE shows the docs before a key is entered)', async () => {
    const res = await closed.gql('{ __schema { queryType { name } } }');
    expect(res).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    // but not mixed with data
    expect(codes(await closed.gql('{ __typename datasets { name } }'))).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses anonymous subscriptions and queries over graphql-ws; a key in connectionParams reads', async () => {
    const anonymous = closed.ws();
    const sub = collect(anonymous, `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`, { id: runId });
    await expect(sub.completed).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    ]);
    const query = collect(anonymous, '{ datasets { name } }', {});
    await expect(query.completed).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    ]);
    const keyed = collect(closed.ws('key-one'), `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`, { id: runId });
    await keyed.completed; // SUCCEEDED: the stored status, then the stream completes
    expect(keyed.results.at(-1)).toEqual({ data: { trainingProgress: { kind: 'STATUS', status: 'SUCCEEDED' } } });
    // the GraphiQL IDE sends its Headers tab as the operation's extensions.headers over graphql-ws
    const viaHeaders = await new Promise<unknown>((resolve, reject) =>
      closed
        .ws()
        .subscribe(
          { query: '{ datasets { name } }', extensions: { headers: { Authorization: 'Bearer key-one' } } },
          { next: resolve, error: reject, complete: () => {} },
        ),
    );
    expect(viaHeaders).toEqual({ data: { datasets: [{ name: 'coco' }] } });
  });
});

describe('GLIMPSE_PUBLIC_READ=true', () => {
  it('serves anonymous reads, with paths, host names and pids null', async () => {
    const run = (await publicRead.gql('{ trainingRuns { edges { node { id } } } }')).data!.trainingRuns.edges[0].node.id;
    const res = await publicRead.gql(SENSITIVE, { id: run });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      datasets: [{ name: 'coco', annotationsPath: null, imagesDir: null }],
      models: [{ name: 'm', path: null, config: { units: 8, encoder: { backbone: null, imageSize: 224 } } }],
      trainingRun: { config: { backbone: null }, checkpoints: [{ step: 1, path: null }] },
      serverInfo: { workers: 1, liveWorkers: [{ id: 'w1', backend: 'wasm', hostname: null, pid: null }] },
    });
    expect(JSON.stringify(res)).not.toMatch(/\/srv|gpu-node|4242/);
  });

  it('shows them to key holders', async () => {
    const run = (await publicRead.gql('{ trainingRuns { edges { node { id } } } }')).data!.trainingRuns.edges[0].node.id;
    const res = await publicRead.gql(SENSITIVE, { id: run }, 'key-one');
    expect(res.data).toMatchObject({
      datasets: [{ annotationsPath: '/srv/coco/captions.json', imagesDir: '/srv/coco/images' }],
      models: [{ path: '/srv/glimpse/models/m', config: { encoder: { backbone: '/srv/backbones/mobilenet/model.json' } } }],
      trainingRun: {
        config: { backbone: '/srv/backbones/mobilenet/model.json' },
        checkpoints: [{ path: '/srv/glimpse/checkpoints/x/step-1' }],
      },
      serverInfo: { liveWorkers: [{ hostname: 'gpu-node-7.internal', pid: 4242 }] },
    });
  });

  it('keeps a backbone URL visible (only server paths are hidden)', async () => {
    const dataset = await publicRead.db.prisma.dataset.findFirstOrThrow();
    const run = await publicRead.db.prisma.trainingRun.create({
      data: { datasetId: dataset.id, config: { backbone: 'https://storage.googleapis.com/tfjs-models/m/model.json' } },
    });
    const res = await publicRead.gql(`query($id: ID!) { trainingRun(id: $id) { config { backbone } } }`, { id: run.id });
    expect(res.data!.trainingRun.config.backbone).toBe('https://storage.googleapis.com/tfjs-models/m/model.json');
  });

  it('still needs a key for mutations', async () => {
    const res = await publicRead.gql(`mutation { createDataset(input: { name: "x", synthetic: { images: 3 } }) { id } }`);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });
});
