// The one resize of every image the model reads, in plain JavaScript so that the worker (pixels decoded by
// sharp) and the browser (pixels decoded by the canvas) compute the same floats bit for bit: the same
// float64 operations in the same order give the same result in any JavaScript engine.
// The filter: separable triangle (bilinear) on half-pixel centres with clamped edges; when shrinking its
// support widens by the scale, so each output pixel averages the input pixels under it (antialiased,
// like Pillow's BILINEAR or tf.image.resize with antialias). The image is stretched to size×size (no crop).
// At the same size it is the identity. Output: HWC floats in 0..1, [size, size, 3].

/** For each output coordinate, its first input index and the normalised weights of the inputs from there. */
function taps(inSize: number, outSize: number): { first: Int32Array; weights: Float64Array[] } {
  const scale = inSize / outSize;
  const support = Math.max(1, scale); // the triangle's half-width in input pixels
  const first = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize - 1, Math.ceil(centre + support));
    const w = new Float64Array(hi - lo + 1);
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const x = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      w[i - lo] = x;
      sum += x;
    }
    for (let k = 0; k < w.length; k++) w[k] = w[k]! / sum;
    first[o] = lo;
    weights.push(w);
  }
  return { first, weights };
}

/**
 * `pixels`: 8-bit rows of `width`×`height` pixels of `stride` bytes each (3: RGB, 4: RGBA, the alpha ignored:
 * flatten it before), → [size, size, 3] floats in 0..1.
 */
export function resizePixels(pixels: ArrayLike<number>, width: number, height: number, stride: 3 | 4, size: number): Float32Array {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`resizePixels: size must be a positive integer, got ${size}`);
  if (pixels.length !== width * height * stride) {
    throw new RangeError(`resizePixels: ${pixels.length} bytes for ${width}×${height}×${stride}`);
  }
  const cols = taps(width, size);
  const rows = taps(height, size);
  const wide = new Float64Array(height * size * 3); // [height, size, 3]: the rows resized
  for (let y = 0; y < height; y++) {
    for (let o = 0; o < size; o++) {
      const w = cols.weights[o]!;
      const base = (y * width + cols.first[o]!) * stride;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const p = base + k * stride;
        r += w[k]! * pixels[p]!;
        g += w[k]! * pixels[p + 1]!;
        b += w[k]! * pixels[p + 2]!;
      }
      const q = (y * size + o) * 3;
      wide[q] = r;
      wide[q + 1] = g;
      wide[q + 2] = b;
    }
  }
  const out = new Float32Array(size * size * 3); // [size, size, 3]
  const row = new Float64Array(size * 3); // one output row, summed over its input rows in order
  for (let o = 0; o < size; o++) {
    const w = rows.weights[o]!;
    row.fill(0);
    for (let k = 0; k < w.length; k++) {
      const base = (rows.first[o]! + k) * size * 3;
      for (let j = 0; j < row.length; j++) row[j] = row[j]! + w[k]! * wide[base + j]!;
    }
    for (let j = 0; j < row.length; j++) out[o * size * 3 + j] = row[j]! / 255;
  }
  return out;
}
