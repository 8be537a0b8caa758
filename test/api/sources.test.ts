// Untrusted server paths and URLs at input time, over real HTTP: COCO paths outside the dataset roots
// (/etc/shadow, `..`, a symlink out) get BAD_USER_INPUT naming the roots and nothing of the file;
// backbone URLs off the allow-list or at an internal address (hex spelling included) are refused
// before any request is made; synthetic sets are capped.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id status } }`;
const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`;

let t: TestApi;
let root: string;
let outside: string;
let server: Server;
let port: number;
const requests: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-root-'));
  outside = await mkdtemp(join(tmpdir(), 'glimpse-outside-'));
  await mkdir(join(root, 'coco', 'images'), { recursive: true });
  await writeFile(join(root, 'coco', 'captions.json'), JSON.stringify({ images: [], annotations: [] }));
  await writeFile(join(outside, 'shadow'), 'root:*:19000:0:99999:7:::\n');
  await symlink(join(outside, 'shadow'), join(root, 'coco', 'link.json'));
  await symlink(outside, join(root, 'elsewhere'));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  t = await startTestApi({
    GLIMPSE_DATASET_ROOTS: root,
    GLIMPSE_BACKBONE_HOSTS: `storage.googleapis.com,127.0.0.1:${port}`,
    GLIMPSE_MAX_SYNTHETIC_IMAGES: '500',
  });
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server?.close(resolve));
  for (const dir of [root, outside]) if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyDataset(): Promise<string> {
  const { data } = await t.gql(CREATE, { input: { name: `ready-${Math.random()}`, synthetic: { images: 8 } } });
  await t.db.prisma.dataset.update({ where: { id: data!.createDataset.id }, data: { status: 'READY', imageCount: 8 } });
  return data!.createDataset.id;
}

describe('createDataset with server paths', () => {
  it('refuses paths outside the roots with BAD_USER_INPUT naming the roots, quoting nothing of the file', async () => {
    const attempts: [string, string][] = [
      ['/etc/shadow', join(root, 'coco', 'images')],
      ['/etc/passwd', join(root, 'coco', 'images')],
      [join(outside, 'shadow'), join(root, 'coco', 'images')],
      [join(root, '..', outside.split('/').at(-1)!, 'shadow'), join(root, 'coco', 'images')], // `..` out of the root
      [join(root, 'coco', 'link.json'), join(root, 'coco', 'images')], // a symlink out of the root
      [join(root, 'elsewhere', 'shadow'), join(root, 'coco', 'images')], // a folder symlink out of the root
      [join(root, 'coco', 'captions.json'), '/etc'],
      [join(root, 'coco', 'captions.json'), join(root, 'elsewhere')],
    ];
    for (const [annotationsPath, imagesDir] of attempts) {
      const res = await t.gql(CREATE, { input: { name: 'attack', coco: { annotationsPath, imagesDir } } });
      expect(codes(res), annotationsPath).toEqual(['BAD_USER_INPUT']);
      const field = annotationsPath.startsWith(join(root, 'coco', 'captions')) ? 'input.coco.imagesDir' : 'input.coco.annotationsPath';
      expect(res.errors![0]!.extensions!.field).toBe(field);
      expect(res.errors![0]!.message).toBe(`${field}: must be an absolute path under the dataset root ${root} (GLIMPSE_DATASET_ROOTS)`);
      expect(JSON.stringify(res)).not.toMatch(/root:\*|19000|does not exist|is not a/);
    }
    expect(await t.db.prisma.dataset.count({ where: { name: 'attack' } })).toBe(0);
  });

  it('says whether a path exists only under the roots, and registers a set there', async () => {
    const missing = await t.gql(CREATE, {
      input: { name: 'gone', coco: { annotationsPath: join(root, 'coco', 'nope.json'), imagesDir: join(root, 'coco', 'images') } },
    });
    expect(missing.errors![0]!.message).toMatch(/nope\.json does not exist/);
    const ok = await t.gql(CREATE, {
      input: { name: 'coco-ok', coco: { annotationsPath: join(root, 'coco', 'captions.json'), imagesDir: join(root, 'coco', 'images') } },
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createDataset.status).toBe('PENDING');
  });

  it('caps synthetic sets at GLIMPSE_MAX_SYNTHETIC_IMAGES', async () => {
    const big = await t.gql(CREATE, { input: { name: 'huge', synthetic: { images: 100_000 } } });
    expect(codes(big)).toEqual(['BAD_USER_INPUT']);
    expect(big.errors![0]!.message).toBe('input.synthetic.images: must be between 1 and 500 (GLIMPSE_MAX_SYNTHETIC_IMAGES), got 100000');
    expect((await t.gql(CREATE, { input: { name: 'at-cap', synthetic: { images: 500 } } })).errors).toBeUndefined();
  });
});

describe('startTraining with a backbone', () => {
  it('refuses hosts off the allow-list, internal addresses in any spelling, and server paths outside the roots, before any request', async () => {
    const datasetId = await readyDataset();
    const cases: [string, RegExp][] = [
      [
        'https://evil.example/model.json',
        /host evil\.example is not allowed \(GLIMPSE_BACKBONE_HOSTS: storage\.googleapis\.com, 127\.0\.0\.1:\d+\)/,
      ],
      [`http://0x7f000001:${port}/model.json`, /127\.0\.0\.1:\d+ is a loopback address, which is not fetched/],
      [`http://2130706433:${port}/model.json`, /loopback address/],
      [`http://0177.0.0.1:${port}/model.json`, /loopback address/],
      [`http://127.0.0.1:${port}/model.json`, /loopback address/], // listed, but loopback is not allowed here
      ['http://169.254.169.254/latest/meta-data/', /not allowed/],
      ['/etc/passwd', new RegExp(`must be an absolute path under the dataset root ${root}`)],
      [join(root, 'elsewhere', 'model.json'), /must be an absolute path under the dataset root/],
    ];
    for (const [backbone, message] of cases) {
      const res = await t.gql(START, { input: { datasetId, encoder: { backbone, channels: null } } });
      expect(codes(res), backbone).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.extensions!.field).toBe('input.encoder.backbone');
      expect(res.errors![0]!.message).toMatch(message);
    }
    expect(requests).toEqual([]);
    expect(await t.db.prisma.trainingRun.count({ where: { datasetId } })).toBe(0);
  });

  it('accepts an allowed host and a path under the roots (the worker checks again when it downloads)', async () => {
    const datasetId = await readyDataset();
    for (const backbone of [
      'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_1.0_224/model.json',
      join(root, 'backbones', 'model.json'),
    ]) {
      const small = { batchSize: 2, units: 16, embeddingDim: 8, vocabSize: 50 }; // within the worker's memory budget
      const res = await t.gql(START, { input: { datasetId, ...small, encoder: { backbone, imageSize: 32, channels: null } } });
      expect(res.errors, `${backbone}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    }
    expect(requests).toEqual([]); // the API itself fetches nothing
  });
});
