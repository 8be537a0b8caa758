// The dataset zip checker on its own, with small bounds: entry count, announced and actually
// inflated sizes (zip bombs), the decode budget (per image, per archive, from the headers), layouts it
// accepts. The API path is test/api/dataset-upload.test.ts (and test/api/upload-budget.test.ts).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackDatasetArchive, type ArchiveLimits } from '../../src/sources/dataset-archive.ts';
import { createImageCheckPool } from '../../src/sources/image-check-pool.ts';
import { buildZip, captionsJson, goodSet, lieAboutFirstSize } from '../api/dataset-upload-fixture.ts';

let tmp: string;
let n = 0;
const pool = createImageCheckPool(1);
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'glimpse-archive-'));
});
afterAll(async () => {
  await pool.close();
  await rm(tmp, { recursive: true, force: true });
});

const LIMITS: ArchiveLimits = {
  maxEntries: 100,
  maxUncompressedBytes: 1024 * 1024,
  maxImagePixels: 1_000_000,
  maxImageDecodedBytes: 1024 * 1024,
  maxDecodedBytes: 4 * 1024 * 1024,
  checkSeconds: 60,
};

async function unpack(zip: Buffer, limits: Partial<ArchiveLimits> = {}) {
  const path = join(tmp, `${++n}.zip`);
  await writeFile(path, zip);
  const out = join(tmp, `out-${n}`);
  return { out, result: await unpackDatasetArchive(path, out, { ...LIMITS, ...limits }, pool) };
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

  it('bounds decoded bytes per image and per archive from the headers: width × height × channels × bytes per sample', async () => {
    // goodSet's PNGs: 32×32 RGB, 8-bit → 3,072 bytes each
    const set = await goodSet(3);
    await expect(unpack(buildZip(set.entries), { maxImageDecodedBytes: 3071 })).rejects.toThrow(
      '"images/img0.png" decodes to 3072 bytes (32×32 pixels × 3 channels × 1 bytes): at most 3071 per image (GLIMPSE_MAX_DECODED_IMAGE_BYTES)',
    );
    expect((await unpack(buildZip(set.entries), { maxImageDecodedBytes: 3072, maxDecodedBytes: 3 * 3072 })).result.imageCount).toBe(3);
    await expect(unpack(buildZip(set.entries), { maxDecodedBytes: 3 * 3072 - 1 })).rejects.toThrow(
      /the archive's images decode to more than 9215 bytes in all .*GLIMPSE_MAX_DATASET_DECODED_BYTES/,
    );
    // 16 bits per sample count twice: 32×32 RGBA 16-bit → 8,192 bytes
    const deep = await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 1 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const one = await goodSet(1);
    await expect(
      unpack(buildZip([one.entries[0]!, { name: 'images/img0.png', data: deep }]), { maxImageDecodedBytes: 8191 }),
    ).rejects.toThrow(/decodes to 8192 bytes \(32×32 pixels × 4 channels × 2 bytes\)/);
  });

  it('refuses an archive whose checks outlast the deadline', async () => {
    const set = await goodSet(2);
    await expect(unpack(buildZip(set.entries), { checkSeconds: 0.001 })).rejects.toThrow(
      /checking the archive took longer than 0.001 s \(GLIMPSE_DATASET_CHECK_SECONDS\)/,
    );
  });

  it('names files from the zip and the JSON by a short prefix', async () => {
    const long = `${'x'.repeat(100_000)}.png`;
    const set = await goodSet(1);
    const error = await unpack(buildZip([{ name: 'captions.json', data: captionsJson([long]) }, set.entries[1]!])).catch((e: Error) => e);
    expect((error as Error).message).toBe(`1 image(s) captioned in "captions.json" are not in the archive: "${'x'.repeat(64)}…"`);
    const outside = await unpack(buildZip([{ name: 'captions.json', data: captionsJson([`../${long}`]) }])).catch((e: Error) => e);
    expect((outside as Error).message.length).toBeLessThan(200);
  });
});
