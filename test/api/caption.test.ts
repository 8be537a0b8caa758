// requestCaption over real HTTP: multipart upload (with Apollo's CSRF preflight header) and base64,
// magic-number screening, size limit, and nothing written when a request is refused.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type GraphQLResponse, type TestApi } from './harness.ts';

const MAX_BYTES = 4096;
let t: TestApi;
let modelId: string;
let png: Buffer;
let jpeg: Buffer;
let noisy: Buffer;

beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_MAX_IMAGE_BYTES: String(MAX_BYTES) }); // the limit comes from the configuration
  const model = await t.db.prisma.model.create({ data: { name: 'm', path: '/models/m', vocabSize: 20, config: { units: 8 } } });
  modelId = model.id;
  const gradient = sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 40, b: 90 } } });
  png = await gradient.clone().png().toBuffer();
  jpeg = await gradient.clone().jpeg().toBuffer();
  const random = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 2654435761) % 251));
  noisy = await sharp(random, { raw: { width: 64, height: 64, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
});
afterAll(() => t?.close());

const REQUEST = `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id status method beamWidth imageHash mimeType } }`;

async function upload(
  bytes: Buffer,
  headers: Record<string, string> = { 'apollo-require-preflight': 'true' },
): Promise<{ status: number; body: GraphQLResponse }> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: REQUEST, variables: { input: { modelId, image: null, method: 'BEAM', beamWidth: 4 } } }));
  form.set('map', JSON.stringify({ 0: ['variables.input.image'] }));
  form.set('0', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'image.png');
  const res = await fetch(t.api.url, { method: 'POST', body: form, headers });
  return { status: res.status, body: (await res.json()) as GraphQLResponse };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('requestCaption', () => {
  it('accepts a multipart upload, stores bytes and hash, enqueues the job', async () => {
    const depth = (await t.queue.depth()).caption;
    const { status, body } = await upload(png);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const request = body.data!.requestCaption;
    expect(request).toMatchObject({ status: 'QUEUED', method: 'BEAM', beamWidth: 4, imageHash: sha256(png), mimeType: 'image/png' });
    const row = await t.db.prisma.captionRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(Buffer.from(row.imageBytes!).equals(png)).toBe(true);
    expect((await t.queue.depth()).caption).toBe(depth + 1);
  });

  it('refuses a multipart request without a preflight header (CSRF prevention)', async () => {
    const before = await t.db.prisma.captionRequest.count();
    const { status, body } = await upload(png, {});
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toMatch(/apollo-require-preflight/);
    expect(await t.db.prisma.captionRequest.count()).toBe(before);
  });

  it('accepts base64, with or without a data: URL prefix', async () => {
    for (const imageBase64 of [jpeg.toString('base64'), `data:image/jpeg;base64,${jpeg.toString('base64')}`]) {
      const res = await t.gql(REQUEST, { input: { modelId, imageBase64 } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.requestCaption).toMatchObject({
        status: 'QUEUED',
        method: 'BEAM', // the caption settings' default
        imageHash: sha256(jpeg),
        mimeType: 'image/jpeg',
      });
    }
  });

  it('refuses oversize, non-image, empty and ambiguous input with BAD_USER_INPUT, writing nothing', async () => {
    expect(noisy.length).toBeGreaterThan(MAX_BYTES);
    const before = await t.db.prisma.captionRequest.count();
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    const refused: [GraphQLResponse, RegExp][] = [
      [(await upload(noisy)).body, /input\.image: the image exceeds the limit of 4096 bytes/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: noisy.toString('base64') } }), /input\.imageBase64: the image exceeds/],
      [(await upload(Buffer.from('definitely not an image'))).body, /input\.image: not a JPEG, PNG or WebP image/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: gif.toString('base64') } }), /not a JPEG, PNG or WebP/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: '' } }), /the image is empty/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: 'not base64!' } }), /not valid base64/],
      [await t.gql(REQUEST, { input: { modelId } }), /exactly one of input\.image, input\.imageBase64/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: png.toString('base64'), beamWidth: 50 } }), /input\.beamWidth/],
      [await t.gql(REQUEST, { input: { modelId, imageBase64: png.toString('base64'), temperature: 0 } }), /input\.temperature/],
    ];
    for (const [res, message] of refused) {
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(message);
    }
    expect(await t.db.prisma.captionRequest.count()).toBe(before);
  });

  it('NOT_FOUND for an unknown model or request', async () => {
    const res = await t.gql(REQUEST, { input: { modelId: 'no-such-model', imageBase64: png.toString('base64') } });
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(`{ captionRequest(id: "nope") { id } }`))).toEqual(['NOT_FOUND']);
  });

  it('returns a request with its tokens and attention', async () => {
    const id = (await t.gql(REQUEST, { input: { modelId, imageBase64: png.toString('base64') } })).data!.requestCaption.id;
    await t.db.prisma.captionToken.createMany({
      data: [
        { requestId: id, index: 0, token: 'a', attention: [0.25, 0.25, 0.25, 0.25], logProb: -0.1 },
        { requestId: id, index: 1, token: 'circle', attention: [0.7, 0.1, 0.1, 0.1], logProb: -0.5 },
      ],
    });
    await t.db.prisma.captionRequest.update({ where: { id }, data: { status: 'SUCCEEDED', caption: 'a circle', gridSize: 2 } });
    const res = await t.gql(
      `query($id: ID!) { captionRequest(id: $id) { status caption gridSize tokens { index token attention logProb } } }`,
      { id },
    );
    expect(res.data!.captionRequest).toEqual({
      status: 'SUCCEEDED',
      caption: 'a circle',
      gridSize: 2,
      tokens: [
        { index: 0, token: 'a', attention: [0.25, 0.25, 0.25, 0.25], logProb: -0.1 },
        { index: 1, token: 'circle', attention: [0.7, 0.1, 0.1, 0.1], logProb: -0.5 },
      ],
    });
  });
});
