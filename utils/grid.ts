/**
 * torchvision's `make_grid` and `save_image`: a batch of images laid out as
 * one picture, and that picture written as PNG (or JPEG).
 *
 * @module
 */

import { Image } from "imagescript";
import { cat, full, isFloating, noGrad, stack, type Tensor } from "@dendrite/tensor";
import { Canvas } from "./canvas.ts";
import { GLYPH_HEIGHT, textWidth } from "./font.ts";

/** Options of {@link makeGrid} (torchvision's names, camelCase). */
export interface MakeGridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between images and around the grid (default 2). */
  padding?: number;
  /** Shift and scale the values into [0, 1]: by `valueRange`, or by the tensor's min and max (default false). */
  normalize?: boolean;
  /** `[low, high]`: with `normalize`, values are clamped to it and mapped to [0, 1]. */
  valueRange?: readonly [number, number];
  /** With `normalize` and no `valueRange`: each image by its own min and max (default false). */
  scaleEach?: boolean;
  /** The padding's value (default 0). */
  padValue?: number;
}

/** Options of {@link saveImage}: {@link MakeGridOptions} plus the file format. */
export interface SaveImageOptions extends MakeGridOptions {
  /** "png" or "jpeg" (default: from the path's extension, else PNG). */
  format?: "png" | "jpeg";
  /** JPEG quality 1–100 (default 90). */
  quality?: number;
}

function checkInt(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** `t` as `[B, C, H, W]` with 1-channel images repeated to 3 channels, as torchvision does. */
function asBatch(op: string, input: Tensor | readonly Tensor[]): Tensor {
  let t: Tensor;
  if (Array.isArray(input)) {
    if (input.length === 0) throw new RangeError(`${op}: got an empty list of images`);
    t = stack(input as Tensor[], 0);
  } else {
    t = input as Tensor;
  }
  if (t.ndim === 2) t = t.unsqueeze(0);
  if (t.ndim === 3) t = t.unsqueeze(0);
  if (t.ndim !== 4) {
    throw new RangeError(`${op}: expected images [B, C, H, W], [C, H, W] or [H, W], got shape [${t.shape.join(", ")}]`);
  }
  if (t.shape[0] === 0) throw new RangeError(`${op}: got a batch of 0 images`);
  if (!isFloating(t.dtype)) t = t.to("float32");
  if (t.shape[1] === 1) t = cat([t, t, t], 1);
  return t;
}

/** Maps `t` into [0, 1] from its own range (or `range`), as torchvision's `norm_ip` does. */
function normalized(t: Tensor, range: readonly [number, number] | undefined, scaleEach: boolean): Tensor {
  if (range) {
    const [lo, hi] = range;
    return t.clamp(lo, hi).sub(lo).div(Math.max(hi - lo, 1e-5));
  }
  const dims = scaleEach ? [1, 2, 3] : [0, 1, 2, 3];
  const lo = t.amin(dims, { keepdim: true }), hi = t.amax(dims, { keepdim: true });
  return t.sub(lo).div(hi.sub(lo).clamp(1e-5));
}

/**
 * Lays images out in a grid, torchvision's `make_grid`: `[B, C, H, W]` (or a
 * list of `[C, H, W]`) becomes `[C, rows·(H+p)+p, nrow·(W+p)+p]` with `p`
 * pixels of `padValue` between and around the images, `min(nrow, B)` images
 * per row. One-channel images become three channels. Like torchvision, a
 * single image comes back unpadded (`[3, H, W]`). Runs on the tensor's
 * device; records no graph.
 *
 * @example
 * ```ts
 * import { rand } from "@dendrite/tensor";
 * import { makeGrid } from "./grid.ts";
 * const grid = makeGrid(rand([10, 1, 28, 28]), { nrow: 5, padding: 2 });
 * console.log(grid.shape); // [3, 62, 152]
 * ```
 */
export function makeGrid(images: Tensor | readonly Tensor[], options: MakeGridOptions = {}): Tensor {
  const op = "makeGrid";
  const nrow = options.nrow ?? 8, padding = options.padding ?? 2, padValue = options.padValue ?? 0;
  checkInt(op, "nrow", nrow, 1);
  checkInt(op, "padding", padding, 0);
  const range = options.valueRange;
  if (range && !(range.length === 2 && range[0] < range[1])) {
    throw new RangeError(`${op}: valueRange must be [low, high] with low < high, got [${range.join(", ")}]`);
  }
  return noGrad(() => {
    let t = asBatch(op, images).detach();
    if (options.normalize) t = normalized(t, range, options.scaleEach ?? false);
    const [b, c, h, w] = t.shape;
    if (b === 1) return t.squeeze(0);
    const cols = Math.min(nrow, b), rows = Math.ceil(b / cols);
    const cellH = h + padding, cellW = w + padding;
    const grid = full([c, cellH * rows + padding, cellW * cols + padding], padValue, {
      dtype: t.dtype,
      device: t.device,
    });
    for (let k = 0; k < b; k++) {
      const y = Math.floor(k / cols), x = k % cols;
      grid.narrow(1, y * cellH + padding, h).narrow(2, x * cellW + padding, w).copy_(t.select(0, k));
    }
    return grid;
  });
}

/**
 * The 8-bit RGBA pixels of an image tensor `[C, H, W]` (C = 1, 3 or 4) or
 * `[H, W]` with values in [0, 1], rounded as torchvision's `save_image` does
 * (`v·255 + 0.5`, clamped), as an imagescript `Image`.
 */
export async function tensorToImage(image: Tensor): Promise<Image> {
  const t = image.ndim === 2 ? image.unsqueeze(0) : image;
  if (t.ndim !== 3 || ![1, 3, 4].includes(t.shape[0])) {
    throw new RangeError(
      `tensorToImage: expected an image [C, H, W] with C = 1, 3 or 4, or [H, W]; got shape [${image.shape.join(", ")}]`,
    );
  }
  const [c, h, w] = t.shape;
  const values = await noGrad(() => t.detach().to("float32").mul(255).add(0.5).clamp(0, 255)).data();
  const img = new Image(w, h);
  const px = img.bitmap, plane = h * w;
  for (let p = 0; p < plane; p++) {
    const r = values[p] | 0;
    px[4 * p] = r;
    px[4 * p + 1] = c >= 3 ? values[plane + p] | 0 : r;
    px[4 * p + 2] = c >= 3 ? values[2 * plane + p] | 0 : r;
    px[4 * p + 3] = c === 4 ? values[3 * plane + p] | 0 : 255;
  }
  return img;
}

/**
 * Writes images as one picture, torchvision's `save_image`: {@link makeGrid}
 * with `options`, values in [0, 1] scaled to 8 bits, PNG unless the path
 * ends in `.jpg`/`.jpeg` (or `format` says otherwise).
 *
 * @example
 * ```ts ignore
 * import { rand } from "@dendrite/tensor";
 * await saveImage(rand([16, 1, 28, 28]), "samples.png", { nrow: 4 });
 * ```
 */
export async function saveImage(
  images: Tensor | readonly Tensor[],
  path: string,
  options: SaveImageOptions = {},
): Promise<void> {
  const format = options.format ?? (/\.jpe?g$/i.test(path) ? "jpeg" : "png");
  if (format !== "png" && format !== "jpeg") throw new RangeError(`saveImage: format must be "png" or "jpeg"`);
  const quality = options.quality ?? 90;
  checkInt("saveImage", "quality", quality, 1);
  if (quality > 100) throw new RangeError(`saveImage: quality must be at most 100, got ${quality}`);
  const img = await tensorToImage(makeGrid(images, options));
  const bytes = format === "png"
    ? await img.encode()
    : await img.encodeJPEG(quality as Parameters<Image["encodeJPEG"]>[0]);
  await Deno.writeFile(path, bytes);
}

/** Options of {@link captionedGrid}. */
export interface CaptionedGridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Each image pixel becomes a `scale` × `scale` block (default 2). */
  scale?: number;
  /** Pixels between cells and around the grid (default 4). */
  padding?: number;
}

/**
 * Images with a caption under each (a label, "true → predicted", a score),
 * laid out in rows on a white {@link Canvas} to save as PNG. Images are
 * `[C, H, W]` or `[H, W]` (C = 1 or 3, values in [0, 1], clamped), given as a
 * list or a batch `[B, C, H, W]`.
 *
 * @example
 * ```ts ignore
 * const canvas = await captionedGrid(wrongImages, wrongLabels.map((t, i) => `${t}→${predicted[i]}`), { nrow: 8 });
 * await canvas.savePng("mistakes.png");
 * ```
 */
export async function captionedGrid(
  images: Tensor | readonly Tensor[],
  captions: readonly string[],
  options: CaptionedGridOptions = {},
): Promise<Canvas> {
  const op = "captionedGrid";
  const nrow = options.nrow ?? 8, scale = options.scale ?? 2, padding = options.padding ?? 4;
  checkInt(op, "nrow", nrow, 1);
  checkInt(op, "scale", scale, 1);
  checkInt(op, "padding", padding, 0);
  const list = Array.isArray(images) ? images as readonly Tensor[] : null;
  const count = list ? list.length : (images as Tensor).ndim === 4 ? (images as Tensor).shape[0] : 1;
  if (count === 0) throw new RangeError(`${op}: got no images`);
  if (captions.length !== count) throw new RangeError(`${op}: ${captions.length} captions for ${count} images`);
  const batch = asBatch(op, images); // [B, 3, H, W]
  const [b, , h, w] = batch.shape;
  const values = await noGrad(() => batch.detach().clamp(0, 1).mul(255)).data();
  const capH = captions.some((c) => c.length > 0) ? GLYPH_HEIGHT + 3 : 0;
  const cellW = Math.max(w * scale, ...captions.map((c) => textWidth(c))), cellH = h * scale + capH;
  const cols = Math.min(nrow, b), rows = Math.ceil(b / cols);
  const canvas = new Canvas(cols * (cellW + padding) + padding, rows * (cellH + padding) + padding);
  const plane = h * w;
  for (let k = 0; k < b; k++) {
    const x0 = padding + (k % cols) * (cellW + padding), y0 = padding + Math.floor(k / cols) * (cellH + padding);
    const ix = x0 + Math.floor((cellW - w * scale) / 2);
    for (let p = 0; p < plane; p++) {
      const base = k * 3 * plane + p;
      const color = [values[base], values[base + plane], values[base + 2 * plane]].map(Math.round);
      canvas.fillRect(ix + (p % w) * scale, y0 + Math.floor(p / w) * scale, scale, scale, color);
    }
    if (captions[k]) canvas.text(x0 + cellW / 2, y0 + h * scale + 2, captions[k], "#000000", { align: "center" });
  }
  return canvas;
}
