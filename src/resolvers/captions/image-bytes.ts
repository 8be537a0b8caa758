// Caption images as bytes: read from an upload or base64 under a byte cap, then sniffed by magic
// number, and its width × height read from the header (image-size) so that a small file announcing a huge
// bitmap is refused before anything decodes it. Only a cheap screen: the worker decodes fully and fails the
// request if the image is corrupt.
import type { Readable } from 'node:stream';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { imageSize } from 'image-size';
import { BadUserInputError } from '../shared/api-errors.ts';

/** The formats the model's image loader decodes (src/ml/data/images.ts), by signature. */
const SIGNATURES: { mime: string; matches: (b: Buffer) => boolean }[] = [
  { mime: 'image/jpeg', matches: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/png', matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/webp', matches: (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP' },
];

/** Width and height from the image's header, or undefined when the header does not say (the worker decides). */
export function headerDimensions(bytes: Buffer): { width: number; height: number } | undefined {
  try {
    const { width, height } = imageSize(bytes);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * MIME type of a JPEG/PNG/WebP image, BAD_USER_INPUT for anything else and for one whose header announces
 * more than `maxPixels` pixels (GLIMPSE_MAX_IMAGE_PIXELS).
 */
export function sniffImage(field: string, bytes: Buffer, maxPixels = Number.POSITIVE_INFINITY): string {
  if (bytes.length === 0) throw new BadUserInputError(field, 'the image is empty');
  const found = SIGNATURES.find((s) => s.matches(bytes));
  if (!found) throw new BadUserInputError(field, 'not a JPEG, PNG or WebP image');
  const size = headerDimensions(bytes);
  if (size && size.width * size.height > maxPixels) {
    throw new BadUserInputError(
      field,
      `image too large: ${size.width}×${size.height} pixels, at most ${maxPixels} pixels (GLIMPSE_MAX_IMAGE_PIXELS)`,
    );
  }
  return found.mime;
}

function tooLarge(field: string, maxBytes: number): BadUserInputError {
  return new BadUserInputError(field, `the image exceeds the limit of ${maxBytes} bytes`);
}

/** Reads an upload, stopping as soon as it passes `maxBytes`. */
export async function readUpload(field: string, upload: Promise<FileUpload>, maxBytes: number): Promise<Buffer> {
  const file = await upload;
  const chunks: Buffer[] = [];
  let size = 0;
  let stream: Readable | undefined;
  try {
    // throws at once when graphql-upload already cut the file at its own maxFileSize
    stream = file.createReadStream();
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw tooLarge(field, maxBytes);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    // graphql-upload's own maxFileSize guard raises an HTTP 413 error
    if ((error as { status?: number }).status === 413) throw tooLarge(field, maxBytes);
    throw error;
  } finally {
    stream?.destroy();
  }
  return Buffer.concat(chunks);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 (optionally a data: URL), checking the size before decoding. */
export function decodeBase64(field: string, text: string, maxBytes: number): Buffer {
  const body = text.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !BASE64.test(body)) throw new BadUserInputError(field, 'not valid base64');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  if ((body.length / 4) * 3 - padding > maxBytes) throw tooLarge(field, maxBytes);
  return Buffer.from(body, 'base64');
}
