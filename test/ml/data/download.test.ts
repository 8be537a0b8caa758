import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCocoCaptions } from '../../../src/ml/data/coco.ts';
import { downloadCoco, type DownloadProgress, type RemoteArchive } from '../../../src/ml/data/download.ts';
import { DownloadError, type DownloadErrorCode } from '../../../src/ml/data/data-errors.ts';
import { generateShapes } from '../../../src/ml/data/shapes.ts';
import { buildZip } from './zip-fixture.ts';

/** A local stand-in for images.cocodataset.org with switchable misbehaviour. */
interface FakeCoco {
  server: Server;
  baseUrl: string;
  files: Map<string, Buffer>;
  requests: { path: string; range: string | undefined }[];
  /** paths whose next response is cut after half the body */
  cutNext: Set<string>;
  /** paths whose next response sends half the body and then stalls */
  stallNext: Set<string>;
  ignoreRange: boolean;
}

let root: string;
let fake: FakeCoco;
let annotationsZip: Buffer;
let imagesZip: Buffer;
let dir: string;
let run = 0;

function archive(path: string, bytes: Buffer, extra: Partial<RemoteArchive> = {}): RemoteArchive {
  return { name: path.split('/').pop()!, path, size: bytes.length, ...extra };
}

function hex(algorithm: 'md5' | 'sha256', bytes: Buffer): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

async function startFake(): Promise<FakeCoco> {
  const state = {
    files: new Map<string, Buffer>(),
    requests: [] as FakeCoco['requests'],
    cutNext: new Set<string>(),
    stallNext: new Set<string>(),
    ignoreRange: false,
  };
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    state.requests.push({ path, range: req.headers.range });
    const body = state.files.get(path);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match && !state.ignoreRange ? Number(match[1]) : 0;
    if (start >= body.length && start > 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const tail = body.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'Content-Length': String(tail.length),
      'Content-Type': 'application/zip',
      ...(start > 0 ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const half = tail.subarray(0, Math.floor(tail.length / 2));
    if (state.cutNext.delete(path)) {
      res.write(half, () => res.destroy());
    } else if (state.stallNext.delete(path)) {
      res.write(half);
    } else {
      res.end(tail);
    }
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}`, ...state };
}

async function expectDownloadError(p: Promise<unknown>, code: DownloadErrorCode): Promise<DownloadError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  expect((err as DownloadError).code).toBe(code);
  return err as DownloadError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-download-'));
  // the archives hold a small real dataset, laid out like COCO's: annotations/… and train2014/…
  const shapes = await generateShapes({ outDir: join(root, 'src'), images: 6, seed: 5, imageSize: 32 });
  const json = await readFile(shapes.annotationsPath);
  annotationsZip = buildZip([
    { name: 'annotations/', data: Buffer.alloc(0) },
    { name: 'annotations/captions_train2014.json', data: json },
  ]);
  const images = await readdir(shapes.imagesDir);
  imagesZip = buildZip([
    ...(await Promise.all(images.map(async (f) => ({ name: `train2014/${f}`, data: await readFile(join(shapes.imagesDir, f)) })))),
    // incompressible padding so that the transfer is long enough to cut in the middle
    { name: 'train2014/padding.bin', data: randomBytes(256 * 1024) },
  ]);
  fake = await startFake();
});
afterAll(async () => {
  await new Promise((r) => fake.server.close(r));
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  dir = join(root, `out-${++run}`);
  fake.files.clear();
  fake.files.set('/annotations/annotations_trainval2014.zip', annotationsZip);
  fake.files.set('/zips/train2014.zip', imagesZip);
  fake.requests.length = 0;
  fake.cutNext.clear();
  fake.stallNext.clear();
  fake.ignoreRange = false;
});

const files = () => [
  archive('annotations/annotations_trainval2014.zip', annotationsZip, { md5: hex('md5', annotationsZip) }),
  archive('zips/train2014.zip', imagesZip, { md5: hex('md5', imagesZip), sha256: hex('sha256', imagesZip) }),
];

describe('downloadCoco against a local server', () => {
  it('downloads, resumes a cut transfer with a Range request, verifies, extracts and skips on rerun', async () => {
    fake.cutNext.add('/zips/train2014.zip');
    const events: DownloadProgress[] = [];
    const result = await downloadCoco({ dir, baseUrl: fake.baseUrl, files: files(), retryDelayMs: 0, onProgress: (p) => events.push(p) });

    expect(result.map((r) => [r.name, r.skipped, r.files])).toEqual([
      ['annotations_trainval2014.zip', false, 1],
      ['train2014.zip', false, 7],
    ]);
    const imageRequests = fake.requests.filter((r) => r.path === '/zips/train2014.zip');
    expect(imageRequests).toHaveLength(2);
    expect(imageRequests[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(imageRequests[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(imagesZip.length);

    // the extracted files are a loadable COCO-format dataset, bytes intact
    const images = await loadCocoCaptions({
      annotationsPath: join(dir, 'annotations', 'captions_train2014.json'),
      imagesDir: join(dir, 'train2014'),
    });
    expect(images).toHaveLength(6);
    expect((await stat(join(dir, 'train2014', 'padding.bin'))).size).toBe(256 * 1024);
    // archives removed after extraction, nothing partial left behind
    expect((await readdir(dir)).filter((f) => f.endsWith('.zip') || f.endsWith('.part'))).toEqual([]);

    // progress: every phase reported, download byte counts never go back, and end at the total
    const downloads = events.filter((e) => e.phase === 'download' && e.file === 'train2014.zip');
    expect(downloads.at(-1)).toMatchObject({ received: imagesZip.length, total: imagesZip.length });
    for (let i = 1; i < downloads.length; i++) expect(downloads[i]!.received).toBeGreaterThanOrEqual(downloads[i - 1]!.received);
    expect(downloads.every((e) => e.bytesPerSec >= 0 && Number.isFinite(e.bytesPerSec))).toBe(true);
    expect(new Set(events.map((e) => e.phase))).toEqual(new Set(['download', 'verify', 'extract']));

    const requestsBefore = fake.requests.length;
    const again = await downloadCoco({ dir, baseUrl: fake.baseUrl, files: files() });
    expect(again.every((r) => r.skipped)).toBe(true);
    expect(fake.requests.length).toBe(requestsBefore);
  });

  it('keeps the .part file when a run fails and resumes it in the next run', async () => {
    fake.cutNext.add('/zips/train2014.zip');
    const list = files().slice(1);
    await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: list, retries: 0, keepArchives: true }), 'NETWORK_ERROR');
    const partSize = (await stat(join(dir, 'train2014.zip.part'))).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(imagesZip.length);

    const [result] = await downloadCoco({ dir, baseUrl: fake.baseUrl, files: list, keepArchives: true });
    expect(result!.resumedFrom).toBe(partSize);
    expect(fake.requests.at(-1)!.range).toBe(`bytes=${partSize}-`);
    expect((await readFile(join(dir, 'train2014.zip'))).equals(imagesZip)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    fake.cutNext.add('/zips/train2014.zip');
    fake.ignoreRange = true;
    const [result] = await downloadCoco({ dir, baseUrl: fake.baseUrl, files: files().slice(1), retryDelayMs: 0, keepArchives: true });
    expect(result!.files).toBe(7);
    expect((await readFile(join(dir, 'train2014.zip'))).equals(imagesZip)).toBe(true);
  });

  it('fails with SIZE_MISMATCH when the server file differs from the expected size', async () => {
    const wrong = [archive('zips/train2014.zip', imagesZip, { size: imagesZip.length + 1000 })];
    const err = await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: wrong }), 'SIZE_MISMATCH');
    expect(err.message).toContain(String(imagesZip.length));
    expect(err.file).toBe(`${fake.baseUrl}/zips/train2014.zip`);
    expect(await readdir(dir)).not.toContain('train2014');

    // a smaller expectation is caught too (the server would send more than expected)
    const smaller = [archive('zips/train2014.zip', imagesZip, { size: imagesZip.length - 1 })];
    await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: smaller }), 'SIZE_MISMATCH');
  });

  it('fails with CHECKSUM_MISMATCH and discards the bytes', async () => {
    const list = [archive('zips/train2014.zip', imagesZip, { md5: '0'.repeat(32) })];
    const err = await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: list }), 'CHECKSUM_MISMATCH');
    expect(err.message).toContain(hex('md5', imagesZip));
    expect(await readdir(dir)).toEqual([]);
    // without verification the same archive is accepted
    const [ok] = await downloadCoco({ dir, baseUrl: fake.baseUrl, files: list, verifyChecksums: false });
    expect(ok!.files).toBe(7);
  });

  it('reports HTTP errors, takes a base URL with a trailing slash, and rejects unsafe archives', async () => {
    const missing = [archive('zips/val2014.zip', imagesZip)];
    const err = await expectDownloadError(downloadCoco({ dir, baseUrl: `${fake.baseUrl}/`, files: missing }), 'HTTP_ERROR');
    expect(err.message).toContain('404');
    expect(fake.requests.at(-1)!.path).toBe('/zips/val2014.zip');

    const evil = buildZip([{ name: '../escaped.txt', data: Buffer.from('x') }]);
    fake.files.set('/zips/evil.zip', evil);
    await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: [archive('zips/evil.zip', evil)] }), 'EXTRACT_FAILED');
    expect(await readdir(root)).not.toContain('escaped.txt');

    const notZip = Buffer.from('this is not a zip archive at all');
    fake.files.set('/zips/text.zip', notZip);
    await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: [archive('zips/text.zip', notZip)] }), 'EXTRACT_FAILED');
  });

  it('stops with ABORTED when the signal fires mid-transfer, keeping the .part for later', async () => {
    fake.stallNext.add('/zips/train2014.zip');
    const controller = new AbortController();
    const p = downloadCoco({
      dir,
      baseUrl: fake.baseUrl,
      files: files().slice(1),
      signal: controller.signal,
      // the server stalls after half the body: abort once the bytes it sent have reached the disk
      onProgress: (e) => e.received > 0 && setTimeout(() => controller.abort(), 100),
    });
    await expectDownloadError(p, 'ABORTED');
    expect((await stat(join(dir, 'train2014.zip.part'))).size).toBeGreaterThan(0);
    await expectDownloadError(downloadCoco({ dir, baseUrl: fake.baseUrl, files: files(), signal: controller.signal }), 'ABORTED');
  });
});
