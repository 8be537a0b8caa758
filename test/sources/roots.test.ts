// Server paths under the dataset roots, judged on real paths: `..` and symlinks out of a root are
// refused, paths that do not exist yet are judged by their nearest existing folder.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutsideRootsError, pathUnderRoots, readFileUnderRoots } from '../../src/sources/roots.ts';

let base: string;
let root: string;
let other: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'glimpse-roots-'));
  root = join(base, 'root');
  other = join(base, 'other');
  await mkdir(join(root, 'coco'), { recursive: true });
  await mkdir(other, { recursive: true });
  await writeFile(join(root, 'coco', 'captions.json'), '{}');
  await writeFile(join(other, 'secret.json'), 'root:*:19000:0:99999:7:::');
  await symlink(join(other, 'secret.json'), join(root, 'coco', 'link.json'));
  await symlink(other, join(root, 'linked-dir'));
});
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

const refused = (path: string) => expect(pathUnderRoots(path, [root])).rejects.toBeInstanceOf(OutsideRootsError);

describe('pathUnderRoots', () => {
  it('accepts files and folders under a root, the root itself, and paths not created yet', async () => {
    expect(await pathUnderRoots(join(root, 'coco', 'captions.json'), [root])).toBe(join(root, 'coco', 'captions.json'));
    expect(await pathUnderRoots(root, [root])).toBe(root);
    expect(await pathUnderRoots(join(root, 'later', 'model.json'), [root])).toBe(join(root, 'later', 'model.json'));
    expect(await pathUnderRoots(join(other, 'secret.json'), [root, other])).toBe(join(other, 'secret.json'));
  });

  it('refuses paths outside, `..` escapes, symlinks that point out, and relative paths', async () => {
    await refused('/etc/shadow');
    await refused('/etc/passwd');
    await refused(join(root, '..', 'other', 'secret.json'));
    await refused(join(root, 'coco', 'link.json'));
    await refused(join(root, 'linked-dir', 'secret.json'));
    await refused(join(root, 'linked-dir', 'not-there-yet.json'));
    await refused(`${root}-sibling/x.json`);
    await refused('coco/captions.json');
  });

  it('names neither the roots nor the path in the error; the roots travel on the error for the API', async () => {
    const error = (await pathUnderRoots('/etc/shadow', [root]).catch((e: unknown) => e)) as OutsideRootsError;
    expect(error.message).toBe('not an absolute path under the dataset roots (GLIMPSE_DATASET_ROOTS)');
    expect(error.roots).toEqual([root]);
  });

  it('reads a file only under the roots and up to a size', async () => {
    expect((await readFileUnderRoots(join(root, 'coco', 'captions.json'), [root], 10)).toString()).toBe('{}');
    await expect(readFileUnderRoots(join(root, 'coco', 'link.json'), [root], 1000)).rejects.toBeInstanceOf(OutsideRootsError);
    await expect(readFileUnderRoots(join(root, 'coco', 'captions.json'), [root], 1)).rejects.toThrow(/larger than 1 bytes/);
  });
});
