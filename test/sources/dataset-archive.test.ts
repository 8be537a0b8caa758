// The dataset zip checker on its own, with small bounds: entry count, announced and actually
// inflated sizes (zip bombs), layouts it accepts. The API path is test/api/dataset-upload.test.ts.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackDatasetArchive, type ArchiveLimits } from '../../src/sources/dataset-archive.ts';
import { buildZip, captionsJson, goodSet, lieAboutFirstSize } from '../api/dataset-upload-fixture.ts';

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'glimpse-archive-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const LIMITS: ArchiveLimits = { maxEntries: 100, maxUncompressedBytes: 1024 * 1024, maxImagePixels: 1_000_000 };

async function unpack(zip: Buffer, limits: Partial<ArchiveLimits> = {}) {
  const path = join(tmp, `${++n}.zip`);
  await writeFile(path, zip);
  const out = join(tmp, `out-${n}`);
  return { out, result: await unpackDatasetArchive(path, out, { ...LIMITS, ...limits }) };
}

describe('unpackDatasetArchive', () => {
  it('unpacks a set into captions.json + images/, from a folder and with images beside the JSON', async () => {
    const set = await goodSet(4, 'my-set/');
    const { out, result } = await unpack(buildZip([...set.entries, { name: 'my-set/README.txt', data: Buffer.from('ignored') }]));
    expect(result).toEqual({ imageCount: 4, captionCount: 8 });
    expect((await readdir(out)).sort()).toEqual(['captions.json', 'images']);
    expect((await readdir(join(out, 'images'))).sort()).toEqual(['img0.png', 'img1.png', 'img2.png', 'img3.png']);
    expect((await readFile(join(out, 'captions.json'))).equals(set.entries[0]!.data)).toBe(true);

    const beside = set.entries.map((e) => ({ ...e, name: e.name.replace('my-set/images/', 'my-set/') }));
    expect((await unpack(buildZip(beside))).result).toEqual({ imageCount: 4, captionCount: 8 });
  });

  it('bounds the entry count and the uncompressed size, announced or actually inflated', async () => {
    const set = await goodSet(2);
    const many = [...set.entries, ...Array.from({ length: 10 }, (_, i) => ({ name: `junk/${i}.txt`, data: Buffer.from('x') }))];
    await expect(unpack(buildZip(many), { maxEntries: 5 })).rejects.toThrow(/the archive has 13 entries: at most 5/);

    // honest headers announcing 2 MB (a JSON padded with spaces deflates to a few KB)
    const padded = Buffer.concat([captionsJson(['images/img0.png']), Buffer.alloc(2 * 1024 * 1024, 0x20)]);
    const bomb = buildZip([{ name: 'captions.json', data: padded }, set.entries[1]!]);
    expect(bomb.length).toBeLessThan(20_000);
    await expect(unpack(bomb)).rejects.toThrow(/unpacks to more than 1048576 bytes/);
    // the same bomb announcing 100 bytes: caught while inflating
    await expect(unpack(lieAboutFirstSize(bomb, 100))).rejects.toThrow(/"captions.json" cannot be unpacked: too many bytes/);
    await expect(unpack(lieAboutFirstSize(bomb, 100), { maxUncompressedBytes: 50_000 })).rejects.toThrow();
  });

  it('refuses oversized images by their pixels', async () => {
    const set = await goodSet(1);
    await expect(unpack(buildZip(set.entries), { maxImagePixels: 100 })).rejects.toThrow(/32×32 pixels: at most 100/);
  });
});
