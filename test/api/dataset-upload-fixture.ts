// Dataset zips for the upload tests: a small COCO captions set with real PNGs (sharp), and the
// ways an archive can be bad. Zips come from the test zip writer (test/ml/data/zip-fixture.ts).
import sharp from 'sharp';
import { buildZip } from '../ml/data/zip-fixture.ts';

export { buildZip };

const COLORS = { red: { r: 220, g: 30, b: 30 }, green: { r: 30, g: 200, b: 40 }, blue: { r: 30, g: 40, b: 220 } } as const;

export interface GoodSet {
  entries: { name: string; data: Buffer }[];
  images: number;
  captions: number;
}

/** `n` 32-px PNGs under images/, two captions each, captions.json at the root */
export async function goodSet(n = 12, prefix = ''): Promise<GoodSet> {
  const names = Object.keys(COLORS) as (keyof typeof COLORS)[];
  const images: { id: number; file_name: string }[] = [];
  const annotations: { id: number; image_id: number; caption: string }[] = [];
  const entries: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const color = names[i % names.length]!;
    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: COLORS[color] } })
      .png()
      .toBuffer();
    const file = `img${i}.png`;
    entries.push({ name: `${prefix}images/${file}`, data: png });
    images.push({ id: i + 1, file_name: file });
    annotations.push({ id: 2 * i + 1, image_id: i + 1, caption: `a ${color} square` });
    annotations.push({ id: 2 * i + 2, image_id: i + 1, caption: `a square that is ${color}` });
  }
  entries.unshift({ name: `${prefix}captions.json`, data: Buffer.from(JSON.stringify({ images, annotations })) });
  return { entries, images: n, captions: 2 * n };
}

/** the zip with its first entry's uncompressed size (local and central header) set to `size` */
export function lieAboutFirstSize(zip: Buffer, size: number): Buffer {
  const out = Buffer.from(zip);
  out.writeUInt32LE(size, 22);
  const central = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  out.writeUInt32LE(size, central + 24);
  return out;
}

export const captionsJson = (files: string[]) =>
  Buffer.from(
    JSON.stringify({
      images: files.map((file_name, i) => ({ id: i + 1, file_name })),
      annotations: files.map((_, i) => ({ id: i + 1, image_id: i + 1, caption: 'a red square' })),
    }),
  );
