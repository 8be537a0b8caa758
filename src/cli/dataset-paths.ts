// Where a dataset's captions JSON and images are: `--data DIR` (a synthetic set written by
// `dataset synth`, or a folder filled by `dataset coco`), or explicit --annotations/--images.

import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cocoPaths } from '../ml/data/download.ts';
import { SHAPES_ANNOTATIONS_FILE, SHAPES_IMAGES_DIR } from '../ml/data/shapes.ts';
import { CliError } from './cli-errors.ts';

export interface DataOptions {
  data?: string;
  annotations?: string;
  images?: string;
}

export interface DatasetPaths {
  annotationsPath: string;
  imagesDir: string;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export async function resolveDatasetPaths(opts: DataOptions): Promise<DatasetPaths> {
  if (opts.annotations || opts.images) {
    if (!opts.annotations || !opts.images) {
      throw new CliError('INVALID_OPTION', '--annotations and --images go together');
    }
    return { annotationsPath: resolve(opts.annotations), imagesDir: resolve(opts.images) };
  }
  if (!opts.data) throw new CliError('INVALID_OPTION', 'give --data DIR, or --annotations FILE with --images DIR');
  const dir = resolve(opts.data);
  const synthetic = { annotationsPath: join(dir, SHAPES_ANNOTATIONS_FILE), imagesDir: join(dir, SHAPES_IMAGES_DIR) };
  if (await exists(synthetic.annotationsPath)) return synthetic;
  const coco = cocoPaths(dir);
  if (await exists(coco.annotationsPath)) return coco;
  throw new CliError(
    'MISSING_DATA',
    `${dir} holds neither ${SHAPES_ANNOTATIONS_FILE} (dataset synth) nor ${coco.annotationsPath} (dataset coco)`,
  );
}
