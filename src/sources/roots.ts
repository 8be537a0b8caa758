// Server paths that clients name (a COCO set's files, a backbone's model.json) must lie under one of
// the configured roots (GLIMPSE_DATASET_ROOTS, default the data dir), judged on the real path: `..`
// and symlinks resolved (realpath) where the path exists, the nearest existing ancestor otherwise.
// The API checks at input time; the worker checks again right before it reads (files change).
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * A path the roots do not contain. The message names neither the roots nor anything about the path
 * (it may be stored where anyone reads it); `roots` is there for callers that may name them.
 */
export class OutsideRootsError extends Error {
  readonly code = 'OUTSIDE_ROOTS';
  constructor(readonly roots: readonly string[]) {
    super('not an absolute path under the dataset roots (GLIMPSE_DATASET_ROOTS)');
    this.name = 'OutsideRootsError';
  }
}

/** realpath of `path`, or of its nearest existing ancestor joined with the rest */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await canonicalPath(parent), basename(absolute));
  }
}

function contains(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `path` when it is absolute and lies under one of `roots` (a root itself counts);
 * otherwise OutsideRootsError.
 */
export async function pathUnderRoots(path: string, roots: readonly string[]): Promise<string> {
  if (!isAbsolute(path) || path.includes('\u0000')) throw new OutsideRootsError(roots);
  const target = await canonicalPath(path);
  const real = await Promise.all(roots.map((r) => canonicalPath(r)));
  if (!real.some((root) => contains(root, target))) throw new OutsideRootsError(roots);
  return target;
}

/** A file's bytes, after checking it lies under the roots and holds at most `maxBytes`. */
export async function readFileUnderRoots(path: string, roots: readonly string[], maxBytes: number): Promise<Buffer> {
  const real = await pathUnderRoots(path, roots);
  const info = await stat(real);
  if (info.size > maxBytes) throw new Error(`${path}: larger than ${maxBytes} bytes`);
  return readFile(real);
}
