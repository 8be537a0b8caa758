// Pixel helpers for attention heatmaps: bilinear upsampling of an attention grid, Gaussian
// smoothing and a jet-like colour map, all on plain typed arrays (no tensors, no image library,
// no imports), so that the dashboard's browser bundle draws with the same maths as the figures.

/**
 * Upsamples a gridSize×gridSize map to width×height (default square) with bilinear
 * interpolation, sampling at pixel centres (half-pixel alignment, like tf.image.resize with
 * `halfPixelCenters`) and clamping at the borders. Returns row-major [height, width].
 */
export function upsampleBilinear(grid: ArrayLike<number>, gridSize: number, width: number, height = width): Float32Array {
  if (grid.length !== gridSize * gridSize) {
    throw new RangeError(`upsampleBilinear: expected ${gridSize * gridSize} values, got ${grid.length}`);
  }
  const out = new Float32Array(width * height); // [height, width]
  const axis = (p: number, size: number): [number, number, number] => {
    const u = Math.min(Math.max(((p + 0.5) * gridSize) / size - 0.5, 0), gridSize - 1);
    const lo = Math.floor(u);
    return [lo, Math.min(lo + 1, gridSize - 1), u - lo];
  };
  const columns = Array.from({ length: width }, (_, x) => axis(x, width));
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = axis(y, height);
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = columns[x]!;
      const top = grid[y0 * gridSize + x0] * (1 - fx) + grid[y0 * gridSize + x1] * fx;
      const bottom = grid[y1 * gridSize + x0] * (1 - fx) + grid[y1 * gridSize + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Normalised 1-D Gaussian kernel of standard deviation sigma, radius ⌈3σ⌉. */
function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) total += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  return kernel.map((k) => k / total);
}

/**
 * Gaussian blur of a row-major [height, width] map (separable, edges clamped so the borders do
 * not darken). sigma in pixels; sigma ≤ 0 returns a copy. Keeps the mean of a constant map.
 */
export function gaussianBlur(values: Float32Array, width: number, height: number, sigma: number): Float32Array {
  if (values.length !== width * height) throw new RangeError(`gaussianBlur: expected ${width * height} values, got ${values.length}`);
  if (!(sigma > 0)) return values.slice();
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const pass = (src: Float32Array, length: number, lines: number, at: (line: number, i: number) => number): Float32Array => {
    const dst = new Float32Array(src.length);
    for (let line = 0; line < lines; line++) {
      for (let i = 0; i < length; i++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * src[at(line, Math.min(Math.max(i + k, 0), length - 1))]!;
        dst[at(line, i)] = sum;
      }
    }
    return dst;
  };
  const rows = pass(values, width, height, (y, x) => y * width + x);
  return pass(rows, height, width, (x, y) => y * width + x);
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

/**
 * One word's attention as a smooth 0..1 map over a width×height image, as in the paper's figures
 * (upsampled, then blurred with σ = `smoothing` × the grid cell's size; 0 disables smoothing).
 */
export function attentionMap(attention: ArrayLike<number>, gridSize: number, width: number, height: number, smoothing = 0.5): Float32Array {
  const sigma = (smoothing * Math.min(width, height)) / gridSize;
  return normalizeByMax(gaussianBlur(upsampleBilinear(attention, gridSize, width, height), width, height, sigma));
}

const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);

/** Jet colour map: 0 → dark blue, 0.5 → green/yellow, 1 → dark red. Returns RGB in 0..1. */
export function jet(v: number): [number, number, number] {
  const t = clamp01(v) * 4;
  return [clamp01(1.5 - Math.abs(t - 3)), clamp01(1.5 - Math.abs(t - 2)), clamp01(1.5 - Math.abs(t - 1))];
}
