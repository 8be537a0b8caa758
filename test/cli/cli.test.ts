import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithout } from '../helpers/prerequisites.ts';
import { buildZip } from '../ml/data/zip-fixture.ts';
import { interruptCli, runCli } from './run-cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** util-linux `script`, to run the CLI on a pseudo-terminal */
const hasScript = await new Promise<boolean>((resolvePromise) => execFile('script', ['--version'], (err) => resolvePromise(err === null)));
/** skip the terminal test without it (locally; CI fails instead) */
const noScript = skipWithout(hasScript ? null : 'no util-linux `script` to run the CLI on a pseudo-terminal');

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

  it('shows no progress bar when stderr is not a terminal: only its one header line', async () => {
    const out = join(work, 'synth-piped');
    const run = await runCli(['dataset', 'synth', '--out', out, '--images', '30', '--size', '32']);
    expect(run.code).toBe(0);
    // progress.ts stays silent without a TTY: no bar frames, no escape codes in a pipe or log file
    expect(run.stderr).toBe(`writing 30 synthetic images (32×32, seed 1) to ${out}\n`);
    expect(run.stdout).toMatch(/^wrote 30 images and \d+ captions in [\d.]+ s\n/);
  });

  it.skipIf(noScript)('draws a progress bar that reaches 30/30 on a terminal', async () => {
    const out = join(work, 'synth-tty');
    const command = [
      process.execPath,
      '--import',
      'tsx',
      'src/cli/index.ts',
      'dataset',
      'synth',
      '--out',
      out,
      '--images',
      '30',
      '--size',
      '32',
    ]
      .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`)
      .join(' ');
    // util-linux `script` runs the command on a pseudo-terminal, so stderr.isTTY is true
    const tty = await new Promise<{ code: number; output: string }>((resolvePromise) => {
      execFile('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, timeout: 120_000 }, (err, stdout) =>
        resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout }),
      );
    });
    expect(tty.code).toBe(0);
    expect(tty.output).toMatch(/writing \|[█░]{10,}\| 30\/30 images ETA/);
    expect(tty.output).toMatch(/wrote 30 images and \d+ captions/);
    expect((await readdir(join(out, 'images'))).length).toBe(30);
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

      // the mirror may also come from the environment (GLIMPSE_COCO_BASE_URL) instead of --base-url
      const again = await runCli(['dataset', 'coco', '--download', dir, '--manifest', manifest], { GLIMPSE_COCO_BASE_URL: baseUrl });
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

describe('glimpse dataset coco, interrupted', () => {
  it('stops on Ctrl-C with exit code 130 and resumes the partial download on the next run', async () => {
    // incompressible content, so the archive is as large as the file and the stall hits mid-transfer
    let x = 1;
    const content = Buffer.from(Array.from({ length: 200_000 }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24));
    const zip = buildZip([{ name: 'big/b.bin', data: content }]);
    const half = 100_000;
    const ranges: string[] = [];
    const server = createServer((req, res) => {
      const range = req.headers.range;
      ranges.push(range ?? 'none');
      if (!range) {
        // first run: half the archive, then the connection stalls until the client gives up
        res.writeHead(200, { 'content-length': zip.length, 'accept-ranges': 'bytes' });
        res.write(zip.subarray(0, half));
        return;
      }
      const start = Number(/bytes=(\d+)-/.exec(range)![1]);
      res.writeHead(206, { 'content-length': zip.length - start, 'content-range': `bytes ${start}-${zip.length - 1}/${zip.length}` });
      res.end(zip.subarray(start));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const dir = join(work, 'coco-resume');
      const manifest = join(work, 'resume-manifest.json');
      await writeFile(manifest, JSON.stringify([{ name: 'big.zip', path: 'big.zip', size: zip.length }]));
      const args = ['dataset', 'coco', '--download', dir, '--base-url', baseUrl, '--manifest', manifest];

      const stopped = await interruptCli(args, /big\.zip: download/);
      expect(stopped.code).toBe(130);
      expect(stopped.stdout).toMatch(/download interrupted; run the same command again to resume/);

      const resumed = await runCli(args);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/big\.zip: resumed at [\d.]+ KiB, 1 files extracted/);
      expect(ranges[0]).toBe('none');
      expect(ranges[ranges.length - 1]).toMatch(/^bytes=[1-9]\d*-$/);
      expect((await readFile(join(dir, 'big', 'b.bin'))).equals(content)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });
});
