/**
 * Training feedback and pictures: progress bars, model summaries, metrics,
 * curves and image grids as PNG. Small, dependency-light helpers that every
 * example shares.
 *
 * @module
 */

export {
  captionedGrid,
  type CaptionedGridOptions,
  makeGrid,
  type MakeGridOptions,
  saveImage,
  type SaveImageOptions,
  tensorToImage,
} from "./grid.ts";
export { Canvas, type Color, rgba, type TextOptions } from "./canvas.ts";
export { type Colormap, colormap, type ColormapName } from "./colormap.ts";
export { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth } from "./font.ts";
export {
  type BarStyle,
  Figure,
  type FigureOptions,
  formatTick,
  Heatmap,
  type HeatmapOptions,
  type LineStyle,
  niceTicks,
  type Panel,
  Plot,
  type PlotOptions,
  type Rect,
  type ScatterStyle,
  SERIES_COLORS,
} from "./plot.ts";
export { type CurvesOptions, History, type HistoryOptions, type HistoryRow } from "./history.ts";
export {
  formatDuration,
  type Postfix,
  progress,
  ProgressBar,
  type ProgressOptions,
  type ProgressStream,
} from "./progress.ts";
export {
  Accuracy,
  type AccuracyOptions,
  type ClassScores,
  ConfusionMatrix,
  type ConfusionMatrixOptions,
  MeanMetric,
} from "./metrics.ts";
export { ModelSummary, summary, type SummaryOptions, type SummaryRow } from "./summary.ts";
export { colorize, type ColorizeOptions, overlayHeatmap, type OverlayOptions, resizeBilinear } from "./overlay.ts";
