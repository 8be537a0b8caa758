// The caption page's picture: the image, lit where the model looked for the selected word. The
// attention grid is upsampled and smoothed with the same maths as the attention figures
// (src/ml/viz/heatmap.ts: pure functions, no tensors), then each pixel is shaded by its weight.
// A word costs a few milliseconds of main-thread time (attentionMap applies upsampling and blur as
// two small per-axis matrices); each drawing is recorded as a `glimpse:draw-word` performance
// measure (DevTools' timeline; the Chromium test reads them).
import { attentionMap } from '../../ml/viz/heatmap.ts';

/** Longest side of the picture on the page, in canvas pixels (small images are scaled up to it). */
export const MAX_SIDE = 448;
/** How dark the unattended parts get: pixel × (FLOOR + (1 − FLOOR) × weight). */
const FLOOR = 0.25;
/** How far the most attended parts move towards white (so attention shows on dark images too). */
const GLOW = 0.35;

/** One channel value 0..255 lit by an attention weight 0..1: dimmed where the model did not look, brightened where it did. */
export function shade(value: number, weight: number): number {
  return value * (FLOOR + (1 - FLOOR) * weight) + (255 - value) * GLOW * weight * weight;
}

export interface Picture {
  canvas: HTMLCanvasElement;
  /** the image's own pixels at the canvas size */
  base: ImageData;
  /** smoothed maps already computed, by token index */
  maps: Map<number, Float32Array>;
}

/** Draws the image file onto the canvas (longest side MAX_SIDE); throws when the browser cannot decode it. */
export async function loadPicture(canvas: HTMLCanvasElement, file: Blob): Promise<Picture> {
  const bitmap = await createImageBitmap(file);
  const scale = MAX_SIDE / Math.max(bitmap.width, bitmap.height);
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return { canvas, base: ctx.getImageData(0, 0, canvas.width, canvas.height), maps: new Map() };
}

/**
 * Shows token `index`'s attention (gridSize² weights over the whole image: the model sees it
 * stretched to a square, so the grid stretches with it), or the plain image for null.
 */
export function drawAttention(picture: Picture, index: number | null, attention?: ArrayLike<number>, gridSize?: number): void {
  const started = performance.now();
  drawWord(picture, index, attention, gridSize);
  if (index !== null) performance.measure('glimpse:draw-word', { start: started, detail: { index } });
}

function drawWord(picture: Picture, index: number | null, attention?: ArrayLike<number>, gridSize?: number): void {
  const { canvas, base } = picture;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  canvas.dataset.word = index === null ? '' : String(index);
  if (index === null || !attention || !gridSize) {
    ctx.putImageData(base, 0, 0);
    return;
  }
  let map = picture.maps.get(index);
  if (!map) {
    map = attentionMap(attention, gridSize, base.width, base.height);
    picture.maps.set(index, map);
  }
  const out = new ImageData(base.width, base.height);
  for (let p = 0; p < map.length; p++) {
    for (let c = 0; c < 3; c++) out.data[4 * p + c] = shade(base.data[4 * p + c]!, map[p]!);
    out.data[4 * p + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}
