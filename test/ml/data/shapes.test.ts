import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../../src/ml/data/data-errors.ts';
import { generateShapes, type GeneratedShapes, type ShapeObjectJson } from '../../../src/ml/data/shapes.ts';
import { RGB } from '../../../src/ml/data/shapes/draw.ts';

interface ShapesJson {
  images: { id: number; file_name: string; width: number; height: number; objects: ShapeObjectJson[] }[];
  annotations: { id: number; image_id: number; caption: string }[];
}

let root: string;
let a: GeneratedShapes;
let json: ShapesJson;
const SIZE = 48;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-shapes-'));
  a = await generateShapes({ outDir: join(root, 'a'), images: 120, seed: 7, imageSize: SIZE });
  json = JSON.parse(await readFile(a.annotationsPath, 'utf8')) as ShapesJson;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(path.slice(dir.length), await readFile(path));
    }
  }
  return out;
}

function centre(o: ShapeObjectJson): [number, number] {
  return [o.bbox[0] + o.bbox[2] / 2, o.bbox[1] + o.bbox[3] / 2];
}

/** Whether the caption's relation word holds between the two boxes' centres. */
function holds(relation: string, a: ShapeObjectJson, b: ShapeObjectJson): boolean {
  const [ax, ay] = centre(a);
  const [bx, by] = centre(b);
  const checks: Record<string, boolean> = {
    above: ay < by,
    below: ay > by,
    'to the left of': ax < bx,
    'to the right of': ax > bx,
  };
  return checks[relation] ?? false;
}

const INVERSE: Record<string, string> = {
  above: 'below',
  below: 'above',
  'to the left of': 'to the right of',
  'to the right of': 'to the left of',
};

describe('generateShapes', () => {
  it('writes COCO captions JSON with five captions per image and one PNG per image', async () => {
    expect(a.imageCount).toBe(120);
    expect(a.captionCount).toBe(600);
    expect(json.images).toHaveLength(120);
    expect(json.annotations).toHaveLength(600);
    expect(new Set(json.annotations.map((x) => x.id)).size).toBe(600);
    for (const image of json.images) {
      expect(json.annotations.filter((x) => x.image_id === image.id)).toHaveLength(5);
      expect(image.objects.length).toBeGreaterThanOrEqual(1);
      expect(image.objects.length).toBeLessThanOrEqual(3);
    }
    expect((await readdir(a.imagesDir)).sort()).toEqual(json.images.map((i) => i.file_name).sort());
    expect(new Set(json.images.map((i) => i.objects.length))).toEqual(new Set([1, 2, 3]));
  });

  it('is byte-identical for the same seed and differs for another seed', async () => {
    await generateShapes({ outDir: join(root, 'b'), images: 120, seed: 7, imageSize: SIZE });
    await generateShapes({ outDir: join(root, 'c'), images: 120, seed: 8, imageSize: SIZE });
    const [fa, fb, fc] = await Promise.all(['a', 'b', 'c'].map((d) => filesOf(join(root, d))));
    expect(fa!.size).toBe(121);
    expect([...fb!.keys()].sort()).toEqual([...fa!.keys()].sort());
    for (const [name, bytes] of fa!) expect(bytes.equals(fb!.get(name)!), name).toBe(true);
    expect(fc!.get('/captions.json')!.equals(fa!.get('/captions.json')!)).toBe(false);
  });

  it('draws each object in its colour inside its box and nothing outside the boxes', async () => {
    for (const image of json.images.slice(0, 40)) {
      const px = await sharp(join(a.imagesDir, image.file_name)).raw().toBuffer(); // [H, W, 3]
      expect(px.length).toBe(SIZE * SIZE * 3);
      const boxes = image.objects.map((o) => o.bbox.map((v) => Math.round(v * SIZE)));
      for (const [i, o] of image.objects.entries()) {
        const [x, y, w, h] = boxes[i]!;
        let match = 0;
        for (let yy = y!; yy < y! + h!; yy++) {
          for (let xx = x!; xx < x! + w!; xx++) {
            const p = (yy * SIZE + xx) * 3;
            if ([0, 1, 2].every((c) => px[p + c] === RGB[o.color as keyof typeof RGB][c])) match++;
          }
        }
        const fill = match / (w! * h!);
        // square ≈ 1, circle ≈ π/4, triangle ≈ 1/2
        const expected = { square: 1, circle: Math.PI / 4, triangle: 0.5 }[o.shape]!;
        expect(fill, `${image.file_name} ${o.color} ${o.shape}`).toBeGreaterThan(expected - 0.12);
        expect(fill).toBeLessThan(expected + 0.12);
      }
      let litOutside = 0;
      for (let yy = 0; yy < SIZE; yy++) {
        for (let xx = 0; xx < SIZE; xx++) {
          const inBox = boxes.some(([x, y, w, h]) => xx >= x! && xx < x! + w! && yy >= y! && yy < y! + h!);
          if (!inBox && px.readUIntBE((yy * SIZE + xx) * 3, 3) !== 0) litOutside++;
        }
      }
      expect(litOutside, image.file_name).toBe(0);
    }
  });

  it('captions name every object and state relations that match the boxes', () => {
    const vocabulary = new Set<string>();
    for (const image of json.images) {
      const captions = json.annotations.filter((x) => x.image_id === image.id).map((x) => x.caption);
      captions
        .join(' ')
        .split(' ')
        .forEach((w) => vocabulary.add(w));
      for (const caption of captions) {
        for (const o of image.objects) expect(caption).toMatch(new RegExp(`\\b${o.color} ${o.shape}\\b`));
      }
      // sizes in words agree with box sizes
      for (const o of image.objects) {
        expect(captions[0]).toContain(`${o.size} ${o.color} ${o.shape}`);
        expect(o.bbox[2]).toBeGreaterThan(0);
      }
      if (image.objects.length < 2) continue;
      // caption 0 chains the objects in reading order: "a <obj> <relation> a <obj> [<relation> a <obj>]"
      const chain = captions[0]!.split(/ (above|below|to the left of|to the right of) /);
      expect(chain, captions[0]).toHaveLength(image.objects.length * 2 - 1);
      for (let k = 0; k + 1 < image.objects.length; k++) {
        const from = image.objects[k]!;
        const to = image.objects[k + 1]!;
        expect(chain[2 * k]).toMatch(new RegExp(`a ${from.size} ${from.color} ${from.shape}$`));
        expect(chain[2 * k + 2]).toMatch(new RegExp(`^a ${to.size} ${to.color} ${to.shape}`));
        expect(holds(chain[2 * k + 1]!, from, to), `${captions[0]} / ${JSON.stringify(image.objects)}`).toBe(true);
      }
      // the reversed paraphrase states the inverse relations
      const reversed = captions[1]!.split(/ (above|below|to the left of|to the right of) /);
      const expected = chain
        .filter((_, i) => i % 2 === 1)
        .map((r) => INVERSE[r]!)
        .reverse();
      expect(reversed.filter((_, i) => i % 2 === 1)).toEqual(expected);
    }
    const large = json.images.flatMap((i) => i.objects).filter((o) => o.size === 'large');
    const small = json.images.flatMap((i) => i.objects).filter((o) => o.size === 'small');
    expect(Math.min(...large.map((o) => o.bbox[2]))).toBeGreaterThan(Math.max(...small.map((o) => o.bbox[2])));
    expect(vocabulary.size).toBeLessThanOrEqual(40);
    for (const word of ['circle', 'square', 'triangle', 'red', 'green', 'blue', 'yellow', 'above', 'left']) {
      expect(vocabulary).toContain(word);
    }
  });

  it('reports progress once per written PNG, rising by one up to the total', async () => {
    const outDir = join(root, 'progress');
    const imagesDir = join(outDir, 'images');
    const calls: { done: number; total: number; onDisk: number }[] = [];
    const total = 30;
    const result = await generateShapes({
      outDir,
      images: total,
      seed: 3,
      imageSize: 32,
      onProgress: (done, t) => calls.push({ done, total: t, onDisk: readdirSync(imagesDir).length }),
    });
    expect(result.imageCount).toBe(total);
    expect(calls.map((c) => c.done)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(calls.every((c) => c.total === total)).toBe(true);
    expect(calls.at(-1)!.done).toBe(total);
    // called as images are written: at each call at least `done` PNGs are already on disk
    for (const c of calls) {
      expect(c.onDisk).toBeGreaterThanOrEqual(c.done);
      expect(c.onDisk).toBeLessThanOrEqual(total);
    }
    // the callback changes nothing in what is written
    const plain = await generateShapes({ outDir: join(root, 'progress-plain'), images: total, seed: 3, imageSize: 32 });
    expect(await readFile(plain.annotationsPath, 'utf8')).toEqual(await readFile(result.annotationsPath, 'utf8'));
  });

  it('rejects bad arguments with a DatasetError', async () => {
    const outDir = join(root, 'bad');
    await expect(generateShapes({ outDir, images: 0, seed: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(generateShapes({ outDir, images: 3, seed: 1, imageSize: 10 })).rejects.toBeInstanceOf(DatasetError);
  });
});
