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
  if (attention.length !== gridSize * gridSize) {
    throw new RangeError(`attentionMap: expected ${gridSize * gridSize} values, got ${attention.length}`);
  }
  const sigma = (smoothing * Math.min(width, height)) / gridSize;
  // gaussianBlur(upsampleBilinear(grid)) is linear and separable in both steps: with Ay, Ax the
  // per-axis operators (upsample, then blur; [size, gridSize]) it equals Ay · grid · Axᵀ, which
  // costs height·width·gridSize multiply-adds instead of height·width·(2·⌈3σ⌉+1)·2 (a 448-px
  // picture: ~1 ms instead of ~400 ms in a browser's main thread). Same maths, to float rounding.
  const ay = lineOperator(gridSize, height, sigma);
  const ax = lineOperator(gridSize, width, sigma);
  const rows = new Float64Array(gridSize * width); // grid · Axᵀ: [gridSize, width]
  for (let i = 0; i < gridSize; i++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let j = 0; j < gridSize; j++) sum += attention[i * gridSize + j]! * ax[x * gridSize + j]!;
      rows[i * width + x] = sum;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < gridSize; i++) {
      const a = ay[y * gridSize + i]!;
      if (a === 0) continue;
      for (let x = 0; x < width; x++) out[y * width + x] += a * rows[i * width + x]!;
    }
  }
  return normalizeByMax(out);
}

const operators = new Map<string, Float64Array>();

/**
 * One axis of attentionMap as a matrix [size, gridSize]: bilinear upsampling (as upsampleBilinear)
 * followed by the edge-clamped Gaussian blur (as gaussianBlur). The last few are kept.
 */
function lineOperator(gridSize: number, size: number, sigma: number): Float64Array {
  const key = `${gridSize}/${size}/${sigma}`;
  const cached = operators.get(key);
  if (cached) return cached;
  const up = new Float64Array(size * gridSize);
  for (let p = 0; p < size; p++) {
    const u = Math.min(Math.max(((p + 0.5) * gridSize) / size - 0.5, 0), gridSize - 1);
    const lo = Math.floor(u);
    up[p * gridSize + lo]! += 1 - (u - lo);
    up[p * gridSize + Math.min(lo + 1, gridSize - 1)]! += u - lo;
  }
  let op = up;
  if (sigma > 0) {
    const kernel = gaussianKernel(sigma);
    const radius = (kernel.length - 1) / 2;
    op = new Float64Array(size * gridSize);
    for (let p = 0; p < size; p++) {
      for (let k = -radius; k <= radius; k++) {
        const q = Math.min(Math.max(p + k, 0), size - 1);
        const w = kernel[k + radius]!;
        for (let i = 0; i < gridSize; i++) op[p * gridSize + i]! += w * up[q * gridSize + i]!;
      }
    }
  }
  if (operators.size >= 8) operators.delete(operators.keys().next().value!);
  operators.set(key, op);
  return op;
}

const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);

/** Jet colour map: 0 → dark blue, 0.5 → green/yellow, 1 → dark red. Returns RGB in 0..1. */
export function jet(v: number): [number, number, number] {
  const t = clamp01(v) * 4;
  return [clamp01(1.5 - Math.abs(t - 3)), clamp01(1.5 - Math.abs(t - 2)), clamp01(1.5 - Math.abs(t - 1))];
}
