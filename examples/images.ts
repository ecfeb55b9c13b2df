/**
 * The pictures the generative examples write, as PNG (imagescript): a grid of
 * images (torchvision's `make_grid`/`save_image`, the subset the examples
 * need) and a scatter plot of 2-D points coloured by digit.
 *
 * A local stand-in: `utils/` (`@dendrite/utils`) is getting torchvision's
 * `makeGrid`/`saveImage` and a plotting core; once they land on main these
 * examples should use them and this file goes.
 *
 * @module
 */

import { Image } from "imagescript";
import type { Tensor } from "../mod.ts";

/** Options of {@link saveImageGrid}. */
export interface GridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between images and around the grid (default 2). */
  padding?: number;
  /** Each image pixel becomes a `scale × scale` block (default 2, so 28×28 digits are visible). */
  scale?: number;
}

/**
 * Writes images `[B, 1 or 3, H, W]` with values in [0, 1] (clamped) as one
 * PNG grid, `nrow` per row, on a black background.
 */
export async function saveImageGrid(images: Tensor, path: string, options: GridOptions = {}): Promise<void> {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new RangeError(`saveImageGrid: expected images [B, 1 or 3, H, W], got [${images.shape.join(", ")}]`);
  }
  const [b, c, h, w] = images.shape;
  const nrow = Math.min(options.nrow ?? 8, b), pad = options.padding ?? 2, s = options.scale ?? 2;
  const rows = Math.ceil(b / nrow);
  const img = new Image((nrow * (w + pad) + pad) * s, (rows * (h + pad) + pad) * s);
  img.fill(0x000000ff);
  const v = await images.contiguous().data();
  const byte = (x: number) => Math.round(255 * Math.min(Math.max(x, 0), 1));
  for (let k = 0; k < b; k++) {
    const x0 = pad + (k % nrow) * (w + pad), y0 = pad + Math.floor(k / nrow) * (h + pad);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const at = (ch: number) => v[((k * c + ch) * h + i) * w + j];
        const [r, g, bl] = c === 1 ? [at(0), at(0), at(0)] : [at(0), at(1), at(2)];
        const rgba = Image.rgbaToColor(byte(r), byte(g), byte(bl), 255);
        img.drawBox((x0 + j) * s + 1, (y0 + i) * s + 1, s, s, rgba);
      }
    }
  }
  await Deno.writeFile(path, await img.encode());
}

/** Ten distinguishable colours, one per digit (matplotlib's tab10). */
export const DIGIT_COLORS: readonly [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/**
 * Writes a scatter plot of 2-D points (`xy`, row-major pairs) coloured by
 * their digit `labels`, `size` pixels square, with a legend that labels each
 * colour with a real image of its digit (`legend[d]`, 28×28 values in [0, 1])
 * rather than text.
 */
export async function saveDigitScatter(
  xy: ArrayLike<number>,
  labels: ArrayLike<number>,
  legend: readonly ArrayLike<number>[],
  path: string,
  size = 640,
): Promise<void> {
  const n = labels.length;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xy[2 * i]), x1 = Math.max(x1, xy[2 * i]);
    y0 = Math.min(y0, xy[2 * i + 1]), y1 = Math.max(y1, xy[2 * i + 1]);
  }
  const legendW = 64, margin = 16, plot = size - 2 * margin;
  // Tall enough for the legend's ten 28-pixel digits, whatever the plot's size.
  const img = new Image(size + legendW, Math.max(size, 2 * margin + 10 * 40));
  img.fill(0xffffffff);
  const px = (v: number) => margin + Math.round(((v - x0) / (x1 - x0 || 1)) * (plot - 1));
  const py = (v: number) => margin + Math.round((1 - (v - y0) / (y1 - y0 || 1)) * (plot - 1));
  img.drawBox(margin - 1, margin - 1, plot + 2, 1, 0x000000ff);
  img.drawBox(margin - 1, margin + plot, plot + 2, 1, 0x000000ff);
  img.drawBox(margin - 1, margin - 1, 1, plot + 2, 0x000000ff);
  img.drawBox(margin + plot, margin - 1, 1, plot + 2, 0x000000ff);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = DIGIT_COLORS[labels[i] % 10];
    img.drawBox(px(xy[2 * i]) - 1, py(xy[2 * i + 1]) - 1, 3, 3, Image.rgbaToColor(r, g, b, 200));
  }
  // Legend: a colour swatch beside a real digit, 0 to 9 down the right edge.
  for (let d = 0; d < 10; d++) {
    const top = margin + d * 40;
    const [r, g, b] = DIGIT_COLORS[d];
    img.drawBox(size + 4, top + 8, 14, 14, Image.rgbaToColor(r, g, b, 255));
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const v = 255 - Math.round(255 * Math.min(Math.max(legend[d]?.[i * 28 + j] ?? 0, 0), 1));
        img.setPixelAt(size + 24 + j + 1, top + i + 1, Image.rgbaToColor(v, v, v, 255));
      }
    }
  }
  await Deno.writeFile(path, await img.encode());
}
