// The resize the worker and the browser share (src/ml/data/resize.ts): the identity at the same size, a flat
// image stays flat, a shrink averages the pixels under each output pixel, RGBA input reads RGB only.
import { describe, expect, it } from 'vitest';
import { resizePixels } from '../../../src/ml/data/resize.ts';

const image = (width: number, height: number, stride: 3 | 4, at: (x: number, y: number, c: number) => number) => {
  const bytes = new Uint8Array(width * height * stride);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < stride; c++) bytes[(y * width + x) * stride + c] = at(x, y, c);
  return bytes;
};

describe('resizePixels', () => {
  it('is the identity (scaled to 0..1) at the same size', () => {
    const px = image(5, 5, 3, (x, y, c) => (x * 37 + y * 11 + c * 5) % 256);
    expect(Array.from(resizePixels(px, 5, 5, 3, 5))).toEqual(Array.from(px, (v) => Math.fround(v / 255)));
  });

  it('keeps a flat image flat at any size, up or down, and stretches without cropping', () => {
    const px = image(7, 3, 3, (_x, _y, c) => [200, 100, 50][c]!);
    for (const size of [1, 2, 4, 9]) {
      const out = resizePixels(px, 7, 3, 3, size);
      expect(out.length).toBe(size * size * 3);
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo([200, 100, 50][i % 3]! / 255, 6);
    }
  });

  it('averages when shrinking: a half-black, half-white image halves to black and white with grey between', () => {
    const px = image(8, 8, 3, (x) => (x < 4 ? 0 : 255));
    const out = resizePixels(px, 8, 8, 3, 4);
    const row = [0, 1, 2, 3].map((x) => out[x * 3]!);
    expect(row[0]).toBeLessThan(0.05);
    expect(row[3]).toBeGreaterThan(0.95);
    expect(row[1]).toBeGreaterThan(0);
    expect(row[1]! + row[2]!).toBeCloseTo(1, 6); // symmetric around the edge
  });

  it('reads RGBA rows (the canvas) as RGB rows (sharp) with the alpha ignored', () => {
    const rgb = image(6, 4, 3, (x, y, c) => (x * 41 + y * 13 + c * 7) % 256);
    const rgba = image(6, 4, 4, (x, y, c) => (c === 3 ? 255 : (x * 41 + y * 13 + c * 7) % 256));
    expect(resizePixels(rgba, 6, 4, 4, 3)).toEqual(resizePixels(rgb, 6, 4, 3, 3));
  });

  it('refuses a size that is not a positive integer and bytes that do not fit the shape', () => {
    expect(() => resizePixels(new Uint8Array(12), 2, 2, 3, 0)).toThrow(RangeError);
    expect(() => resizePixels(new Uint8Array(11), 2, 2, 3, 2)).toThrow(/11 bytes/);
  });
});
