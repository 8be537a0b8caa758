// Untrusted sources with a real API and a real in-process worker: backbone downloads redirected to an
// internal server are refused without a request reaching it; a backbone that never answers is
// stopped by cancelTraining; an oversized one is cut off; a COCO file with someone's secrets in it
// fails without a byte of it in Dataset.error; a path swapped outside the roots after createDataset is
// refused by the worker; a PENDING 20,000-image synthetic set is deleted mid-generation and stops.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from '../api/harness.ts';
import { until } from '../helpers/until.ts';
import { startApiWithWorker, type ApiWithWorker } from './shared.ts';

const SECRET = 'root:*:19000:0:99999:7:::';
const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`;
const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status error } }`;

let stack: ApiWithWorker;
let t: TestApi;
let root: string;
let outside: string;
/** an allowed backbone host (127.0.0.2 is allowed as a private address) */
let allowed: Server;
let allowedUrl: string;
const allowedRequests: string[] = [];
/** an internal service on 127.0.0.1: it must never see a request */
let internal: Server;
let internalPort: number;
const internalRequests: string[] = [];

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-e2e-root-'));
  outside = await mkdtemp(join(tmpdir(), 'glimpse-e2e-outside-'));
  internal = createServer((req, res) => {
    internalRequests.push(req.url ?? '');
    res.end(SECRET);
  });
  internalPort = await listen(internal, '127.0.0.1');
  allowed = createServer((req, res) => {
    allowedRequests.push(req.url ?? '');
    if (req.url === '/redirect/model.json') res.writeHead(302, { location: `http://127.0.0.1:${internalPort}/model.json` }).end();
    else if (req.url === '/hex/model.json') res.writeHead(302, { location: `http://0x7f000001:${internalPort}/model.json` }).end();
    else if (req.url === '/big/model.json') res.writeHead(200, { 'content-length': '100000' }).end(Buffer.alloc(100_000, 32));
    else if (req.url === '/silent/model.json')
      return; // never answers
    else res.writeHead(404).end(SECRET);
  });
  const allowedPort = await listen(allowed, '127.0.0.2');
  allowedUrl = `http://127.0.0.2:${allowedPort}`;
  stack = await startApiWithWorker({
    GLIMPSE_DATASET_ROOTS: root,
    GLIMPSE_BACKBONE_HOSTS: `127.0.0.2:${allowedPort},127.0.0.1:${internalPort}`,
    GLIMPSE_BACKBONE_ALLOW_PRIVATE: '127.0.0.2',
    GLIMPSE_BACKBONE_MAX_BYTES: '65536',
  });
  t = stack.t;
});
afterAll(async () => {
  await stack?.close();
  for (const server of [allowed, internal]) {
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
  for (const dir of [root, outside]) if (dir) await rm(dir, { recursive: true, force: true });
});

async function datasetRow(id: string) {
  return t.db.prisma.dataset.findUnique({ where: { id } });
}

async function readyDataset(): Promise<string> {
  const created = await t.gql(CREATE, { input: { name: 'shapes-e2e', synthetic: { images: 12, seed: 2 } } });
  expect(created.errors).toBeUndefined();
  const id = created.data!.createDataset.id as string;
  expect(
    (
      await until(
        () => datasetRow(id),
        (d) => d?.status !== 'PENDING',
      )
    )?.status,
  ).toBe('READY');
  return id;
}

async function startWith(datasetId: string, backbone: string): Promise<string> {
  const res = await t.gql(START, { input: { datasetId, epochs: 1, batchSize: 8, encoder: { backbone, imageSize: 32, channels: null } } });
  expect(res.errors, backbone).toBeUndefined();
  return res.data!.startTraining.id as string;
}

const ended = (runId: string) =>
  until(
    async () => (await t.gql(RUN, { id: runId })).data!.trainingRun as { status: string; error: string | null },
    (r) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status),
    20_000,
  );

describe('backbone downloads by the worker', () => {
  let datasetId: string;

  it('refuses a redirect from an allowed host to an internal address (dotted or hex) without reaching it', async () => {
    datasetId = await readyDataset();
    for (const path of ['/redirect/model.json', '/hex/model.json']) {
      const run = await ended(await startWith(datasetId, `${allowedUrl}${path}`));
      expect(run.status).toBe('FAILED');
      expect(run.error).toMatch(/redirect refused: 127\.0\.0\.1:\d+ is a loopback address/);
      expect(run.error).not.toContain(SECRET);
    }
    expect(allowedRequests).toEqual(['/redirect/model.json', '/hex/model.json']);
    expect(internalRequests).toEqual([]);
  });

  it('refuses a download over GLIMPSE_BACKBONE_MAX_BYTES', async () => {
    const run = await ended(await startWith(datasetId, `${allowedUrl}/big/model.json`));
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/larger than the 65536 bytes a backbone may have \(GLIMPSE_BACKBONE_MAX_BYTES\)/);
  });

  it('reports a 404 by its status, not its body', async () => {
    const run = await ended(await startWith(datasetId, `${allowedUrl}/missing/model.json`));
    expect(run.error).toMatch(/GET model\.json: HTTP 404$/);
    expect(run.error).not.toContain(SECRET);
  });

  it('stops a download that never answers when the run is cancelled', async () => {
    const runId = await startWith(datasetId, `${allowedUrl}/silent/model.json`);
    await until(() => Promise.resolve(allowedRequests.includes('/silent/model.json')), Boolean, 20_000);
    const started = performance.now();
    const cancelled = await t.gql(`mutation($id: ID!) { cancelTraining(id: $id) { id } }`, { id: runId });
    expect(cancelled.errors).toBeUndefined();
    const run = await ended(runId);
    expect(run.status).toBe('CANCELLED');
    expect(performance.now() - started).toBeLessThan(5000); // the heartbeat (1 s) notices, the abort ends the download
    // the worker is free again: the next run is taken at once (and fails on its 404)
    expect((await ended(await startWith(datasetId, `${allowedUrl}/missing/model.json`))).status).toBe('FAILED');
  });
});

describe('COCO files read by the worker', () => {
  it('fails a set whose annotations are someone else\u2019s secrets, quoting none of it', async () => {
    await mkdir(join(root, 'secret', 'images'), { recursive: true });
    await writeFile(join(root, 'secret', 'captions.json'), `${SECRET}\ndaemon:*:19000:0:99999:7:::\n`);
    const res = await t.gql(CREATE, {
      input: {
        name: 'secret',
        coco: { annotationsPath: join(root, 'secret', 'captions.json'), imagesDir: join(root, 'secret', 'images') },
      },
    });
    const id = res.data!.createDataset.id as string;
    const row = await until(
      () => datasetRow(id),
      (d) => d?.status !== 'PENDING',
    );
    expect(row!.status).toBe('FAILED');
    expect(row!.error).toMatch(/^the annotations file is not valid JSON \(malformed JSON( at position \d+)?\) \(INVALID_JSON\)$/);
    expect(row!.error).not.toMatch(/root|daemon|19000/);
    expect(row!.error).not.toContain(root);
  });

  it('refuses a path that points outside the roots by the time the worker reads it', async () => {
    await writeFile(join(outside, 'captions.json'), JSON.stringify({ images: [], annotations: [] }));
    await symlink(join(outside, 'captions.json'), join(root, 'swapped.json'));
    // the row as createDataset wrote it before the symlink was swapped in
    const id = await t.db.prisma.$transaction(async (tx) => {
      const row = await tx.dataset.create({
        data: { name: 'swapped', kind: 'COCO', annotationsPath: join(root, 'swapped.json'), imagesDir: root },
      });
      await t.queue.enqueueDataset(tx, { datasetId: row.id });
      return row.id;
    });
    const row = await until(
      () => datasetRow(id),
      (d) => d?.status !== 'PENDING',
    );
    expect(row).toMatchObject({
      status: 'FAILED',
      error: 'a path of the dataset is not an absolute path under the dataset roots (GLIMPSE_DATASET_ROOTS)',
    });
  });
});

describe('a PENDING synthetic set', () => {
  it('is deleted while being generated: the worker stops and removes what it wrote', async () => {
    const res = await t.gql(CREATE, { input: { name: 'huge', synthetic: { images: 20_000 } } });
    expect(res.errors).toBeUndefined();
    const id = res.data!.createDataset.id as string;
    const folder = join(stack.dataDir, 'datasets', id);
    await until(
      () => datasetRow(id),
      (d) => (d?.imageCount ?? 0) > 0,
      20_000,
    );
    const deleted = await t.gql(`mutation($id: ID!) { deleteDataset(id: $id) }`, { id });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteDataset).toBe(id);
    expect(await datasetRow(id)).toBeNull();
    // the generation notices at its next progress write (≤ 1 s), stops and removes the folder again
    await until(() => Promise.resolve(!existsSync(folder)), Boolean, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(existsSync(folder)).toBe(false);
    // and the worker's dataset queue is free: a small set is generated at once
    const small = await t.gql(CREATE, { input: { name: 'after-huge', synthetic: { images: 4 } } });
    const after = await until(
      () => datasetRow(small.data!.createDataset.id),
      (d) => d?.status !== 'PENDING',
      10_000,
    );
    expect(after!.status).toBe('READY');
  });
});
