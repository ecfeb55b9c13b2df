/**
 * Colormaps for heat maps and overlays: matplotlib's perceptual maps
 * (viridis, magma, inferno), ColorBrewer's Blues (confusion matrices), the
 * diverging coolwarm, the rainbow jet that Grad-CAM pictures use, and gray.
 * Each is a short list of evenly spaced anchor colours, interpolated
 * linearly: matplotlib's own values at those points for viridis, magma,
 * inferno and Blues; close approximations for coolwarm and jet.
 *
 * @module
 */

/** The names of the built-in colormaps. */
export type ColormapName = "viridis" | "magma" | "inferno" | "blues" | "coolwarm" | "jet" | "gray";

const ANCHORS: Record<ColormapName, string[]> = {
  viridis: ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"],
  magma: ["#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064", "#fb8761", "#fec287", "#fcfdbf"],
  inferno: ["#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655", "#e35933", "#f98e09", "#f9cb35", "#fcffa4"],
  blues: ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"],
  coolwarm: ["#3b4cc0", "#6788ee", "#9abbff", "#c9d7f0", "#edd1c2", "#f7a889", "#e26952", "#b40426"],
  jet: ["#00007f", "#0000ff", "#007fff", "#00ffff", "#7fff7f", "#ffff00", "#ff7f00", "#ff0000", "#7f0000"],
  gray: ["#000000", "#ffffff"],
};

const TABLES = new Map<ColormapName, number[][]>(
  Object.entries(ANCHORS).map(([name, hex]) => [
    name as ColormapName,
    hex.map((h) => {
      const v = parseInt(h.slice(1), 16);
      return [v >> 16, (v >> 8) & 255, v & 255];
    }),
  ]),
);

/** A colormap: a value in [0, 1] (clamped; NaN counts as 0) to `[r, g, b]` in 0–255. */
export type Colormap = (t: number) => [number, number, number];

/**
 * The colormap called `name`.
 *
 * @example
 * ```ts
 * import { colormap } from "./colormap.ts";
 * const viridis = colormap("viridis");
 * console.log(viridis(0), viridis(1)); // [68, 1, 84] [253, 231, 37]
 * ```
 */
export function colormap(name: ColormapName): Colormap {
  const table = TABLES.get(name);
  if (!table) {
    throw new RangeError(`colormap: unknown colormap "${name}"; expected one of ${[...TABLES.keys()].join(", ")}`);
  }
  const last = table.length - 1;
  return (t: number) => {
    const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)) * last;
    const i = Math.min(last - 1, Math.floor(u)), f = u - i;
    const a = table[i], b = table[i + 1];
    return [
      Math.round(a[0] + (b[0] - a[0]) * f),
      Math.round(a[1] + (b[1] - a[1]) * f),
      Math.round(a[2] + (b[2] - a[2]) * f),
    ];
  };
}
