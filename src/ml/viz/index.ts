export {
  AttentionFigureError,
  figureLayout,
  renderAttentionFigure,
  writeAttentionFigure,
  type AttentionFigureErrorCode,
  type AttentionFigureOptions,
  type FigureLayout,
} from './attention-figure.ts';
export { attentionMap, gaussianBlur, jet, normalizeByMax, upsampleBilinear } from './heatmap.ts';
