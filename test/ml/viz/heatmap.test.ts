// The heatmap maths shared by the attention figure and the dashboard's caption page.
import { describe, expect, it } from 'vitest';
import { attentionMap, gaussianBlur, upsampleBilinear } from '../../../src/ml/viz/heatmap.ts';

const argmax = (values: Float32Array) => values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);

describe('upsampleBilinear to a rectangle', () => {
  it('maps cell centres of a 2×2 grid onto a 8×4 image', () => {
    const up = upsampleBilinear([0, 1, 2, 3], 2, 8, 4); // [4, 8]
    expect(up.length).toBe(32);
    expect(up[0]).toBeCloseTo(0); // top-left corner: cell (0,0)
    expect(up[7]).toBeCloseTo(1); // top-right: cell (0,1)
    expect(up[3 * 8]).toBeCloseTo(2); // bottom-left: cell (1,0)
    expect(up[31]).toBeCloseTo(3);
    expect(up[2]).toBeCloseTo(0.125); // x = 2: u = 2.5·2/8 − 0.5 = 0.125, between cells 0 and 1
  });
});

describe('gaussianBlur', () => {
  it('keeps a constant map constant (clamped edges) and the total of an interior spike', () => {
    const flat = gaussianBlur(new Float32Array(30 * 20).fill(0.7), 30, 20, 3);
    for (const v of flat) expect(v).toBeCloseTo(0.7, 5);
    const spike = new Float32Array(41 * 41);
    spike[20 * 41 + 20] = 1;
    const blurred = gaussianBlur(spike, 41, 41, 2);
    expect(blurred.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(argmax(blurred)).toBe(20 * 41 + 20);
    expect(blurred[20 * 41 + 20]).toBeLessThan(0.1); // spread out
    expect(blurred[20 * 41 + 22]).toBeCloseTo(blurred[22 * 41 + 20]!, 6); // isotropic
    expect(blurred[20 * 41 + 22]).toBeGreaterThan(blurred[20 * 41 + 25]!); // falls off with distance
  });

  it('returns a copy for sigma 0 and rejects a size mismatch', () => {
    const values = Float32Array.from([1, 2, 3, 4]);
    const same = gaussianBlur(values, 2, 2, 0);
    expect([...same]).toEqual([1, 2, 3, 4]);
    expect(same).not.toBe(values);
    expect(() => gaussianBlur(values, 3, 2, 1)).toThrow(RangeError);
  });
});

describe('attentionMap', () => {
  it('peaks (value 1) inside the attended cell of a non-square image and is smooth', () => {
    const grid = 4;
    const attention = new Float32Array(grid * grid).fill(0.01);
    attention[1 * grid + 2] = 0.85; // row 1, column 2
    const [width, height] = [64, 32]; // cells of 16×8 px
    const map = attentionMap(attention, grid, width, height);
    const peak = argmax(map);
    const [x, y] = [peak % width, Math.floor(peak / width)];
    expect(x).toBeGreaterThanOrEqual(32);
    expect(x).toBeLessThan(48);
    expect(y).toBeGreaterThanOrEqual(8);
    expect(y).toBeLessThan(16);
    expect(Math.max(...map)).toBeCloseTo(1, 6);
    expect(Math.min(...map)).toBeGreaterThanOrEqual(0);
    // no step larger than a small fraction between neighbours: upsampled and smoothed, not blocky
    let maxStep = 0;
    for (let row = 0; row < height; row++) {
      for (let col = 1; col < width; col++) maxStep = Math.max(maxStep, Math.abs(map[row * width + col]! - map[row * width + col - 1]!));
    }
    expect(maxStep).toBeLessThan(0.12);
    // smoothing 0 is bilinear only: sharper than the smoothed map
    const sharp = attentionMap(attention, grid, width, height, 0);
    expect(sharp.reduce((a, b) => a + b, 0)).toBeLessThan(map.reduce((a, b) => a + b, 0));
  });

  it('gives different maps for different attention and equal maps for equal attention', () => {
    const a = Float32Array.from({ length: 64 }, (_, i) => (i === 9 ? 0.5 : 0.5 / 63));
    const b = Float32Array.from({ length: 64 }, (_, i) => (i === 54 ? 0.5 : 0.5 / 63));
    expect(attentionMap(a, 8, 40, 40)).toEqual(attentionMap(a, 8, 40, 40));
    expect(argmax(attentionMap(a, 8, 40, 40))).not.toBe(argmax(attentionMap(b, 8, 40, 40)));
  });
});

describe('attentionMap (per-axis operators)', () => {
  it('equals upsampling, then blurring, then normalising, to float rounding', async () => {
    const { normalizeByMax } = await import('../../../src/ml/viz/heatmap.ts');
    for (const [gridSize, width, height, smoothing] of [
      [8, 448, 299, 0.5],
      [6, 97, 131, 0.3],
      [3, 20, 20, 0],
    ] as const) {
      const grid = Array.from({ length: gridSize * gridSize }, (_, i) => ((i * 7919) % 13) / 13);
      const sigma = (smoothing * Math.min(width, height)) / gridSize;
      const reference = normalizeByMax(gaussianBlur(upsampleBilinear(grid, gridSize, width, height), width, height, sigma));
      const fast = attentionMap(grid, gridSize, width, height, smoothing);
      let worst = 0;
      for (let p = 0; p < reference.length; p++) worst = Math.max(worst, Math.abs(fast[p]! - reference[p]!));
      expect(worst).toBeLessThan(1e-5);
    }
    expect(() => attentionMap([1, 2, 3], 2, 4, 4)).toThrow(RangeError);
  });
});
