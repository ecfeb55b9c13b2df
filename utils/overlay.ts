/**
 * Heat maps over images, the picture interpretability methods draw
 * (saliency, integrated gradients, Grad-CAM): a map is resized to the image
 * (bilinear, as `F.interpolate(..., mode="bilinear", align_corners=False)`),
 * scaled to [0, 1], coloured through a colormap and blended with the image.
 * The results are image tensors in [0, 1], ready for {@link makeGrid} and
 * {@link saveImage}.
 *
 * @module
 */

import { type Tensor, tensor } from "@dendrite/tensor";
import { colormap, type ColormapName } from "./colormap.ts";

/** Options of {@link colorize}. */
export interface ColorizeOptions {
  /** The colormap (default "jet", the one Grad-CAM pictures use). */
  colormap?: ColormapName;
  /** Values mapped to the colormap's ends (default: each map's own min and max). */
  valueRange?: readonly [number, number];
}

/** Options of {@link overlayHeatmap}. */
export interface OverlayOptions extends ColorizeOptions {
  /** Weight of the heat map's colour in the blend (default 0.5). */
  alpha?: number;
}

/** Bilinear resize of one `h × w` plane to `H × W` with PyTorch's `align_corners=False` sampling. */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const sy = h / H, sx = w / W;
  for (let i = 0; i < H; i++) {
    const y = Math.min(Math.max((i + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(y), y1 = Math.min(y0 + 1, h - 1), fy = y - y0;
    for (let j = 0; j < W; j++) {
      const x = Math.min(Math.max((j + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(x), x1 = Math.min(x0 + 1, w - 1), fx = x - x0;
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[i * W + j] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** `values` scaled into [0, 1] by `range` (clamped) or by their own min and max (all 0 when constant). */
function unit(values: Float32Array, range: readonly [number, number] | undefined): Float32Array {
  let lo: number, hi: number;
  if (range) [lo, hi] = range;
  else {
    lo = Infinity;
    hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const d = Math.max(hi - lo, 1e-12);
  return values.map((v) => Math.min(1, Math.max(0, (v - lo) / d)));
}

/** The maps as `[B, h, w]` and whether the caller gave one map. */
function asMaps(op: string, heat: Tensor): [number, number, number] {
  const s = heat.shape;
  if (s.length === 2) return [1, s[0], s[1]];
  if (s.length === 3) return [s[0], s[1], s[2]];
  if (s.length === 4 && s[1] === 1) return [s[0], s[2], s[3]];
  throw new RangeError(`${op}: expected heat maps [h, w], [B, h, w] or [B, 1, h, w], got [${s.join(", ")}]`);
}

/**
 * Colours heat maps through a colormap: `[h, w]` becomes an RGB image
 * `[3, h, w]` in [0, 1] (`[B, h, w]` becomes `[B, 3, h, w]`), each map scaled
 * by its own range unless `valueRange` is given.
 */
export async function colorize(heat: Tensor, options: ColorizeOptions = {}): Promise<Tensor> {
  const [b, h, w] = asMaps("colorize", heat);
  const values = Float32Array.from(await heat.data());
  const cmap = colormap(options.colormap ?? "jet");
  const out = new Float32Array(b * 3 * h * w);
  for (let k = 0; k < b; k++) {
    const u = unit(values.subarray(k * h * w, (k + 1) * h * w), options.valueRange);
    for (let p = 0; p < h * w; p++) {
      const c = cmap(u[p]);
      for (let ch = 0; ch < 3; ch++) out[(k * 3 + ch) * h * w + p] = c[ch] / 255;
    }
  }
  return tensor(out, { shape: heat.ndim === 2 ? [3, h, w] : [b, 3, h, w] });
}

/**
 * Blends a heat map over an image: the map is resized to the image
 * (bilinear), scaled to [0, 1], coloured, and mixed in with weight `alpha`:
 * `(1 − α)·image + α·colour`. `image` is `[C, H, W]` or `[H, W]` (C = 1 or 3,
 * values in [0, 1]) with a map `[h, w]`, or a batch `[B, C, H, W]` with maps
 * `[B, h, w]`; the result is RGB (`[3, H, W]` or `[B, 3, H, W]`) on the CPU.
 *
 * @example
 * ```ts
 * import { rand } from "@dendrite/tensor";
 * import { overlayHeatmap } from "./overlay.ts";
 * const image = rand([1, 28, 28]);
 * const cam = rand([7, 7]); // e.g. Grad-CAM on the last 7×7 feature map
 * const picture = await overlayHeatmap(image, cam, { alpha: 0.4 });
 * console.log(picture.shape); // [3, 28, 28]
 * ```
 */
export async function overlayHeatmap(image: Tensor, heat: Tensor, options: OverlayOptions = {}): Promise<Tensor> {
  const op = "overlayHeatmap";
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`${op}: alpha must be in [0, 1], got ${alpha}`);
  const batched = image.ndim === 4;
  const img = image.ndim === 2 ? image.unsqueeze(0) : image;
  if ((img.ndim !== 3 && img.ndim !== 4) || ![1, 3].includes(img.shape[img.ndim - 3])) {
    throw new RangeError(
      `${op}: expected an image [C, H, W] or [H, W] or a batch [B, C, H, W] with C = 1 or 3, got [${
        image.shape.join(", ")
      }]`,
    );
  }
  const [b, c, H, W] = batched ? img.shape : [1, ...img.shape];
  const [hb, h, w] = asMaps(op, heat);
  if (hb !== b || (!batched && heat.ndim !== 2)) {
    throw new RangeError(
      `${op}: ${batched ? `a batch of ${b} images needs ${b} maps [${b}, h, w]` : "one image needs one map [h, w]"}, ` +
        `got [${heat.shape.join(", ")}]`,
    );
  }
  const [pixels, maps] = await Promise.all([img.data(), heat.data()]);
  const cmap = colormap(options.colormap ?? "jet");
  const plane = H * W;
  const out = new Float32Array(b * 3 * plane);
  for (let k = 0; k < b; k++) {
    const map = Float32Array.from(maps.subarray(k * h * w, (k + 1) * h * w));
    const u = unit(resizeBilinear(map, h, w, H, W), options.valueRange);
    for (let p = 0; p < plane; p++) {
      const col = cmap(u[p]);
      for (let ch = 0; ch < 3; ch++) {
        const v = pixels[(k * c + (c === 3 ? ch : 0)) * plane + p];
        out[(k * 3 + ch) * plane + p] = (1 - alpha) * v + alpha * (col[ch] / 255);
      }
    }
  }
  return tensor(out, { shape: batched ? [b, 3, H, W] : [3, H, W] });
}
