// Pixel helpers for attention heatmaps: bilinear upsampling of an attention grid and a
// jet-like colour map, both on plain typed arrays (no tensors, no image library).

/**
 * Upsamples a gridSize×gridSize map to size×size with bilinear interpolation, sampling at pixel
 * centres (half-pixel alignment, like tf.image.resize with `halfPixelCenters`) and clamping at
 * the borders. Returns row-major [size, size].
 */
export function upsampleBilinear(grid: ArrayLike<number>, gridSize: number, size: number): Float32Array {
  if (grid.length !== gridSize * gridSize) {
    throw new RangeError(`upsampleBilinear: expected ${gridSize * gridSize} values, got ${grid.length}`);
  }
  const out = new Float32Array(size * size); // [size, size]
  const scale = gridSize / size;
  const axis = (p: number): [number, number, number] => {
    const u = Math.min(Math.max((p + 0.5) * scale - 0.5, 0), gridSize - 1);
    const lo = Math.floor(u);
    return [lo, Math.min(lo + 1, gridSize - 1), u - lo];
  };
  for (let y = 0; y < size; y++) {
    const [y0, y1, fy] = axis(y);
    for (let x = 0; x < size; x++) {
      const [x0, x1, fx] = axis(x);
      const top = grid[y0 * gridSize + x0] * (1 - fx) + grid[y0 * gridSize + x1] * fx;
      const bottom = grid[y1 * gridSize + x0] * (1 - fx) + grid[y1 * gridSize + x1] * fx;
      out[y * size + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * Rescales non-negative weights to 0..1 by their maximum, keeping 0 at 0: a flat map stays flat
 * (min-max scaling, as matplotlib's `imshow` does, would blow tiny differences of a near-uniform
 * map up to the full colour range). An all-zero map stays zero.
 */
export function normalizeByMax(values: Float32Array): Float32Array {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return values.map((v) => (max > 0 ? Math.max(v, 0) / max : 0));
}

const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);

/** Jet colour map: 0 → dark blue, 0.5 → green/yellow, 1 → dark red. Returns RGB in 0..1. */
export function jet(v: number): [number, number, number] {
  const t = clamp01(v) * 4;
  return [clamp01(1.5 - Math.abs(t - 3)), clamp01(1.5 - Math.abs(t - 2)), clamp01(1.5 - Math.abs(t - 1))];
}
