import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError, type ImageErrorCode } from '../../../src/ml/data/data-errors.ts';
import { DEFAULT_MAX_PIXELS, imageInfo, loadImage, sha256 } from '../../../src/ml/data/images.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glimpse-images-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A width×height image whose left half is red and right half blue. */
function halves(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (x < width / 2) raw[o] = 255;
      else raw[o + 2] = 255;
      if (channels === 4) raw[o + 3] = 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels } });
}

/** Mean of one channel over a rectangle of an HWC [size, size, 3] image. */
function mean(px: Float32Array, size: number, c: number, rows: [number, number], cols: [number, number]): number {
  let sum = 0;
  let n = 0;
  for (let y = rows[0]; y < rows[1]; y++) {
    for (let x = cols[0]; x < cols[1]; x++) {
      sum += px[(y * size + x) * 3 + c]!;
      n++;
    }
  }
  return sum / n;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** A well-formed PNG header claiming width×height, followed by only 10 bytes of pixel data. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(10))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

async function expectImageError(p: Promise<unknown>, code: ImageErrorCode, file: string): Promise<ImageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  const e = err as ImageError;
  expect(e.code).toBe(code);
  expect(e.file).toBe(file);
  expect(e.message).toContain(file);
  return e;
}

describe('loadImage on good images', () => {
  it.each(['jpeg', 'png', 'webp'] as const)('decodes %s to [size, size, 3] floats in 0..1 with the colours in place', async (format) => {
    const file = join(dir, `halves.${format}`);
    const encoded = halves(32, 16).toFormat(format, { quality: 100 });
    await writeFile(file, await encoded.toBuffer());

    const px = await loadImage(file, { size: 8 });
    expect(px).toBeInstanceOf(Float32Array);
    expect(px.length).toBe(8 * 8 * 3);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    // left columns red, right columns blue (stay away from the resampled middle)
    expect(mean(px, 8, 0, [0, 8], [0, 3])).toBeGreaterThan(0.9);
    expect(mean(px, 8, 2, [0, 8], [0, 3])).toBeLessThan(0.1);
    expect(mean(px, 8, 2, [0, 8], [5, 8])).toBeGreaterThan(0.9);
    expect(mean(px, 8, 0, [0, 8], [5, 8])).toBeLessThan(0.1);

    expect(await imageInfo(file)).toEqual({ width: 32, height: 16, format });
  });

  it('applies the EXIF orientation before resizing', async () => {
    // orientation 6 = "rotate 90° clockwise to display": the stored left half ends up on top
    const bytes = await halves(32, 16).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await imageInfo(bytes)).orientation).toBe(6);
    const px = await loadImage(bytes, { size: 8 });
    expect(mean(px, 8, 0, [0, 3], [0, 8])).toBeGreaterThan(0.9); // top rows red
    expect(mean(px, 8, 2, [5, 8], [0, 8])).toBeGreaterThan(0.9); // bottom rows blue
  });

  it('flattens alpha onto black and expands greyscale and 16-bit images to 8-bit RGB', async () => {
    const rgba = Buffer.alloc(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([255, 255, 255, i < 8 ? 0 : 255], i * 4); // top half transparent
    const transparent = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toBuffer();
    const px = await loadImage(transparent, { size: 4 });
    expect(px.length).toBe(48);
    expect(mean(px, 4, 1, [0, 1], [0, 4])).toBeLessThan(0.05);
    expect(mean(px, 4, 1, [3, 4], [0, 4])).toBeGreaterThan(0.95);

    const grey = await sharp({ create: { width: 5, height: 3, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .greyscale()
      .png()
      .toBuffer();
    const g = await loadImage(grey, { size: 4 });
    expect(g.length).toBe(48);
    for (const v of g) expect(v).toBeCloseTo(128 / 255, 2);

    const deep = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const d = await loadImage(deep, { size: 2 });
    expect(Array.from(d.subarray(0, 3)).map((v) => Math.round(v * 255))).toEqual([255, 0, 0]);
  });

  it('hashes image bytes with sha256', () => {
    expect(sha256(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('loadImage on bad images gives a typed error naming the file', () => {
  it('empty file', async () => {
    const file = join(dir, 'empty.jpg');
    await writeFile(file, Buffer.alloc(0));
    await expectImageError(loadImage(file, { size: 8 }), 'EMPTY_IMAGE', file);
    await expectImageError(imageInfo(Buffer.alloc(0), { name: 'upload.png' }), 'EMPTY_IMAGE', 'upload.png');
  });

  it('missing file', async () => {
    const file = join(dir, 'does-not-exist.png');
    await expectImageError(loadImage(file, { size: 8 }), 'FILE_NOT_FOUND', file);
  });

  it('text file with an image extension', async () => {
    const file = join(dir, 'notes.jpg');
    await writeFile(file, 'this is not an image\n'.repeat(20));
    await expectImageError(loadImage(file, { size: 8 }), 'NOT_AN_IMAGE', file);
  });

  it('image format other than JPEG/PNG/WebP', async () => {
    const gif = await halves(8, 8).gif().toBuffer();
    const e = await expectImageError(loadImage(gif, { size: 8, name: 'anim.gif' }), 'UNSUPPORTED_FORMAT', 'anim.gif');
    expect(e.message).toContain('gif');
  });

  it('truncated JPEG', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3a7' } })
      .composite([{ input: await halves(32, 32).png().toBuffer() }])
      .jpeg()
      .toBuffer();
    const file = join(dir, 'truncated.jpg');
    await writeFile(file, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
    await expectImageError(loadImage(file, { size: 8 }), 'CORRUPT_IMAGE', file);
  });

  it('truncated PNG', async () => {
    const png = await halves(64, 64).png({ compressionLevel: 0 }).toBuffer();
    const file = join(dir, 'truncated.png');
    await writeFile(file, png.subarray(0, Math.floor(png.length / 2)));
    await expectImageError(loadImage(file, { size: 8 }), 'CORRUPT_IMAGE', file);
  });

  it('JPEG signature followed by garbage', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 0x5a)]);
    await expectImageError(loadImage(bytes, { size: 8, name: 'garbage.jpg' }), 'CORRUPT_IMAGE', 'garbage.jpg');
  });

  it('over-large image, refused from its header before any pixel is decoded', async () => {
    // the header claims 10000×10000 but there is almost no pixel data: a decode would fail as
    // corrupt, so IMAGE_TOO_LARGE shows the limit was checked from the header alone
    const file = join(dir, 'huge.png');
    await writeFile(file, pngHeaderOnly(10_000, 10_000));
    await expectImageError(loadImage(file, { size: 8, maxPixels: 200_000_000 }), 'CORRUPT_IMAGE', file);
    expect(10_000 * 10_000).toBeGreaterThan(DEFAULT_MAX_PIXELS);
    const e = await expectImageError(loadImage(file, { size: 8 }), 'IMAGE_TOO_LARGE', file);
    expect(e.message).toContain('10000×10000');
    await expectImageError(imageInfo(file), 'IMAGE_TOO_LARGE', file);

    // the limit is configurable
    const small = await halves(100, 100).png().toBuffer();
    await expectImageError(loadImage(small, { size: 8, maxPixels: 5_000, name: 'a.png' }), 'IMAGE_TOO_LARGE', 'a.png');
    expect((await loadImage(small, { size: 8, maxPixels: 10_000 })).length).toBe(192);
  });
});
