import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip } from '../ml/data/zip-fixture.ts';
import { runCli } from './run-cli.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'glimpse-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('glimpse dataset synth', () => {
  it('writes PNG images and a COCO captions JSON, deterministically from the seed', async () => {
    const a = join(work, 'synth-a');
    const b = join(work, 'synth-b');
    const runA = await runCli(['dataset', 'synth', '--out', a, '--images', '6', '--seed', '11', '--size', '48']);
    expect(runA.stderr).not.toMatch(/error/);
    expect(runA.code).toBe(0);
    expect(runA.stdout).toMatch(/wrote 6 images and \d+ captions/);
    const json = JSON.parse(await readFile(join(a, 'captions.json'), 'utf8'));
    expect(json.images).toHaveLength(6);
    expect(json.annotations.length).toBeGreaterThanOrEqual(6);
    const files = (await readdir(join(a, 'images'))).sort();
    expect(files).toEqual(json.images.map((i: { file_name: string }) => i.file_name).sort());
    const meta = await sharp(join(a, 'images', files[0])).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 48, 48]);

    expect((await runCli(['dataset', 'synth', '--out', b, '--images', '6', '--seed', '11', '--size', '48'])).code).toBe(0);
    expect(await readFile(join(b, 'captions.json'), 'utf8')).toEqual(await readFile(join(a, 'captions.json'), 'utf8'));
  });

  it('rejects a bad option value with a usage error and exit code 1', async () => {
    const run = await runCli(['dataset', 'synth', '--out', join(work, 'bad'), '--images', 'many']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--images.*expected a positive integer/);
  });
});

describe('glimpse dataset coco', () => {
  it('downloads, verifies and extracts archives from a mirror, and skips them on a rerun', async () => {
    const zip = buildZip([
      { name: 'annotations/captions_mini.json', data: Buffer.from(JSON.stringify({ images: [], annotations: [] })) },
      { name: 'mini/a.txt', data: Buffer.alloc(50_000, 7) },
    ]);
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url !== '/zips/mini.zip') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': zip.length, 'accept-ranges': 'bytes' }).end(zip);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const dir = join(work, 'coco');
      const manifest = join(work, 'manifest.json');
      const md5 = createHash('md5').update(zip).digest('hex');
      await writeFile(manifest, JSON.stringify([{ name: 'mini.zip', path: 'zips/mini.zip', size: zip.length, md5 }]));
      const args = ['dataset', 'coco', '--download', dir, '--base-url', baseUrl, '--manifest', manifest];

      const first = await runCli(args);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/mini\.zip: downloaded, 2 files extracted/);
      expect((await readFile(join(dir, 'mini', 'a.txt'))).length).toBe(50_000);
      expect(await readdir(dir)).not.toContain('mini.zip'); // archive removed after extraction

      const again = await runCli(args);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/mini\.zip: already complete/);
      expect(requests).toEqual(['/zips/mini.zip']);

      const badMd5 = join(work, 'bad-manifest.json');
      await writeFile(badMd5, JSON.stringify([{ name: 'other.zip', path: 'zips/mini.zip', size: zip.length, md5: '0'.repeat(32) }]));
      const bad = await runCli(['dataset', 'coco', '--download', dir, '--base-url', baseUrl, '--manifest', badMd5]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/error \[CHECKSUM_MISMATCH\]/);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});
