// Synthetic "shapes" dataset in COCO captions format: PNG files plus a captions JSON whose image
// entries carry each object's normalised box. Deterministic: the same seed gives identical bytes.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../random.ts';
import { DatasetError } from './data-errors.ts';
import { describeScene } from './shapes/captions.ts';
import { drawScene } from './shapes/draw.ts';
import { sampleScene, type SceneObject } from './shapes/scene.ts';

export interface GenerateShapesOptions {
  outDir: string;
  /** number of images */
  images: number;
  seed: number;
  /** side of each PNG in pixels (default 64) */
  imageSize?: number;
  /**
   * called after each PNG is written with the count written so far: `done` rises by one per call
   * (writes run concurrently, so not in id order) and the last call has done === total
   */
  onProgress?: (done: number, total: number) => void;
  /** checked before each image: generation stops (throwing the signal's reason) once it is aborted */
  signal?: AbortSignal;
}

export interface GeneratedShapes {
  /** the captions JSON (COCO format), `<outDir>/captions.json` */
  annotationsPath: string;
  /** folder of the PNG files, `<outDir>/images` */
  imagesDir: string;
  imageCount: number;
  captionCount: number;
}

/** One object as stored in the JSON: bbox = [x, y, width, height] normalised to 0..1 (COCO order). */
export interface ShapeObjectJson {
  shape: string;
  color: string;
  size: string;
  bbox: [number, number, number, number];
}

export const SHAPES_ANNOTATIONS_FILE = 'captions.json';
export const SHAPES_IMAGES_DIR = 'images';
/** the grid needs cells of at least 8 px for a small object to be recognisable */
const MIN_IMAGE_SIZE = 24;
/** PNG encodes in flight at once */
const WRITE_CONCURRENCY = 8;

function toJson(o: SceneObject, imageSize: number): ShapeObjectJson {
  const n = (v: number) => Number((v / imageSize).toFixed(6));
  return { shape: o.shape, color: o.color, size: o.size, bbox: [n(o.x), n(o.y), n(o.side), n(o.side)] };
}

async function writePng(file: string, pixels: Buffer, imageSize: number): Promise<void> {
  const png = await sharp(pixels, { raw: { width: imageSize, height: imageSize, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
  await writeFile(file, png);
}

export async function generateShapes(opts: GenerateShapesOptions): Promise<GeneratedShapes> {
  const { outDir, images, seed, imageSize = 64, onProgress } = opts;
  if (!Number.isInteger(images) || images <= 0) {
    throw new DatasetError('INVALID_ARGUMENT', outDir, `images must be a positive integer, got ${images}`);
  }
  if (!Number.isInteger(imageSize) || imageSize < MIN_IMAGE_SIZE) {
    throw new DatasetError('INVALID_ARGUMENT', outDir, `imageSize must be an integer ≥ ${MIN_IMAGE_SIZE}, got ${imageSize}`);
  }
  if (!Number.isInteger(seed)) throw new DatasetError('INVALID_ARGUMENT', outDir, `seed must be an integer, got ${seed}`);

  const imagesDir = join(outDir, SHAPES_IMAGES_DIR);
  await mkdir(imagesDir, { recursive: true });
  const rng = new Rng(seed);
  const digits = Math.max(6, String(images).length);
  const imageEntries = [];
  const annotations = [];
  const pending = new Set<Promise<void>>();
  let written = 0;

  try {
    for (let id = 1; id <= images; id++) {
      opts.signal?.throwIfAborted();
      const objects = sampleScene(rng, imageSize);
      const fileName = `shapes_${String(id).padStart(digits, '0')}.png`;
      imageEntries.push({
        id,
        file_name: fileName,
        width: imageSize,
        height: imageSize,
        objects: objects.map((o) => toJson(o, imageSize)),
      });
      for (const caption of describeScene(objects)) {
        annotations.push({ id: annotations.length + 1, image_id: id, caption });
      }
      const write = writePng(join(imagesDir, fileName), drawScene(objects, imageSize), imageSize)
        .then(() => onProgress?.(++written, images))
        .finally(() => pending.delete(write));
      pending.add(write);
      if (pending.size >= WRITE_CONCURRENCY) await Promise.race(pending);
    }
    await Promise.all(pending);
  } catch (err) {
    await Promise.allSettled(pending); // leave no write running (or rejecting unobserved) behind
    throw err;
  }

  const annotationsPath = join(outDir, SHAPES_ANNOTATIONS_FILE);
  const json = {
    info: { description: 'Glimpse synthetic shapes', seed, imageSize },
    images: imageEntries,
    annotations,
  };
  await writeFile(annotationsPath, JSON.stringify(json));
  return { annotationsPath, imagesDir, imageCount: images, captionCount: annotations.length };
}
