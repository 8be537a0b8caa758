// COCO captions format (captions_train2014.json and the synthetic shapes set): images + annotations
// → one CaptionedImage per image, with its captions in file order. Every problem is a DatasetError.
import { access, readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Rng } from '../random.ts';
import type { CaptionedImage } from '../types.ts';
import { DatasetError } from './data-errors.ts';

export interface LoadCocoOptions {
  annotationsPath: string;
  imagesDir: string;
  /** keep only the first N captions in file order (the seed trains on the first 30,000) */
  maxCaptions?: number;
  /** check that every image file exists (default true) */
  checkFiles?: boolean;
}

type ObjectBox = NonNullable<CaptionedImage['objects']>[number];

/** files checked for existence at once */
const STAT_CONCURRENCY = 64;
/** missing files named in the error message */
const MISSING_LISTED = 5;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number | string {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length > 0);
}

function parseObjects(raw: unknown, where: string, file: string): ObjectBox[] {
  if (!Array.isArray(raw)) throw new DatasetError('INVALID_FORMAT', file, `${where} must be an array`);
  return raw.map((o, i) => {
    const at = `${where}[${i}]`;
    if (!isRecord(o)) throw new DatasetError('INVALID_FORMAT', file, `${at} must be an object`);
    const { shape, color, size, bbox } = o;
    if (typeof shape !== 'string' || typeof color !== 'string' || typeof size !== 'string') {
      throw new DatasetError('INVALID_FORMAT', file, `${at} needs string shape, color and size`);
    }
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) {
      throw new DatasetError('INVALID_FORMAT', file, `${at}.bbox must be [x, y, width, height] normalised to 0..1`);
    }
    return { shape, color, size, bbox: bbox as ObjectBox['bbox'] };
  });
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const kind = code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INVALID_FORMAT';
    throw new DatasetError(kind, path, `cannot read the annotations file${code ? ` (${code})` : ''}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse's message quotes the text around the error: only its position is kept
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new DatasetError('INVALID_JSON', path, `malformed JSON${position ? ` at position ${position}` : ''}`, { cause: err });
  }
}

/** Image entries by id; file names must stay inside imagesDir. */
function parseImages(doc: Record<string, unknown>, imagesDir: string, path: string): Map<string, CaptionedImage> {
  if (!Array.isArray(doc.images)) throw new DatasetError('INVALID_FORMAT', path, 'missing "images" array');
  const images = new Map<string, CaptionedImage>();
  doc.images.forEach((entry: unknown, i) => {
    const at = `images[${i}]`;
    if (!isRecord(entry)) throw new DatasetError('INVALID_FORMAT', path, `${at} must be an object`);
    if (!isId(entry.id)) throw new DatasetError('INVALID_FORMAT', path, `${at}.id is missing`);
    if (typeof entry.file_name !== 'string' || entry.file_name === '') {
      throw new DatasetError('INVALID_FORMAT', path, `${at}.file_name is missing`);
    }
    const file = resolve(imagesDir, entry.file_name);
    const rel = relative(resolve(imagesDir), file);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new DatasetError('INVALID_FORMAT', path, `${at}.file_name points outside the image folder`);
    }
    const id = String(entry.id);
    if (images.has(id)) throw new DatasetError('INVALID_FORMAT', path, `${at}.id appears twice`);
    const image: CaptionedImage = { id, file, captions: [] };
    if (entry.objects !== undefined) image.objects = parseObjects(entry.objects, `${at}.objects`, path);
    images.set(id, image);
  });
  return images;
}

async function assertFilesExist(images: CaptionedImage[], path: string): Promise<void> {
  const missing: string[] = [];
  for (let i = 0; i < images.length; i += STAT_CONCURRENCY) {
    const batch = images.slice(i, i + STAT_CONCURRENCY);
    const found = await Promise.all(
      batch.map((img) =>
        access(img.file).then(
          () => true,
          () => false,
        ),
      ),
    );
    batch.forEach((img, j) => {
      if (!found[j]) missing.push(img.file);
    });
  }
  if (missing.length > 0) {
    const listed = missing.slice(0, MISSING_LISTED).join(', ');
    const more = missing.length > MISSING_LISTED ? ` and ${missing.length - MISSING_LISTED} more` : '';
    throw new DatasetError('MISSING_IMAGE', missing[0]!, `${missing.length} image file(s) listed in the annotations do not exist`, {
      more: `${listed}${more} (listed in ${path})`,
    });
  }
}

/** Loads a COCO captions dataset: images that have at least one (kept) caption, in order of first caption. */
export async function loadCocoCaptions(opts: LoadCocoOptions): Promise<CaptionedImage[]> {
  const { annotationsPath: path, imagesDir, maxCaptions, checkFiles = true } = opts;
  if (maxCaptions !== undefined && (!Number.isInteger(maxCaptions) || maxCaptions <= 0)) {
    throw new DatasetError('INVALID_ARGUMENT', path, 'maxCaptions must be a positive integer', { more: `got ${maxCaptions}` });
  }
  const doc = await readJson(path);
  if (!isRecord(doc)) throw new DatasetError('INVALID_FORMAT', path, 'top level must be an object');
  const byId = parseImages(doc, imagesDir, path);
  if (!Array.isArray(doc.annotations)) throw new DatasetError('INVALID_FORMAT', path, 'missing "annotations" array');

  const used: CaptionedImage[] = [];
  const annotations = maxCaptions === undefined ? doc.annotations : doc.annotations.slice(0, maxCaptions);
  annotations.forEach((a: unknown, i) => {
    const at = `annotations[${i}]`;
    if (!isRecord(a)) throw new DatasetError('INVALID_FORMAT', path, `${at} must be an object`);
    if (!isId(a.image_id)) throw new DatasetError('INVALID_FORMAT', path, `${at}.image_id is missing`);
    if (typeof a.caption !== 'string') throw new DatasetError('INVALID_FORMAT', path, `${at}.caption must be a string`);
    const image = byId.get(String(a.image_id));
    if (!image) throw new DatasetError('INVALID_FORMAT', path, `${at}.image_id is not the id of any entry of "images"`);
    if (image.captions.length === 0) used.push(image);
    image.captions.push(a.caption.trim());
  });
  if (used.length === 0) throw new DatasetError('EMPTY_DATASET', path, 'no captions');
  if (checkFiles) await assertFilesExist(used, path);
  return used;
}

/**
 * Seeded split by image: the same image (same file) never lands in both parts. With at least two
 * images and valFraction > 0, each part gets at least one image.
 */
export function splitByImage(
  images: readonly CaptionedImage[],
  valFraction: number,
  seed: number,
): { train: CaptionedImage[]; val: CaptionedImage[] } {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new DatasetError('INVALID_ARGUMENT', '<split>', `valFraction must be in [0, 1), got ${valFraction}`);
  }
  const groups = new Map<string, CaptionedImage[]>();
  for (const image of images) {
    const group = groups.get(image.file);
    if (group) group.push(image);
    else groups.set(image.file, [image]);
  }
  const keys = new Rng(seed).shuffle([...groups.keys()]);
  let valCount = Math.round(keys.length * valFraction);
  if (valFraction > 0 && keys.length >= 2) valCount = Math.min(Math.max(valCount, 1), keys.length - 1);
  const pick = (part: string[]) => part.flatMap((key) => groups.get(key)!);
  return { val: pick(keys.slice(0, valCount)), train: pick(keys.slice(valCount)) };
}
