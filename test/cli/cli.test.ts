import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
