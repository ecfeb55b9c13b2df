/**
 * A small plotting core the examples share: a {@link Plot} holds series
 * (lines, points, bars) and draws them with axes, ticks with numbers, grid
 * lines, a title, axis labels and a legend; a {@link Heatmap} draws a matrix
 * through a colormap (confusion matrices, attention maps); a {@link Figure}
 * puts panels side by side in one PNG. Everything draws on a {@link Canvas}
 * with the built-in bitmap font, so nothing needs a font file.
 *
 * @module
 */

import { Canvas, type Color } from "./canvas.ts";
import { colormap, type ColormapName } from "./colormap.ts";
import { GLYPH_HEIGHT, textWidth } from "./font.ts";

/** A rectangle in canvas pixels (top-left corner, size). */
export interface Rect {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Anything a {@link Figure} can lay out: it draws itself into a rectangle of a canvas. */
export interface Panel {
  /** Draws into `rect` of `canvas`. */
  draw(canvas: Canvas, rect: Rect): void;
}

/** The colours series get in turn when they name none (matplotlib's tab10). */
export const SERIES_COLORS: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

const INK = "#000000";
const GRID = "#e6e6e6";
const PAD = 6;
const TICK = 4;
const LINE_H = GLYPH_HEIGHT;

/**
 * About `maxTicks` round tick positions (steps of 1, 2, 2.5 or 5 times a power
 * of ten) covering [lo, hi].
 *
 * @example
 * ```ts
 * import { niceTicks } from "./plot.ts";
 * console.log(niceTicks(0, 1, 5)); // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * ```
 */
export function niceTicks(lo: number, hi: number, maxTicks = 6): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(1, maxTicks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    out.push(Number((k * step).toFixed(digits)));
  }
  return out;
}

/** A tick's label: as many decimals as the step between ticks needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(1).replace("e+", "e");
  // The fewest decimals that write the step exactly (0.25 needs 2, 0.5 one, 5 none).
  let decimals = 2;
  if (step > 0) {
    for (decimals = 0; decimals < 6; decimals++) {
      const scaled = step * 10 ** decimals;
      if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * scaled) break;
    }
  }
  const s = v.toFixed(decimals);
  return s === "-0" ? "0" : s;
}

/** Options of a {@link Plot}. */
export interface PlotOptions {
  /** Text above the axes. */
  title?: string;
  /** Text below the x axis. */
  xLabel?: string;
  /** Text beside the y axis (read bottom to top). */
  yLabel?: string;
  /** The x axis's range (default: the data's, with a 4% margin). */
  xRange?: readonly [number, number];
  /** The y axis's range (default: the data's, with a 4% margin). */
  yRange?: readonly [number, number];
  /** Tick positions on x (default: round numbers). */
  xTicks?: readonly number[];
  /** Tick positions on y (default: round numbers). */
  yTicks?: readonly number[];
  /** Labels for `xTicks` (categorical axes), one per tick. */
  xTickLabels?: readonly string[];
  /** Where the legend goes (default "best": the corner the data leaves emptiest). */
  legend?: "best" | "upper right" | "upper left" | "lower right" | "lower left" | "none";
  /** Light grid lines at the ticks (default true). */
  grid?: boolean;
}

/** Style of {@link Plot.line}. */
export interface LineStyle {
  /** Name in the legend (none: not in the legend). */
  label?: string;
  /** Colour (default: the next of {@link SERIES_COLORS}). */
  color?: Color;
  /** Thickness in pixels (default 2). */
  width?: number;
  /** `[on, off]` pixel lengths of a dashed line. */
  dash?: readonly [number, number];
  /** A dot at each point (default false). */
  markers?: boolean;
}

/** Style of {@link Plot.scatter}. */
export interface ScatterStyle {
  /** Name in the legend. */
  label?: string;
  /** Colour (default: the next of {@link SERIES_COLORS}). */
  color?: Color;
  /** Dot radius in pixels (default 3). */
  radius?: number;
}

/** Style of {@link Plot.bar}. */
export interface BarStyle {
  /** Name in the legend. */
  label?: string;
  /** Fill colour (default: the next of {@link SERIES_COLORS}). */
  color?: Color;
  /** Bar width in x units (default: 0.8 times the smallest gap between bars, or 0.8). */
  width?: number;
  /** Where each bar starts (default 0). */
  bottom?: number | readonly number[];
  /** Outline colour (default none). */
  edgeColor?: Color;
}

type Series =
  | { kind: "line"; x: number[]; y: number[]; color: Color; style: LineStyle }
  | { kind: "scatter"; x: number[]; y: number[]; color: Color; style: ScatterStyle }
  | { kind: "bar"; x: number[]; y: number[]; y0: number[]; width: number; color: Color; style: BarStyle };

function checkXY(op: string, x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`${op}: x has ${x.length} values but y has ${y.length}`);
}

/** Data range of `values` (finite ones), widened by `margin` of its span on each side. */
function span(values: number[], margin: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const m = (hi - lo) * margin;
  return [lo - m, hi + m];
}

/**
 * Lines, points and bars on one pair of axes.
 *
 * @example
 * ```ts
 * import { Plot } from "./plot.ts";
 * const plot = new Plot({ title: "loss", xLabel: "epoch", yLabel: "loss" })
 *   .line([1, 2, 3, 4], [1.2, 0.7, 0.5, 0.45], { label: "train" })
 *   .line([1, 2, 3, 4], [1.1, 0.8, 0.65, 0.62], { label: "val" });
 * const canvas = plot.render(480, 320);
 * console.log(canvas.width, canvas.height); // 480 320
 * ```
 */
export class Plot implements Panel {
  /** The options given. */
  readonly options: PlotOptions;
  readonly #series: Series[] = [];
  #area: Rect | null = null;
  #xr: [number, number] = [0, 1];
  #yr: [number, number] = [0, 1];

  /** An empty plot. */
  constructor(options: PlotOptions = {}) {
    for (const key of ["xRange", "yRange"] as const) {
      const r = options[key];
      if (r && !(r.length === 2 && r[0] < r[1])) {
        throw new RangeError(`Plot: ${key} must be [low, high] with low < high, got [${r.join(", ")}]`);
      }
    }
    if (options.xTickLabels && options.xTickLabels.length !== (options.xTicks?.length ?? -1)) {
      throw new RangeError(`Plot: xTickLabels needs xTicks of the same length`);
    }
    this.options = options;
  }

  #nextColor(): string {
    return SERIES_COLORS[this.#series.length % SERIES_COLORS.length];
  }

  /** Adds a line through the points (x[i], y[i]); non-finite values break it. Returns this. */
  line(x: readonly number[], y: readonly number[], style: LineStyle = {}): this {
    checkXY("Plot.line", x, y);
    this.#series.push({ kind: "line", x: [...x], y: [...y], color: style.color ?? this.#nextColor(), style });
    return this;
  }

  /** Adds points. Returns this. */
  scatter(x: readonly number[], y: readonly number[], style: ScatterStyle = {}): this {
    checkXY("Plot.scatter", x, y);
    this.#series.push({ kind: "scatter", x: [...x], y: [...y], color: style.color ?? this.#nextColor(), style });
    return this;
  }

  /** Adds bars centred at x[i] from `bottom` to `bottom + heights[i]`. Returns this. */
  bar(x: readonly number[], heights: readonly number[], style: BarStyle = {}): this {
    checkXY("Plot.bar", x, heights);
    const sorted = [...x].sort((a, b) => a - b);
    let gap = Infinity;
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] > sorted[i - 1]) gap = Math.min(gap, sorted[i] - sorted[i - 1]);
    }
    const width = style.width ?? 0.8 * (gap === Infinity ? 1 : gap);
    const b = style.bottom ?? 0;
    const y0 = x.map((_, i) => typeof b === "number" ? b : b[i] ?? 0);
    this.#series.push({
      kind: "bar",
      x: [...x],
      y: heights.map((h, i) => y0[i] + h),
      y0,
      width,
      color: style.color ?? this.#nextColor(),
      style,
    });
    return this;
  }

  /** The plotting area (inside the axes) of the last draw; null before one. */
  get area(): Rect | null {
    return this.#area;
  }

  /** The axes' ranges of the last draw: `{ x: [lo, hi], y: [lo, hi] }`. */
  get ranges(): { x: [number, number]; y: [number, number] } {
    return { x: [...this.#xr], y: [...this.#yr] };
  }

  /** The canvas column of data value `v` on x (after a draw). */
  xToPixel(v: number): number {
    const a = this.#requireArea();
    return a.x + ((v - this.#xr[0]) / (this.#xr[1] - this.#xr[0])) * (a.width - 1);
  }

  /** The canvas row of data value `v` on y (after a draw). */
  yToPixel(v: number): number {
    const a = this.#requireArea();
    return a.y + a.height - 1 - ((v - this.#yr[0]) / (this.#yr[1] - this.#yr[0])) * (a.height - 1);
  }

  #requireArea(): Rect {
    if (!this.#area) throw new Error("Plot: draw or render the plot before mapping values to pixels");
    return this.#area;
  }

  #ranges(): void {
    const xs: number[] = [], ys: number[] = [];
    for (const s of this.#series) {
      if (s.kind === "bar") {
        s.x.forEach((v) => xs.push(v - s.width / 2, v + s.width / 2));
        ys.push(...s.y, ...s.y0);
      } else {
        xs.push(...s.x);
        ys.push(...s.y);
      }
    }
    if (this.options.xTicks) xs.push(...this.options.xTicks);
    this.#xr = this.options.xRange ? [...this.options.xRange] : span(xs, 0.04);
    this.#yr = this.options.yRange ? [...this.options.yRange] : span(ys, 0.04);
  }

  /** Draws the axes, series and legend into `rect` of `canvas`. */
  draw(canvas: Canvas, rect: Rect): void {
    const o = this.options;
    this.#ranges();
    const [x0, x1] = this.#xr, [y0, y1] = this.#yr;
    const yTicks = (o.yTicks ?? niceTicks(y0, y1, Math.max(2, Math.floor(rect.height / 50))))
      .filter((v) => v >= y0 && v <= y1);
    const xTicks = (o.xTicks ?? niceTicks(x0, x1, Math.max(2, Math.floor(rect.width / 70))))
      .filter((v) => v >= x0 && v <= x1);
    const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 0;
    const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 0;
    const yLabels = yTicks.map((v) => formatTick(v, yStep));
    const xLabels = o.xTickLabels ? [...o.xTickLabels] : xTicks.map((v) => formatTick(v, xStep));

    const left = rect.x + PAD + (o.yLabel ? LINE_H + PAD : 0) + Math.max(0, ...yLabels.map((s) => textWidth(s))) +
      TICK + 3;
    const top = rect.y + PAD + (o.title ? LINE_H + PAD : 0);
    const bottom = rect.y + rect.height - PAD - (o.xLabel ? LINE_H + PAD : 0) - LINE_H - TICK - 3;
    const right = rect.x + rect.width - PAD - Math.ceil(textWidth(xLabels.at(-1) ?? "") / 2);
    const area = { x: left, y: top, width: Math.max(2, right - left), height: Math.max(2, bottom - top) };
    this.#area = area;

    canvas.fillRect(rect.x, rect.y, rect.width, rect.height, "#ffffff");
    if (o.title) canvas.text(area.x + area.width / 2, rect.y + PAD, o.title, INK, { align: "center" });
    if (o.xLabel) {
      canvas.text(area.x + area.width / 2, rect.y + rect.height - PAD, o.xLabel, INK, {
        align: "center",
        baseline: "bottom",
      });
    }
    if (o.yLabel) {
      canvas.text(rect.x + PAD, area.y + area.height / 2, o.yLabel, INK, { vertical: true, align: "center" });
    }
    const ax0 = area.x, ax1 = area.x + area.width - 1, ay0 = area.y, ay1 = area.y + area.height - 1;
    yTicks.forEach((v, i) => {
      const py = Math.round(this.yToPixel(v));
      if (o.grid ?? true) canvas.line(ax0, py, ax1, py, GRID);
      canvas.line(ax0 - TICK, py, ax0, py, INK);
      canvas.text(ax0 - TICK - 3, py, yLabels[i], INK, { align: "right", baseline: "middle" });
    });
    xTicks.forEach((v, i) => {
      const px = Math.round(this.xToPixel(v));
      if (o.grid ?? true) canvas.line(px, ay0, px, ay1, GRID);
      canvas.line(px, ay1, px, ay1 + TICK, INK);
      canvas.text(px, ay1 + TICK + 3, xLabels[i] ?? "", INK, { align: "center" });
    });

    canvas.setClip(area);
    for (const s of this.#series) this.#drawSeries(canvas, s);
    canvas.setClip(null);
    canvas.strokeRect(area.x, area.y, area.width, area.height, INK);
    this.#drawLegend(canvas, area);
  }

  #drawSeries(canvas: Canvas, s: Series): void {
    if (s.kind === "bar") {
      s.x.forEach((xv, i) => {
        const xa = this.xToPixel(xv - s.width / 2), xb = this.xToPixel(xv + s.width / 2);
        const ya = this.yToPixel(s.y[i]), yb = this.yToPixel(s.y0[i]);
        if (![xa, xb, ya, yb].every(Number.isFinite)) return;
        const l = Math.round(Math.min(xa, xb)), t = Math.round(Math.min(ya, yb));
        const w = Math.max(1, Math.round(Math.max(xa, xb)) - l), h = Math.max(1, Math.round(Math.max(ya, yb)) - t + 1);
        canvas.fillRect(l, t, w, h, s.color);
        if (s.style.edgeColor) canvas.strokeRect(l, t, w, h, s.style.edgeColor);
      });
      return;
    }
    const pts = s.x.map((xv, i): [number, number] => [this.xToPixel(xv), this.yToPixel(s.y[i])]);
    if (s.kind === "scatter") {
      for (const [px, py] of pts) if (Number.isFinite(px + py)) canvas.disc(px, py, s.style.radius ?? 3, s.color);
      return;
    }
    const width = s.style.width ?? 2;
    for (let i = 1; i < pts.length; i++) {
      const [ax, ay] = pts[i - 1], [bx, by] = pts[i];
      if (Number.isFinite(ax + ay + bx + by)) canvas.line(ax, ay, bx, by, s.color, width, s.style.dash);
    }
    if (pts.length === 1 && Number.isFinite(pts[0][0] + pts[0][1])) canvas.disc(pts[0][0], pts[0][1], width, s.color);
    if (s.style.markers) {
      for (const [px, py] of pts) if (Number.isFinite(px + py)) canvas.disc(px, py, width + 1.5, s.color);
    }
  }

  #drawLegend(canvas: Canvas, area: Rect): void {
    const where = this.options.legend ?? "best";
    const entries = this.#series.filter((s) => s.style.label);
    if (where === "none" || entries.length === 0) return;
    const sample = 18;
    const w = sample + 4 + Math.max(...entries.map((s) => textWidth(s.style.label!))) + 10;
    const h = entries.length * (LINE_H + 4) + 6;
    const corners = {
      "upper right": { x: area.x + area.width - w - 6, y: area.y + 6 },
      "upper left": { x: area.x + 6, y: area.y + 6 },
      "lower right": { x: area.x + area.width - w - 6, y: area.y + area.height - h - 6 },
      "lower left": { x: area.x + 6, y: area.y + area.height - h - 6 },
    };
    let at = corners[where === "best" ? "upper right" : where];
    if (where === "best") {
      // The corner whose box covers the fewest of the series' points.
      let fewest = Infinity;
      for (const c of Object.values(corners)) {
        let n = 0;
        for (const s of this.#series) {
          s.x.forEach((xv, i) => {
            const px = this.xToPixel(xv), py = this.yToPixel(s.y[i]);
            if (px >= c.x - 4 && px <= c.x + w + 4 && py >= c.y - 4 && py <= c.y + h + 4) n++;
          });
        }
        if (n < fewest) [fewest, at] = [n, c];
      }
    }
    canvas.fillRect(at.x, at.y, w, h, "#ffffffe6");
    canvas.strokeRect(at.x, at.y, w, h, "#a0a0a0");
    entries.forEach((s, i) => {
      const cy = at.y + 5 + i * (LINE_H + 4) + LINE_H / 2;
      if (s.kind === "line") {
        canvas.line(at.x + 4, cy, at.x + 4 + sample, cy, s.color, s.style.width ?? 2, s.style.dash);
      } else if (s.kind === "scatter") canvas.disc(at.x + 4 + sample / 2, cy, 3, s.color);
      else canvas.fillRect(at.x + 4, cy - 4, sample, 8, s.color);
      canvas.text(at.x + 8 + sample, cy, s.style.label!, INK, { baseline: "middle" });
    });
  }

  /** Draws the plot on a new `width` × `height` canvas. */
  render(width = 640, height = 400): Canvas {
    const canvas = new Canvas(width, height);
    this.draw(canvas, { x: 0, y: 0, width, height });
    return canvas;
  }

  /** Writes the plot as a PNG file. */
  async savePng(path: string, width = 640, height = 400): Promise<void> {
    await this.render(width, height).savePng(path);
  }
}

/** Options of a {@link Heatmap}. */
export interface HeatmapOptions {
  /** Text above the map. */
  title?: string;
  /** Text below the columns. */
  xLabel?: string;
  /** Text beside the rows. */
  yLabel?: string;
  /** A label per column (default 0, 1, …). */
  xTickLabels?: readonly string[];
  /** A label per row (default 0, 1, …). */
  yTickLabels?: readonly string[];
  /** The colormap (default "viridis"). */
  colormap?: ColormapName;
  /** Values mapped to the colormap's ends (default: the matrix's min and max). */
  valueRange?: readonly [number, number];
  /** Write each cell's value in it: true (numbers), or a formatter (default false). */
  annotate?: boolean | ((value: number, row: number, col: number) => string);
  /** A colour bar with ticks beside the map (default true). */
  colorbar?: boolean;
}

/**
 * A matrix drawn as coloured cells, row 0 at the top (matplotlib's `imshow`),
 * with labelled rows and columns, optional numbers in the cells and a colour bar.
 *
 * @example
 * ```ts
 * import { Heatmap } from "./plot.ts";
 * const map = new Heatmap([[50, 2], [5, 43]], { colormap: "blues", annotate: true, xLabel: "predicted" });
 * console.log(map.render(320, 280).width); // 320
 * ```
 */
export class Heatmap implements Panel {
  /** The matrix, rows of equal length. */
  readonly values: number[][];
  /** The options given. */
  readonly options: HeatmapOptions;
  #grid: { x: number; y: number; cell: number } | null = null;

  /** A heat map of `values` (rows of equal length). */
  constructor(values: readonly (readonly number[])[], options: HeatmapOptions = {}) {
    const cols = values[0]?.length ?? 0;
    if (values.length === 0 || cols === 0 || values.some((r) => r.length !== cols)) {
      throw new RangeError(`Heatmap: expected a non-empty matrix with rows of equal length`);
    }
    if (options.xTickLabels && options.xTickLabels.length !== cols) {
      throw new RangeError(`Heatmap: ${options.xTickLabels.length} xTickLabels for ${cols} columns`);
    }
    if (options.yTickLabels && options.yTickLabels.length !== values.length) {
      throw new RangeError(`Heatmap: ${options.yTickLabels.length} yTickLabels for ${values.length} rows`);
    }
    const r = options.valueRange;
    if (r && !(r[0] < r[1])) throw new RangeError(`Heatmap: valueRange must be [low, high] with low < high`);
    this.values = values.map((row) => [...row]);
    this.options = options;
  }

  /** The pixel rectangle of cell (row, col) of the last draw. */
  cellRect(row: number, col: number): Rect {
    if (!this.#grid) throw new Error("Heatmap: draw or render the map before asking for cell positions");
    const g = this.#grid;
    return { x: g.x + col * g.cell, y: g.y + row * g.cell, width: g.cell, height: g.cell };
  }

  #range(): [number, number] {
    if (this.options.valueRange) return [...this.options.valueRange] as [number, number];
    const flat = this.values.flat().filter(Number.isFinite);
    const lo = Math.min(...flat), hi = Math.max(...flat);
    return lo < hi ? [lo, hi] : [lo, lo + 1];
  }

  /** Draws the map into `rect` of `canvas`. */
  draw(canvas: Canvas, rect: Rect): void {
    const o = this.options;
    const rows = this.values.length, cols = this.values[0].length;
    const yLabels = o.yTickLabels ?? this.values.map((_, i) => String(i));
    const xLabels = o.xTickLabels ?? this.values[0].map((_, j) => String(j));
    const cmap = colormap(o.colormap ?? "viridis");
    const [lo, hi] = this.#range();
    const barW = (o.colorbar ?? true) ? 14 : 0;
    const barTicks = barW ? niceTicks(lo, hi, 5).filter((v) => v >= lo && v <= hi) : [];
    const barStep = barTicks.length > 1 ? barTicks[1] - barTicks[0] : 0;
    const barLabels = barTicks.map((v) => formatTick(v, barStep));
    const barSpace = barW ? barW + 12 + Math.max(0, ...barLabels.map((s) => textWidth(s))) + TICK + 3 : 0;

    const left = rect.x + PAD + (o.yLabel ? LINE_H + PAD : 0) + Math.max(...yLabels.map((s) => textWidth(s))) + 6;
    const top = rect.y + PAD + (o.title ? LINE_H + PAD : 0);
    const availW = rect.x + rect.width - PAD - barSpace - left;
    const availH = rect.y + rect.height - PAD - (o.xLabel ? LINE_H + PAD : 0) - LINE_H - 6 - top;
    const cell = Math.max(1, Math.floor(Math.min(availW / cols, availH / rows)));
    const gx = left, gy = top;
    this.#grid = { x: gx, y: gy, cell };

    canvas.fillRect(rect.x, rect.y, rect.width, rect.height, "#ffffff");
    if (o.title) canvas.text(gx + (cols * cell) / 2, rect.y + PAD, o.title, INK, { align: "center" });
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = this.values[i][j];
        const c = Number.isFinite(v) ? cmap((v - lo) / (hi - lo)) : [255, 255, 255];
        canvas.fillRect(gx + j * cell, gy + i * cell, cell, cell, c);
        if (o.annotate) {
          const s = typeof o.annotate === "function" ? o.annotate(v, i, j) : formatCell(v);
          const scale = cell >= 2 * textWidth(s) + 8 && cell >= 3 * LINE_H ? 2 : 1;
          if (textWidth(s, scale) > cell - 2) continue;
          const luminance = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
          canvas.text(gx + j * cell + cell / 2, gy + i * cell + cell / 2, s, luminance < 128 ? "#ffffff" : INK, {
            align: "center",
            baseline: "middle",
            scale,
          });
        }
      }
    }
    canvas.strokeRect(gx, gy, cols * cell, rows * cell, INK);
    yLabels.forEach((s, i) => {
      canvas.text(gx - 4, gy + i * cell + cell / 2, s, INK, { align: "right", baseline: "middle" });
    });
    // Column labels, every one that fits.
    const every = Math.max(1, Math.ceil((Math.max(...xLabels.map((s) => textWidth(s))) + 4) / cell));
    xLabels.forEach((s, j) => {
      if (j % every === 0) canvas.text(gx + j * cell + cell / 2, gy + rows * cell + 4, s, INK, { align: "center" });
    });
    if (o.xLabel) {
      canvas.text(gx + (cols * cell) / 2, rect.y + rect.height - PAD, o.xLabel, INK, {
        align: "center",
        baseline: "bottom",
      });
    }
    if (o.yLabel) {
      canvas.text(rect.x + PAD, gy + (rows * cell) / 2, o.yLabel, INK, { vertical: true, align: "center" });
    }
    if (barW) {
      const bx = gx + cols * cell + 12, bh = rows * cell;
      for (let k = 0; k < bh; k++) canvas.fillRect(bx, gy + bh - 1 - k, barW, 1, cmap(k / Math.max(1, bh - 1)));
      canvas.strokeRect(bx, gy, barW, bh, INK);
      barTicks.forEach((v, i) => {
        const py = Math.round(gy + bh - 1 - ((v - lo) / (hi - lo)) * (bh - 1));
        canvas.line(bx + barW, py, bx + barW + TICK, py, INK);
        canvas.text(bx + barW + TICK + 3, py, barLabels[i], INK, { baseline: "middle" });
      });
    }
  }

  /** Draws the map on a new `width` × `height` canvas. */
  render(width = 480, height = 400): Canvas {
    const canvas = new Canvas(width, height);
    this.draw(canvas, { x: 0, y: 0, width, height });
    return canvas;
  }

  /** Writes the map as a PNG file. */
  async savePng(path: string, width = 480, height = 400): Promise<void> {
    await this.render(width, height).savePng(path);
  }
}

function formatCell(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);
}

/** Options of a {@link Figure}. */
export interface FigureOptions {
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Each panel's width in pixels (default 480). */
  panelWidth?: number;
  /** Each panel's height in pixels (default 320). */
  panelHeight?: number;
  /** Text above all panels. */
  title?: string;
}

/**
 * Several panels in one picture, laid out in rows of `columns`.
 *
 * @example
 * ```ts ignore
 * const fig = new Figure([lossPlot, accuracyPlot], { title: "MNIST CNN" });
 * await fig.savePng("curves.png");
 * ```
 */
export class Figure {
  /** The panels, in reading order. */
  readonly panels: Panel[];
  /** The options given. */
  readonly options: FigureOptions;

  /** A figure of `panels`. */
  constructor(panels: readonly Panel[], options: FigureOptions = {}) {
    if (panels.length === 0) throw new RangeError("Figure: needs at least one panel");
    const cols = options.columns ?? panels.length;
    if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`Figure: columns must be a positive integer`);
    this.panels = [...panels];
    this.options = options;
  }

  /** Draws every panel on one new canvas. */
  render(): Canvas {
    const cols = Math.min(this.options.columns ?? this.panels.length, this.panels.length);
    const rows = Math.ceil(this.panels.length / cols);
    const pw = this.options.panelWidth ?? 480, ph = this.options.panelHeight ?? 320;
    const head = this.options.title ? 2 * LINE_H + PAD : 0;
    const canvas = new Canvas(cols * pw, rows * ph + head);
    if (this.options.title) {
      canvas.text(canvas.width / 2, PAD, this.options.title, INK, { align: "center", scale: 2 });
    }
    this.panels.forEach((p, i) => {
      p.draw(canvas, { x: (i % cols) * pw, y: head + Math.floor(i / cols) * ph, width: pw, height: ph });
    });
    return canvas;
  }

  /** Writes the figure as a PNG file. */
  async savePng(path: string): Promise<void> {
    await this.render().savePng(path);
  }
}
