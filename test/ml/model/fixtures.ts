// Shared test fixtures: a synthetic shapes set on disk (real PNGs through the real loaders).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadCocoCaptions } from '../../../src/ml/data/coco.ts';
import { generateShapes } from '../../../src/ml/data/shapes.ts';
import type { CaptionedImage } from '../../../src/ml/types.ts';

export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `glimpse-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function shapesImages(dir: string, images: number, seed: number, imageSize: number): Promise<CaptionedImage[]> {
  const set = await generateShapes({ outDir: path.join(dir, 'shapes'), images, seed, imageSize });
  return loadCocoCaptions({ annotationsPath: set.annotationsPath, imagesDir: set.imagesDir });
}
