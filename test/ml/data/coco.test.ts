import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCocoCaptions, splitByImage } from '../../../src/ml/data/coco.ts';
import { DatasetError, type DatasetErrorCode } from '../../../src/ml/data/data-errors.ts';
import { generateShapes, type GeneratedShapes } from '../../../src/ml/data/shapes.ts';
import type { CaptionedImage } from '../../../src/ml/types.ts';

let root: string;
let imagesDir: string;
let shapes: GeneratedShapes;

/** A COCO-style set like captions_train2014.json: captions of several images interleaved. */
const coco = {
  info: { description: 'tiny' },
  images: [
    { id: 9, file_name: 'COCO_train2014_000000000009.jpg', width: 640, height: 480 },
    { id: 25, file_name: 'COCO_train2014_000000000025.jpg', width: 640, height: 426 },
    { id: 30, file_name: 'COCO_train2014_000000000030.jpg', width: 640, height: 428 },
  ],
  annotations: [
    { id: 1, image_id: 25, caption: 'A giraffe eating food from the top of the tree.' },
    { id: 2, image_id: 9, caption: 'Closeup of bins of food that include broccoli and bread.' },
    { id: 3, image_id: 25, caption: ' A giraffe standing up nearby a tree \n' },
    { id: 4, image_id: 9, caption: 'A meal is presented in brightly colored plastic trays.' },
    { id: 5, image_id: 30, caption: 'A flower vase is sitting on a porch stand.' },
  ],
};

async function writeJson(name: string, doc: unknown): Promise<string> {
  const path = join(root, name);
  await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

async function expectDatasetError(p: Promise<unknown>, code: DatasetErrorCode, text: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  expect((err as DatasetError).code).toBe(code);
  expect((err as DatasetError).message).toContain(text);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-coco-'));
  imagesDir = join(root, 'train2014');
  await mkdir(imagesDir);
  for (const image of coco.images) await writeFile(join(imagesDir, image.file_name), 'jpeg bytes are not read here');
  shapes = await generateShapes({ outDir: join(root, 'shapes'), images: 40, seed: 3, imageSize: 32 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadCocoCaptions', () => {
  it('groups captions by image in order of first caption, with absolute file paths', async () => {
    const annotationsPath = await writeJson('captions.json', coco);
    const images = await loadCocoCaptions({ annotationsPath, imagesDir });
    expect(images.map((i) => i.id)).toEqual(['25', '9', '30']);
    expect(images[0]).toEqual({
      id: '25',
      file: join(imagesDir, 'COCO_train2014_000000000025.jpg'),
      captions: ['A giraffe eating food from the top of the tree.', 'A giraffe standing up nearby a tree'],
    });
    expect(images[1]!.captions).toHaveLength(2);
  });

  it('keeps only the first N captions and the images they belong to', async () => {
    const annotationsPath = await writeJson('captions.json', coco);
    const images = await loadCocoCaptions({ annotationsPath, imagesDir, maxCaptions: 3 });
    expect(images.map((i) => [i.id, i.captions.length])).toEqual([
      ['25', 2],
      ['9', 1],
    ]);
    await expectDatasetError(loadCocoCaptions({ annotationsPath, imagesDir, maxCaptions: 0 }), 'INVALID_ARGUMENT', 'maxCaptions');
  });

  it('passes the synthetic object boxes through', async () => {
    const images = await loadCocoCaptions({ annotationsPath: shapes.annotationsPath, imagesDir: shapes.imagesDir });
    expect(images).toHaveLength(40);
    expect(images.reduce((n, i) => n + i.captions.length, 0)).toBe(200);
    for (const image of images) {
      expect(image.objects!.length).toBeGreaterThanOrEqual(1);
      for (const o of image.objects!) {
        expect(image.captions.join(' ')).toContain(`${o.color} ${o.shape}`);
        expect(o.bbox).toHaveLength(4);
      }
    }
  });

  it('reports a missing annotations file, malformed JSON and missing fields', async () => {
    await expectDatasetError(loadCocoCaptions({ annotationsPath: join(root, 'nope.json'), imagesDir }), 'FILE_NOT_FOUND', 'nope.json');
    await expectDatasetError(
      loadCocoCaptions({ annotationsPath: await writeJson('broken.json', '{"images": [{"id": 1,'), imagesDir }),
      'INVALID_JSON',
      'broken.json',
    );
    const cases: [unknown, string][] = [
      [[], 'top level'],
      [{ annotations: [] }, '"images"'],
      [{ images: coco.images }, '"annotations"'],
      [{ ...coco, images: [{ id: 9 }] }, 'images[0].file_name'],
      [{ ...coco, images: [{ file_name: 'a.jpg' }] }, 'images[0].id'],
      [{ ...coco, images: [...coco.images, coco.images[0]] }, 'appears twice'],
      [{ ...coco, images: [{ id: 1, file_name: '../../etc/passwd' }] }, 'outside the image folder'],
      [{ ...coco, annotations: [{ image_id: 9 }] }, 'annotations[0].caption'],
      [{ ...coco, annotations: [{ caption: 'x' }] }, 'annotations[0].image_id'],
      [{ ...coco, annotations: [{ image_id: 77, caption: 'x' }] }, 'annotations[0].image_id is not the id of any entry'],
      [{ ...coco, images: [{ id: 9, file_name: 'a.jpg', objects: [{ shape: 'circle' }] }] }, 'objects[0]'],
    ];
    for (const [doc, text] of cases) {
      const annotationsPath = await writeJson('bad.json', doc);
      await expectDatasetError(loadCocoCaptions({ annotationsPath, imagesDir }), 'INVALID_FORMAT', text);
    }
    await expectDatasetError(
      loadCocoCaptions({ annotationsPath: await writeJson('empty.json', { images: [], annotations: [] }), imagesDir }),
      'EMPTY_DATASET',
      'no captions',
    );
  });

  it('never quotes what the file contains: only positions, in `detail` no path either', async () => {
    const shadow = await writeJson('shadow.json', 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::');
    const notJson = (await loadCocoCaptions({ annotationsPath: shadow, imagesDir }).catch((e: unknown) => e)) as DatasetError;
    expect(notJson.code).toBe('INVALID_JSON');
    expect(notJson.message).not.toMatch(/root|daemon|19000/);
    expect(notJson.detail).toMatch(/^malformed JSON( at position \d+)?$/);
    const values = {
      images: [{ id: 'secret-id', file_name: '../secret-name' }],
      annotations: [{ image_id: 'secret-image', caption: 'x' }],
    };
    const outside = (await loadCocoCaptions({ annotationsPath: await writeJson('values.json', values), imagesDir }).catch(
      (e: unknown) => e,
    )) as DatasetError;
    expect(outside.message).not.toMatch(/secret/);
    const dup = {
      images: [
        { id: 'secret-id', file_name: 'a.jpg' },
        { id: 'secret-id', file_name: 'b.jpg' },
      ],
      annotations: [],
    };
    expect(
      ((await loadCocoCaptions({ annotationsPath: await writeJson('dup.json', dup), imagesDir }).catch((e: unknown) => e)) as Error)
        .message,
    ).not.toMatch(/secret/);
    const unknown = { images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 'secret-image', caption: 'x' }] };
    expect(
      ((await loadCocoCaptions({ annotationsPath: await writeJson('unknown.json', unknown), imagesDir }).catch((e: unknown) => e)) as Error)
        .message,
    ).not.toMatch(/secret/);
    for (const error of [notJson, outside]) expect(error.detail).not.toContain(root);
  });

  it('names missing image files', async () => {
    const dir = join(root, 'partial');
    await mkdir(dir);
    await writeFile(join(dir, coco.images[0]!.file_name), '');
    const annotationsPath = await writeJson('captions.json', coco);
    const err = await loadCocoCaptions({ annotationsPath, imagesDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).code).toBe('MISSING_IMAGE');
    expect((err as DatasetError).message).toContain('2 image file(s)');
    expect((err as DatasetError).message).toContain('COCO_train2014_000000000025.jpg');
    expect((err as DatasetError).message).toContain('COCO_train2014_000000000030.jpg');
    // … in the message (for the CLI), not in the detail (which the worker stores where anyone reads it)
    expect((err as DatasetError).detail).toBe('2 image file(s) listed in the annotations do not exist');
    // skipping the check is allowed (e.g. features already cached)
    expect(await loadCocoCaptions({ annotationsPath, imagesDir: dir, checkFiles: false })).toHaveLength(3);
    await unlink(join(dir, coco.images[0]!.file_name));
  });
});

describe('splitByImage', () => {
  function image(i: number): CaptionedImage {
    return { id: String(i), file: `/data/${i}.png`, captions: [`caption ${i}`] };
  }
  const images = Array.from({ length: 100 }, (_, i) => image(i));

  it('splits by image with a seeded shuffle and no overlap', () => {
    const { train, val } = splitByImage(images, 0.2, 42);
    expect(val).toHaveLength(20);
    expect(train).toHaveLength(80);
    const valFiles = new Set(val.map((i) => i.file));
    expect(train.some((i) => valFiles.has(i.file))).toBe(false);
    expect(new Set([...train, ...val].map((i) => i.id)).size).toBe(100);
    // seeded: same seed same split, another seed another split; not just the tail of the list
    expect(splitByImage(images, 0.2, 42).val.map((i) => i.id)).toEqual(val.map((i) => i.id));
    expect(splitByImage(images, 0.2, 43).val.map((i) => i.id)).not.toEqual(val.map((i) => i.id));
    expect(val.map((i) => i.id)).not.toEqual(images.slice(80).map((i) => i.id));
  });

  it('keeps entries of the same image file together', () => {
    // the same file listed twice (e.g. two annotation files merged) must not straddle the split
    const doubled = images.flatMap((i) => [i, { ...i, captions: ['another caption'] }]);
    for (const seed of [1, 2, 3, 4, 5]) {
      const { train, val } = splitByImage(doubled, 0.3, seed);
      const valFiles = new Set(val.map((i) => i.file));
      expect(train.some((i) => valFiles.has(i.file))).toBe(false);
      expect(val).toHaveLength(60);
    }
  });

  it('gives each part at least one image and rejects bad fractions', () => {
    const two = images.slice(0, 2);
    expect(splitByImage(two, 0.01, 1).val).toHaveLength(1);
    expect(splitByImage(two, 0.9, 1).train).toHaveLength(1);
    expect(splitByImage(images, 0, 1)).toEqual({ train: expect.any(Array), val: [] });
    expect(() => splitByImage(images, 1, 1)).toThrow(DatasetError);
    expect(() => splitByImage(images, -0.1, 1)).toThrow(/valFraction/);
  });
});
