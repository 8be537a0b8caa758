export {
  AttentionFigureError,
  figureLayout,
  renderAttentionFigure,
  writeAttentionFigure,
  type AttentionFigureErrorCode,
  type AttentionFigureOptions,
  type FigureLayout,
} from './attention-figure.ts';
export { jet, normalizeMinMax, upsampleBilinear } from './heatmap.ts';
