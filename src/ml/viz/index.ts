export {
  AttentionFigureError,
  figureLayout,
  renderAttentionFigure,
  writeAttentionFigure,
  type AttentionFigureErrorCode,
  type AttentionFigureOptions,
  type FigureLayout,
} from './attention-figure.ts';
export { jet, normalizeByMax, upsampleBilinear } from './heatmap.ts';
