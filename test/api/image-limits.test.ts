// Caption images at the default limits: a 12 MB image in base64 (a 16 MB body) is BAD_USER_INPUT like any
// oversize image, and a small PNG whose header announces 30000×30000 pixels is refused before decoding.
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
let modelId: string;
beforeAll(async () => {
  t = await startTestApi(); // GLIMPSE_MAX_IMAGE_BYTES 10 MiB, GLIMPSE_MAX_IMAGE_PIXELS 40 000 000
  modelId = (await t.db.prisma.model.create({ data: { name: 'm', path: '/models/m', vocabSize: 20, config: {} } })).id;
});
afterAll(() => t?.close());

const REQUEST = `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id mimeType } }`;

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid PNG header for width × height (8-bit grey) with a token IDAT: a few hundred bytes. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(width + 1))), // one row: a bomb would carry the rest compressed
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('caption image limits', () => {
  it('answers a 12 MB image in base64 with BAD_USER_INPUT, not an HTTP-level BAD_REQUEST', async () => {
    const base64 = Buffer.alloc(12 * 1024 * 1024, 7).toString('base64');
    const body = JSON.stringify({ query: REQUEST, variables: { input: { modelId, imageBase64: base64 } } });
    const res = await t.post(body);
    expect(codes(res.json)).toEqual(['BAD_USER_INPUT']);
    expect(res.json.errors![0]!.message).toMatch(/caption images may be at most 10485760 bytes/);
    expect(await t.db.prisma.captionRequest.count()).toBe(0);
  });

  it('refuses a PNG announcing 30000×30000 pixels from its header', async () => {
    const bomb = pngHeader(30000, 30000);
    expect(bomb.length).toBeLessThan(1000);
    const res = await t.gql(REQUEST, { input: { modelId, imageBase64: bomb.toString('base64') } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.message).toBe(
      'input.imageBase64: image too large: 30000×30000 pixels, at most 40000000 pixels (GLIMPSE_MAX_IMAGE_PIXELS)',
    );
    expect(await t.db.prisma.captionRequest.count()).toBe(0);
  });

  it('reads JPEG and WebP headers too, and accepts an ordinary photo size', async () => {
    const big = await startTestApi({ GLIMPSE_MAX_IMAGE_PIXELS: String(100 * 100) });
    try {
      const model = await big.db.prisma.model.create({ data: { name: 'm', path: '/m', vocabSize: 20, config: {} } });
      const image = sharp({ create: { width: 200, height: 150, channels: 3, background: { r: 1, g: 2, b: 3 } } });
      for (const bytes of [await image.clone().jpeg().toBuffer(), await image.clone().webp().toBuffer()]) {
        const res = await big.gql(REQUEST, { input: { modelId: model.id, imageBase64: bytes.toString('base64') } });
        expect(res.errors![0]!.message).toMatch(/image too large: 200×150 pixels, at most 10000 pixels/);
      }
      const ok = await t.gql(REQUEST, {
        input: {
          modelId,
          imageBase64: (
            await sharp({ create: { width: 4000, height: 3000, channels: 3, background: 'white' } })
              .jpeg()
              .toBuffer()
          ).toString('base64'),
        },
      });
      expect(ok.errors).toBeUndefined();
      expect(ok.data!.requestCaption.mimeType).toBe('image/jpeg');
    } finally {
      await big.close();
    }
  });
});
