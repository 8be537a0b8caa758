// Image decoding for the model: any JPEG/PNG/WebP file → RGB HWC floats in 0..1 at size×size.
// Every failure becomes an ImageError naming the file; nothing here lets sharp/libvips crash a caller.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { ImageError } from './data-errors.ts';
import { resizePixels } from './resize.ts';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface ImageInfo {
  width: number;
  height: number;
  format: ImageFormat;
  /** EXIF orientation tag (1..8) when present */
  orientation?: number;
}

export interface LoadImageOptions {
  /** output side in pixels; the image is stretched to size×size (no crop), like tf.image.resize */
  size: number;
  /** refuse images with more pixels than this, checked from the header before decoding */
  maxPixels?: number;
  /** name used in errors when `source` is a Buffer (default "<buffer>") */
  name?: string;
}

/** 40 megapixels: larger than any COCO image (640×480) by far, small enough to bound decode memory. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Magic numbers of the accepted formats; anything else is rejected before libvips sees it. */
function sniffFormat(bytes: Buffer): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'png';
  }
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    return 'webp';
  }
  return null;
}

async function readSource(source: string | Buffer, name: string): Promise<Buffer> {
  if (typeof source !== 'string') return source;
  try {
    return await readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageError('FILE_NOT_FOUND', name, 'no such file', { cause: err });
    if (code === 'EISDIR') throw new ImageError('NOT_AN_IMAGE', name, 'is a directory', { cause: err });
    throw new ImageError('NOT_AN_IMAGE', name, `cannot read file: ${(err as Error).message}`, { cause: err });
  }
}

/** Classifies bytes that are not JPEG/PNG/WebP: another image format libvips knows, or not an image. */
async function rejectUnknown(bytes: Buffer, name: string): Promise<never> {
  let other: string | undefined;
  try {
    other = (await sharp(bytes).metadata()).format;
  } catch {
    other = undefined;
  }
  if (other) throw new ImageError('UNSUPPORTED_FORMAT', name, `${other} images are not supported (use JPEG, PNG or WebP)`);
  throw new ImageError('NOT_AN_IMAGE', name, 'not an image (no JPEG, PNG or WebP signature)');
}

/** Reads the header only (no pixel decode) and validates format and pixel count. */
async function inspect(bytes: Buffer, name: string, maxPixels: number): Promise<ImageInfo> {
  if (bytes.length === 0) throw new ImageError('EMPTY_IMAGE', name, 'file is empty');
  const format = sniffFormat(bytes);
  if (!format) return rejectUnknown(bytes, name);
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new ImageError('CORRUPT_IMAGE', name, `unreadable ${format} header: ${(err as Error).message}`, { cause: err });
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageError('CORRUPT_IMAGE', name, `${format} header has no dimensions`);
  if (width * height > maxPixels) {
    throw new ImageError('IMAGE_TOO_LARGE', name, `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels}`);
  }
  return { width, height, format, ...(meta.orientation ? { orientation: meta.orientation } : {}) };
}

function displayName(source: string | Buffer, name: string | undefined): string {
  return name ?? (typeof source === 'string' ? source : '<buffer>');
}

/** Header information of a JPEG/PNG/WebP image, validated like `loadImage` but without decoding pixels. */
export async function imageInfo(source: string | Buffer, opts: { maxPixels?: number; name?: string } = {}): Promise<ImageInfo> {
  const name = displayName(source, opts.name);
  return inspect(await readSource(source, name), name, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
}

/**
 * Decodes an image to 8-bit sRGB RGB, applies its EXIF orientation, flattens alpha onto black, stretches it
 * to size×size with resizePixels (./resize.ts) and scales to 0..1. Returns HWC floats: [size, size, 3] in
 * row-major order.
 */
export async function loadImage(source: string | Buffer, opts: LoadImageOptions): Promise<Float32Array> {
  const { size } = opts;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`loadImage: size must be a positive integer, got ${size}`);
  const name = displayName(source, opts.name);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const bytes = await readSource(source, name);
  const info = await inspect(bytes, name, maxPixels);
  let pixels: Buffer;
  let width: number;
  let height: number;
  try {
    // decoded at full size; the resize is ./resize.ts's, the one the browser runs too
    const { data, info: raw } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels })
      .autoOrient()
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    pixels = data;
    ({ width, height } = raw);
  } catch (err) {
    throw new ImageError('CORRUPT_IMAGE', name, `cannot decode ${info.format}: ${(err as Error).message}`, { cause: err });
  }
  if (pixels.length !== width * height * 3) {
    throw new ImageError('CORRUPT_IMAGE', name, `decoded ${pixels.length} bytes, expected ${width * height * 3}`);
  }
  return resizePixels(pixels, width, height, 3, size); // [size, size, 3]
}

/** Hex SHA-256 of the image bytes (for feature caches keyed by content). */
export function sha256(bytes: Buffer | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
