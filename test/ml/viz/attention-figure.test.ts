import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/ml/data/data-errors.ts';
import { AttentionFigureError, figureLayout, renderAttentionFigure, upsampleBilinear } from '../../../src/ml/viz/index.ts';

const GRID = 8;

function oneHot(cell: number): Float32Array {
  const a = new Float32Array(GRID * GRID);
  a[cell] = 1;
  return a;
}

/** A 96×64 grey PNG: a real encoded image for the figure. */
function greyImage(): Promise<Buffer> {
  return sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .png()
    .toBuffer();
}

async function decode(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  return { data, info, at };
}

describe('upsampleBilinear', () => {
  it('reproduces cell values at cell centres and interpolates between them', () => {
    const grid = [0, 1, 2, 3]; // 2×2
    const up = upsampleBilinear(grid, 2, 4); // cell centres at pixels 0.5 → u = 0 and 2.5 → u = 1
    expect(up[0]).toBeCloseTo(0); // clamped corner = cell (0,0)
    expect(up[3]).toBeCloseTo(1); // right edge of the first row = cell (0,1)
    expect(up[1]).toBeCloseTo(0.25); // x = 1: u = (1.5)·0.5 − 0.5 = 0.25
    expect(up[4 * 3 + 3]).toBeCloseTo(3);
    expect(() => upsampleBilinear([1, 2, 3], 2, 4)).toThrow(RangeError);
  });
});

describe('renderAttentionFigure', () => {
  it('writes a PNG of the layout size whose panels follow the attention maps', async () => {
    const tokens = ['a', 'red', 'circle', '<end>', 'x'];
    const panelSize = 64;
    const png = await renderAttentionFigure({
      image: await greyImage(),
      tokens,
      attention: [oneHot(0), oneHot(GRID * GRID - 1), oneHot(0), oneHot(27), oneHot(5)],
      gridSize: GRID,
      panelSize,
    });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const layout = figureLayout(tokens.length, panelSize);
    expect(layout.columns).toBe(4);
    expect(layout.rows).toBe(2);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([layout.width, layout.height]);

    const { at } = await decode(png);
    const [p0, p1, p2] = layout.panels;
    // panel 0 attends to the top-left cell, panel 1 to the bottom-right one: hot (red) where attended
    const hot0 = at(p0.left + 2, p0.top + 2);
    const cold0 = at(p0.left + panelSize - 3, p0.top + panelSize - 3);
    const hot1 = at(p1.left + panelSize - 3, p1.top + panelSize - 3);
    expect(hot0[0]).toBeGreaterThan(cold0[0] + 40); // red channel
    expect(cold0[2]).toBeGreaterThan(hot0[2] + 40); // blue channel
    expect(hot1).toEqual(hot0);
    // different maps → different pixels in the panel region; the same map → the same pixels
    let differing = 0;
    for (let y = 0; y < panelSize; y++) {
      for (let x = 0; x < panelSize; x++) {
        const a = at(p0.left + x, p0.top + y);
        const b = at(p1.left + x, p1.top + y);
        const c = at(p2.left + x, p2.top + y);
        expect(c).toEqual(a);
        if (a.some((v, k) => v !== b[k])) differing++;
      }
    }
    // a one-hot map heats about a 2×2-cell neighbourhood; the rest of both panels is the same "cold" blue
    expect(differing).toBeGreaterThan((panelSize / GRID) ** 2);
    // the word is written in the strip above its panel: some dark pixels there, none in the padding
    let dark = 0;
    for (let y = p0.top - 26; y < p0.top; y++) {
      for (let x = p0.left; x < p0.left + panelSize; x++) if (at(x, y)[0] < 100) dark++;
    }
    expect(dark).toBeGreaterThan(5);
    expect(at(1, 1)).toEqual([255, 255, 255]);
  });

  it('draws a uniform attention map flat instead of stretching its rounding noise', async () => {
    const uniform = new Float32Array(GRID * GRID).fill(1 / 64);
    uniform[9] += 1e-4; // float noise of a softmax that is uniform in all but name
    const png = await renderAttentionFigure({
      image: await greyImage(),
      tokens: ['a'],
      attention: [uniform],
      gridSize: GRID,
      panelSize: 32,
    });
    const { at } = await decode(png);
    const [p] = figureLayout(1, 32).panels;
    // min-max scaling would spread this over the whole colour map (≈ 200 levels); scaled by the maximum
    // the noise is 0.64 % of the range: jet's slope (≤ 4/unit) × alpha 0.6 × 255 × 0.0064 ≈ 4 levels
    const first = at(p.left, p.top);
    let spread = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) at(p.left + x, p.top + y).forEach((v, c) => (spread = Math.max(spread, Math.abs(v - first[c]))));
    }
    expect(spread).toBeLessThanOrEqual(5);
  });

  it('rejects mismatched attention, no tokens and bad images with typed errors', async () => {
    const image = await greyImage();
    await expect(renderAttentionFigure({ image, tokens: ['a', 'b'], attention: [oneHot(0)], gridSize: GRID })).rejects.toMatchObject({
      code: 'ATTENTION_MISMATCH',
    });
    await expect(renderAttentionFigure({ image, tokens: ['a'], attention: [new Float32Array(10)], gridSize: GRID })).rejects.toBeInstanceOf(
      AttentionFigureError,
    );
    await expect(renderAttentionFigure({ image, tokens: [], attention: [], gridSize: GRID })).rejects.toMatchObject({
      code: 'NO_TOKENS',
    });
    await expect(
      renderAttentionFigure({ image: Buffer.from('not an image'), tokens: ['a'], attention: [oneHot(0)], gridSize: GRID }),
    ).rejects.toBeInstanceOf(ImageError);
  });
});
