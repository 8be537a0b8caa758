// The per-word attention figure (like the seed's `plot_attention`): one panel per generated
// word, showing the image with that word's attention upsampled, smoothed and overlaid as a heatmap,
// the word written above the panel. Rendered with sharp; returns PNG bytes.

import { writeFile } from 'node:fs/promises';
import sharp, { type OverlayOptions } from 'sharp';
import { loadImage } from '../data/images.ts';
import { attentionMap, jet } from './heatmap.ts';

export interface AttentionFigureOptions {
  /** image file path or encoded bytes (JPEG, PNG, WebP) */
  image: string | Buffer;
  /** one word per panel */
  tokens: string[];
  /** per token: gridSize² attention weights, row-major over the grid */
  attention: ArrayLike<number>[];
  /** cells per side of the attention grid (8 → 64 weights) */
  gridSize: number;
  /** side of each square image panel in pixels (default 224) */
  panelSize?: number;
  /** panels per row (default: min(4, tokens)) */
  columns?: number;
  /** opacity of the heatmap over the image, 0..1 (default 0.6, as in the seed's figure) */
  alpha?: number;
  /** Gaussian smoothing of the upsampled map, σ in grid cells (default 0.5; 0: bilinear only) */
  smoothing?: number;
}

export type AttentionFigureErrorCode = 'NO_TOKENS' | 'ATTENTION_MISMATCH' | 'BAD_OPTION';

export class AttentionFigureError extends Error {
  override readonly name = 'AttentionFigureError';
  constructor(
    readonly code: AttentionFigureErrorCode,
    detail: string,
  ) {
    super(`${detail} (${code})`);
  }
}

/** Geometry of the figure, so callers (and tests) know where each panel's image lies. */
export interface FigureLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
  panelSize: number;
  /** top-left corner of each token's image panel */
  panels: { left: number; top: number }[];
}

const PADDING = 8;
const LABEL_HEIGHT = 28;
const FONT_SIZE = 18;

export function figureLayout(tokenCount: number, panelSize = 224, columns = Math.min(4, tokenCount)): FigureLayout {
  if (tokenCount <= 0) throw new AttentionFigureError('NO_TOKENS', 'attention figure: no tokens to draw');
  if (!Number.isInteger(panelSize) || panelSize < 8) {
    throw new AttentionFigureError('BAD_OPTION', `attention figure: panelSize must be an integer ≥ 8, got ${panelSize}`);
  }
  if (!Number.isInteger(columns) || columns < 1) {
    throw new AttentionFigureError('BAD_OPTION', `attention figure: columns must be a positive integer, got ${columns}`);
  }
  const rows = Math.ceil(tokenCount / columns);
  const cellW = panelSize + PADDING;
  const cellH = LABEL_HEIGHT + panelSize + PADDING;
  const panels = Array.from({ length: tokenCount }, (_, i) => ({
    left: PADDING + (i % columns) * cellW,
    top: PADDING + Math.floor(i / columns) * cellH + LABEL_HEIGHT,
  }));
  return { width: PADDING + columns * cellW, height: PADDING + rows * cellH, columns, rows, panelSize, panels };
}

/** The image (RGB 0..1, [size, size, 3]) blended with one attention map as a jet heatmap; RGB bytes. */
function blendPanel(
  rgb: Float32Array,
  attention: ArrayLike<number>,
  gridSize: number,
  size: number,
  alpha: number,
  smoothing: number,
): Buffer {
  const heat = attentionMap(attention, gridSize, size, size, smoothing); // [size, size]
  const out = Buffer.alloc(size * size * 3); // [size, size, 3]
  for (let p = 0; p < size * size; p++) {
    const colour = jet(heat[p]);
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.round(255 * ((1 - alpha) * rgb[p * 3 + c] + alpha * colour[c]));
    }
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function labelsSvg(tokens: string[], layout: FigureLayout): Buffer {
  const texts = tokens.map((token, i) => {
    const { left, top } = layout.panels[i];
    const x = left + layout.panelSize / 2;
    const y = top - (LABEL_HEIGHT - FONT_SIZE) / 2 - 2;
    return `<text x="${x}" y="${y}" text-anchor="middle">${escapeXml(token)}</text>`;
  });
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
      `<g font-family="DejaVu Sans, Arial, sans-serif" font-size="${FONT_SIZE}" fill="#111">${texts.join('')}</g></svg>`,
  );
}

/** Renders the attention figure; returns PNG bytes. Image problems surface as `ImageError`. */
export async function renderAttentionFigure(opts: AttentionFigureOptions): Promise<Buffer> {
  const { tokens, attention, gridSize } = opts;
  const alpha = opts.alpha ?? 0.6;
  if (!(alpha >= 0 && alpha <= 1)) throw new AttentionFigureError('BAD_OPTION', `attention figure: alpha must be in 0..1, got ${alpha}`);
  const smoothing = opts.smoothing ?? 0.5;
  if (!(smoothing >= 0 && smoothing <= 4))
    throw new AttentionFigureError('BAD_OPTION', `attention figure: smoothing must be in 0..4, got ${smoothing}`);
  const layout = figureLayout(tokens.length, opts.panelSize, opts.columns);
  if (attention.length !== tokens.length) {
    throw new AttentionFigureError(
      'ATTENTION_MISMATCH',
      `attention figure: ${tokens.length} tokens but ${attention.length} attention maps`,
    );
  }
  attention.forEach((a, i) => {
    if (a.length !== gridSize * gridSize) {
      throw new AttentionFigureError(
        'ATTENTION_MISMATCH',
        `attention figure: map ${i} ("${tokens[i]}") has ${a.length} weights, expected ${gridSize}² = ${gridSize * gridSize}`,
      );
    }
  });
  const size = layout.panelSize;
  const rgb = await loadImage(opts.image, { size }); // [size, size, 3]
  const panels: OverlayOptions[] = attention.map((a, i) => ({
    input: blendPanel(rgb, a, gridSize, size, alpha, smoothing),
    raw: { width: size, height: size, channels: 3 },
    left: layout.panels[i].left,
    top: layout.panels[i].top,
  }));
  return sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: '#ffffff' } })
    .composite([...panels, { input: labelsSvg(tokens, layout), left: 0, top: 0 }])
    .png()
    .toBuffer();
}

/** Renders the attention figure and writes it to `file` as PNG. */
export async function writeAttentionFigure(file: string, opts: AttentionFigureOptions): Promise<void> {
  await writeFile(file, await renderAttentionFigure(opts));
}
