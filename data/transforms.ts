/**
 * Image transforms mirroring torchvision's: geometric ones work on HWC
 * {@link Image}s (what `ImageFolder` decodes), `ToTensor` turns an image into
 * a CHW float32 tensor in [0, 1], and `Normalize` works on tensors.
 *
 * Random transforms draw from a seeded {@link Generator} (option `generator`,
 * default the global one that `manualSeed` seeds). On `DataLoader` workers
 * every transform is rebuilt from its constructor arguments without its
 * generator, and each sample is drawn from the worker's global generator
 * re-seeded for that sample, so augmentation is reproducible for a given
 * loader seed whatever the number of workers.
 *
 * @example
 * ```ts
 * import { transforms } from "./mod.ts";
 * const t = new transforms.Compose([
 *   new transforms.Resize(256),
 *   new transforms.CenterCrop(224),
 *   new transforms.ToTensor(),
 *   new transforms.Normalize({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
 * ]);
 * ```
 *
 * @module
 */

import { defaultGenerator, type Generator, type Tensor, tensor } from "@dendrite/tensor";
import { NotSendableError, specOf, type WorkerSendable, type WorkerSpec } from "./spec.ts";

/**
 * An image in HWC layout: `data[(y * width + x) * channels + c]`, values on the
 * 0..255 scale (`Uint8Array` as decoded; `Float32Array` when kept unrounded).
 */
export interface Image {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Channels per pixel (3 for RGB). */
  channels: number;
  /** HWC pixel values on the 0..255 scale. */
  data: Uint8Array | Float32Array;
}

/** Anything that maps an input to an output: a transform object or a plain function. */
export type TransformLike<I = unknown, O = unknown> = { forward(input: I): O } | ((input: I) => O);

/** Applies a {@link TransformLike}. */
export function applyTransform<I, O>(t: TransformLike<I, O>, input: I): O {
  return typeof t === "function" ? t(input) : t.forward(input);
}

/** A size: one number (meaning depends on the transform) or `[height, width]`. */
export type Size = number | readonly [number, number];

/** The base class of every transform: `forward(input)` and a spec for workers. */
export abstract class Transform<I = unknown, O = unknown> implements WorkerSendable {
  /** Applies the transform. */
  abstract forward(input: I): O;
  /** How to rebuild this transform on a worker. */
  abstract toWorkerSpec(): WorkerSpec;
}

function spec(name: string, ...args: unknown[]): WorkerSpec {
  return { $module: import.meta.url, $export: name, $args: args };
}

function checkImage(op: string, img: Image): void {
  if (
    typeof img !== "object" || img === null || !(img.data instanceof Uint8Array || img.data instanceof Float32Array)
  ) {
    throw new TypeError(`${op}: expected an Image {width, height, channels, data}, got ${describe(img)}`);
  }
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new RangeError(
      `${op}: image data has ${img.data.length} values, expected ${img.width}x${img.height}x${img.channels}`,
    );
  }
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return (x as object).constructor?.name ?? "object";
}

function sizeHW(op: string, size: Size): [number, number] {
  const [h, w] = typeof size === "number" ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new RangeError(`${op}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  }
  return [h, w];
}

/** Python's `round` (half to even), which torchvision's crop arithmetic uses. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---- resampling ------------------------------------------------------------------------------

/** Per output index along one axis: `k` source indices and weights. */
interface Taps {
  k: number;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Bilinear taps from `inSize` to `outSize`. Without antialias this is
 * PyTorch's `upsample_bilinear2d(align_corners=False)`: source coordinate
 * `max((i + 0.5) * in/out - 0.5, 0)`, two neighbours. With antialias it is
 * PIL's / PyTorch's `_upsample_bilinear2d_aa` triangle filter, widened by the
 * scale when shrinking.
 */
function bilinearTaps(inSize: number, outSize: number, antialias: boolean): Taps {
  const scale = inSize / outSize;
  if (!antialias) {
    const index = new Int32Array(outSize * 2);
    const weight = new Float64Array(outSize * 2);
    for (let i = 0; i < outSize; i++) {
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      const i0 = Math.min(Math.floor(src), inSize - 1);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const l1 = src - i0;
      index[2 * i] = i0;
      index[2 * i + 1] = i1;
      weight[2 * i] = 1 - l1;
      weight[2 * i + 1] = l1;
    }
    return { k: 2, index, weight };
  }
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const k = Math.ceil(support) * 2 + 1;
  const index = new Int32Array(outSize * k);
  const weight = new Float64Array(outSize * k);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < k; j++) {
      const x = Math.abs((j + xmin - center + 0.5) * invscale);
      const w = j < xsize && x < 1 ? 1 - x : 0;
      index[i * k + j] = Math.min(xmin + j, inSize - 1);
      weight[i * k + j] = w;
      total += w;
    }
    for (let j = 0; j < k; j++) weight[i * k + j] = total > 0 ? weight[i * k + j] / total : 0;
  }
  return { k, index, weight };
}

/**
 * Resizes `img` to exactly `height`×`width` with bilinear interpolation
 * (separable: rows, then columns, in float64). A `Uint8Array` image comes
 * back rounded to `Uint8Array`, as torchvision does for uint8 tensors; a
 * `Float32Array` image stays unrounded.
 */
export function resizeImage(img: Image, height: number, width: number, antialias = false): Image {
  checkImage("resize", img);
  const { width: iw, height: ih, channels: ch, data } = img;
  if (iw === width && ih === height) return { width, height, channels: ch, data: data.slice() };
  const tx = bilinearTaps(iw, width, antialias);
  const ty = bilinearTaps(ih, height, antialias);
  // Horizontal pass: ih rows × width.
  const tmp = new Float64Array(ih * width * ch);
  for (let y = 0; y < ih; y++) {
    const row = y * iw * ch;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * ch;
      for (let j = 0; j < tx.k; j++) {
        const w = tx.weight[x * tx.k + j];
        if (w === 0) continue;
        const s = row + tx.index[x * tx.k + j] * ch;
        for (let c = 0; c < ch; c++) tmp[o + c] += w * data[s + c];
      }
    }
  }
  const isByte = data instanceof Uint8Array;
  const out = isByte ? new Uint8Array(height * width * ch) : new Float32Array(height * width * ch);
  const acc = new Float64Array(width * ch);
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let j = 0; j < ty.k; j++) {
      const w = ty.weight[y * ty.k + j];
      if (w === 0) continue;
      const s = ty.index[y * ty.k + j] * width * ch;
      for (let i = 0; i < acc.length; i++) acc[i] += w * tmp[s + i];
    }
    const o = y * width * ch;
    if (isByte) {
      for (let i = 0; i < acc.length; i++) out[o + i] = Math.min(255, Math.max(0, Math.round(acc[i])));
    } else {
      for (let i = 0; i < acc.length; i++) out[o + i] = acc[i];
    }
  }
  return { width, height, channels: ch, data: out };
}

/**
 * The `h`×`w` window of `img` whose top-left corner is (`top`, `left`); parts
 * outside the image are filled with `fill` (torchvision pads the same way).
 */
export function cropImage(img: Image, top: number, left: number, h: number, w: number, fill = 0): Image {
  checkImage("crop", img);
  const { width: iw, height: ih, channels: ch, data } = img;
  const out = data instanceof Uint8Array ? new Uint8Array(h * w * ch) : new Float32Array(h * w * ch);
  if (fill !== 0) out.fill(fill);
  for (let y = 0; y < h; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= ih) continue;
    const x0 = Math.max(0, -left), x1 = Math.min(w, iw - left);
    if (x1 <= x0) continue;
    out.set(data.subarray((sy * iw + left + x0) * ch, (sy * iw + left + x1) * ch), (y * w + x0) * ch);
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** How {@link padImage} fills the border (torchvision's `padding_mode`). */
export type PaddingMode = "constant" | "edge" | "reflect" | "symmetric";

function padIndex(i: number, n: number, mode: PaddingMode): number {
  if (i >= 0 && i < n) return i;
  if (mode === "edge") return i < 0 ? 0 : n - 1;
  if (mode === "reflect") {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    let m = ((i % period) + period) % period;
    if (m >= n) m = period - m;
    return m;
  }
  // symmetric: the edge pixel repeats.
  const period = 2 * n;
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - 1 - m;
  return m;
}

/** Pads `img` by `[left, top, right, bottom]` pixels. */
export function padImage(
  img: Image,
  padding: readonly [number, number, number, number],
  mode: PaddingMode = "constant",
  fill = 0,
): Image {
  checkImage("pad", img);
  const [l, t, r, b] = padding;
  if (mode === "constant") return cropImage(img, -t, -l, img.height + t + b, img.width + l + r, fill);
  const { width: iw, height: ih, channels: ch, data } = img;
  if (mode === "reflect" && (l >= iw || r >= iw || t >= ih || b >= ih)) {
    throw new RangeError(`pad: reflect padding must be smaller than the image (${iw}x${ih}), got [${padding}]`);
  }
  const w = iw + l + r, h = ih + t + b;
  const out = data instanceof Uint8Array ? new Uint8Array(h * w * ch) : new Float32Array(h * w * ch);
  for (let y = 0; y < h; y++) {
    const sy = padIndex(y - t, ih, mode);
    for (let x = 0; x < w; x++) {
      const s = (sy * iw + padIndex(x - l, iw, mode)) * ch;
      for (let c = 0; c < ch; c++) out[(y * w + x) * ch + c] = data[s + c];
    }
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** `img` mirrored left to right. */
export function hflipImage(img: Image): Image {
  checkImage("hflip", img);
  const { width: w, height: h, channels: ch, data } = img;
  const out = data instanceof Uint8Array ? new Uint8Array(data.length) : new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * ch, d = (y * w + (w - 1 - x)) * ch;
      for (let c = 0; c < ch; c++) out[d + c] = data[s + c];
    }
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** `img` mirrored top to bottom. */
export function vflipImage(img: Image): Image {
  checkImage("vflip", img);
  const { width: w, height: h, channels: ch, data } = img;
  const out = data instanceof Uint8Array ? new Uint8Array(data.length) : new Float32Array(data.length);
  const row = w * ch;
  for (let y = 0; y < h; y++) out.set(data.subarray(y * row, (y + 1) * row), (h - 1 - y) * row);
  return { width: w, height: h, channels: ch, data: out };
}

// ---- transforms ------------------------------------------------------------------------------

/**
 * Applies transforms in order (like `torchvision.transforms.Compose`). Entries
 * may be transform objects or plain functions (a plain function keeps the
 * pipeline off `DataLoader` workers; use `Lambda` only where needed).
 * The output type defaults to `Tensor`, the usual end of a pipeline.
 */
export class Compose<O = Tensor> extends Transform<unknown, O> {
  /** The transforms, in order. */
  readonly transforms: readonly TransformLike[];

  /** Composes `transforms`. */
  constructor(transforms: readonly TransformLike[]) {
    super();
    if (!Array.isArray(transforms)) throw new TypeError("Compose: expected an array of transforms");
    this.transforms = transforms.slice();
  }

  /** Runs every transform in turn. */
  forward(input: unknown): O {
    let x = input;
    for (const t of this.transforms) x = applyTransform(t, x);
    return x as O;
  }

  /** A spec rebuilding every step (fails if one cannot be sent). */
  toWorkerSpec(): WorkerSpec {
    return spec("Compose", this.transforms.map((t, i) => specOf(t, `Compose step ${i}`)));
  }
}

/** Options of {@link Resize}. */
export interface ResizeOptions {
  /** With a single-number size, the longer side is capped at this (torchvision's `max_size`). */
  maxSize?: number;
  /**
   * Antialias when shrinking (PIL-style triangle filter). Default false: plain
   * bilinear like `F.interpolate(mode="bilinear", align_corners=False)`, i.e.
   * torchvision on tensors with `antialias=False`.
   */
  antialias?: boolean;
}

/**
 * Resizes with bilinear interpolation (like `torchvision.transforms.Resize`).
 * A number resizes the *shorter* side to it, keeping the aspect ratio (the
 * longer side becomes `floor(size * long / short)`); `[h, w]` resizes exactly.
 */
export class Resize extends Transform<Image, Image> {
  /** The requested size. */
  readonly size: Size;
  /** The options. */
  readonly options: ResizeOptions;

  /** A resize to `size`. */
  constructor(size: Size, options: ResizeOptions = {}) {
    super();
    sizeHW("Resize", size);
    this.size = size;
    this.options = { ...options };
  }

  /** The output `[height, width]` for an input of `h`×`w`. */
  outputSize(h: number, w: number): [number, number] {
    if (typeof this.size !== "number") return [this.size[0], this.size[1]];
    const short = Math.min(h, w), long = Math.max(h, w);
    let newShort = this.size, newLong = Math.floor((this.size * long) / short);
    const { maxSize } = this.options;
    if (maxSize !== undefined) {
      if (maxSize <= this.size) {
        throw new RangeError(`Resize: maxSize (${maxSize}) must be greater than size (${this.size})`);
      }
      if (newLong > maxSize) {
        newShort = Math.floor((maxSize * newShort) / newLong);
        newLong = maxSize;
      }
    }
    return w <= h ? [newLong, newShort] : [newShort, newLong];
  }

  /** The resized image. */
  forward(img: Image): Image {
    checkImage("Resize", img);
    const [h, w] = this.outputSize(img.height, img.width);
    if (h === img.height && w === img.width) return img;
    return resizeImage(img, h, w, this.options.antialias ?? false);
  }

  /** A spec for workers. */
  toWorkerSpec(): WorkerSpec {
    return spec("Resize", this.size, this.options);
  }
}

/**
 * Crops the centre (like `torchvision.transforms.CenterCrop`): top =
 * `round((H - h) / 2)`, left = `round((W - w) / 2)` with Python's rounding;
 * an image smaller than the crop is padded with zeros first.
 */
export class CenterCrop extends Transform<Image, Image> {
  /** The crop size. */
  readonly size: Size;

  /** A centre crop of `size` (a number means a square). */
  constructor(size: Size) {
    super();
    sizeHW("CenterCrop", size);
    this.size = size;
  }

  /** The cropped image. */
  forward(img: Image): Image {
    checkImage("CenterCrop", img);
    const [ch, cw] = sizeHW("CenterCrop", this.size);
    let { width: w, height: h } = img;
    let padTop = 0, padLeft = 0;
    if (cw > w || ch > h) {
      // torchvision pads [(cw - w) // 2, (ch - h) // 2, (cw - w + 1) // 2, (ch - h + 1) // 2].
      padLeft = cw > w ? Math.floor((cw - w) / 2) : 0;
      padTop = ch > h ? Math.floor((ch - h) / 2) : 0;
      const padRight = cw > w ? Math.floor((cw - w + 1) / 2) : 0;
      const padBottom = ch > h ? Math.floor((ch - h + 1) / 2) : 0;
      w += padLeft + padRight;
      h += padTop + padBottom;
    }
    const top = roundHalfEven((h - ch) / 2), left = roundHalfEven((w - cw) / 2);
    return cropImage(img, top - padTop, left - padLeft, ch, cw);
  }

  /** A spec for workers. */
  toWorkerSpec(): WorkerSpec {
    return spec("CenterCrop", this.size);
  }
}

/** Options of {@link RandomResizedCrop}. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio w/h (default [3/4, 4/3]), sampled log-uniformly. */
  ratio?: readonly [number, number];
  /** Antialias the final resize (default false, see {@link ResizeOptions}). */
  antialias?: boolean;
  /** Where the randomness comes from (default: the global generator). */
  generator?: Generator;
}

/**
 * A random crop of random area and aspect ratio, resized to `size` (like
 * `torchvision.transforms.RandomResizedCrop`, same sampling: ten tries, then
 * a centre crop clamped to the ratio range).
 */
export class RandomResizedCrop extends Transform<Image, Image> {
  /** The output size. */
  readonly size: Size;
  /** The options (without the generator). */
  readonly options: Omit<RandomResizedCropOptions, "generator">;
  #generator?: Generator;

  /** A random resized crop to `size`. */
  constructor(size: Size, options: RandomResizedCropOptions = {}) {
    super();
    sizeHW("RandomResizedCrop", size);
    const { generator, ...rest } = options;
    const [s0, s1] = rest.scale ?? [0.08, 1];
    const [r0, r1] = rest.ratio ?? [3 / 4, 4 / 3];
    if (!(s0 <= s1) || !(r0 <= r1) || s0 < 0 || r0 <= 0) {
      throw new RangeError(`RandomResizedCrop: scale and ratio must be [min, max] ranges, got ${JSON.stringify(rest)}`);
    }
    this.size = size;
    this.options = rest;
    this.#generator = generator;
  }

  /** The crop `[top, left, height, width]` for an `h`×`w` image, drawn like torchvision's `get_params`. */
  getParams(h: number, w: number): [number, number, number, number] {
    const g = this.#generator ?? defaultGenerator;
    const [s0, s1] = this.options.scale ?? [0.08, 1];
    const [r0, r1] = this.options.ratio ?? [3 / 4, 4 / 3];
    const area = h * w;
    const l0 = Math.log(r0), l1 = Math.log(r1);
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * (s0 + (s1 - s0) * g.random());
      const aspect = Math.exp(l0 + (l1 - l0) * g.random());
      const cw = roundHalfEven(Math.sqrt(target * aspect));
      const ch = roundHalfEven(Math.sqrt(target / aspect));
      if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
        const top = g.randint(0, h - ch + 1);
        const left = g.randint(0, w - cw + 1);
        return [top, left, ch, cw];
      }
    }
    const inRatio = w / h;
    let cw: number, ch: number;
    if (inRatio < r0) {
      cw = w;
      ch = roundHalfEven(cw / r0);
    } else if (inRatio > r1) {
      ch = h;
      cw = roundHalfEven(ch * r1);
    } else {
      cw = w;
      ch = h;
    }
    return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
  }

  /** The cropped and resized image. */
  forward(img: Image): Image {
    checkImage("RandomResizedCrop", img);
    const [top, left, ch, cw] = this.getParams(img.height, img.width);
    const [oh, ow] = sizeHW("RandomResizedCrop", this.size);
    return resizeImage(cropImage(img, top, left, ch, cw), oh, ow, this.options.antialias ?? false);
  }

  /** A spec for workers (the generator stays behind; see the module docs). */
  toWorkerSpec(): WorkerSpec {
    return spec("RandomResizedCrop", this.size, this.options);
  }
}

/** Options of {@link RandomCrop}. */
export interface RandomCropOptions {
  /** Padding first: one number for all sides, `[lr, tb]`, or `[left, top, right, bottom]`. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Pad an image smaller than the crop up to the crop size (default false: an error). */
  padIfNeeded?: boolean;
  /** The constant fill value on the 0..255 scale (default 0). */
  fill?: number;
  /** How to pad (default "constant"). */
  paddingMode?: PaddingMode;
  /** Where the randomness comes from (default: the global generator). */
  generator?: Generator;
}

/** A crop at a random position, after optional padding (like `torchvision.transforms.RandomCrop`). */
export class RandomCrop extends Transform<Image, Image> {
  /** The crop size. */
  readonly size: Size;
  /** The options (without the generator). */
  readonly options: Omit<RandomCropOptions, "generator">;
  #generator?: Generator;

  /** A random crop of `size`. */
  constructor(size: Size, options: RandomCropOptions = {}) {
    super();
    sizeHW("RandomCrop", size);
    const { generator, ...rest } = options;
    this.size = size;
    this.options = rest;
    this.#generator = generator;
  }

  /** The cropped image. */
  forward(input: Image): Image {
    checkImage("RandomCrop", input);
    const g = this.#generator ?? defaultGenerator;
    const [th, tw] = sizeHW("RandomCrop", this.size);
    const { padding, padIfNeeded = false, fill = 0, paddingMode = "constant" } = this.options;
    let img = input;
    if (padding !== undefined) {
      const p = typeof padding === "number"
        ? [padding, padding, padding, padding] as const
        : padding.length === 2
        ? [padding[0], padding[1], padding[0], padding[1]] as const
        : padding as readonly [number, number, number, number];
      img = padImage(img, p, paddingMode, fill);
    }
    if (padIfNeeded && img.width < tw) img = padImage(img, [tw - img.width, 0, tw - img.width, 0], paddingMode, fill);
    if (padIfNeeded && img.height < th) {
      img = padImage(img, [0, th - img.height, 0, th - img.height], paddingMode, fill);
    }
    if (img.height < th || img.width < tw) {
      throw new RangeError(
        `RandomCrop: crop size ${th}x${tw} is larger than the (padded) image ${img.height}x${img.width}`,
      );
    }
    if (img.height === th && img.width === tw) return img === input ? cropImage(img, 0, 0, th, tw) : img;
    const top = g.randint(0, img.height - th + 1);
    const left = g.randint(0, img.width - tw + 1);
    return cropImage(img, top, left, th, tw);
  }

  /** A spec for workers (the generator stays behind). */
  toWorkerSpec(): WorkerSpec {
    return spec("RandomCrop", this.size, this.options);
  }
}

/** Options of the random flips. */
export interface FlipOptions {
  /** Where the randomness comes from (default: the global generator). */
  generator?: Generator;
}

/** Mirrors left to right with probability `p` (like `torchvision.transforms.RandomHorizontalFlip`). */
export class RandomHorizontalFlip extends Transform<Image, Image> {
  /** The flip probability. */
  readonly p: number;
  #generator?: Generator;

  /** Flips with probability `p` (default 0.5). */
  constructor(p = 0.5, options: FlipOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`RandomHorizontalFlip: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.#generator = options.generator;
  }

  /** The image, flipped or not (one draw per call). */
  forward(img: Image): Image {
    checkImage("RandomHorizontalFlip", img);
    return (this.#generator ?? defaultGenerator).random() < this.p ? hflipImage(img) : img;
  }

  /** A spec for workers (the generator stays behind). */
  toWorkerSpec(): WorkerSpec {
    return spec("RandomHorizontalFlip", this.p);
  }
}

/** Mirrors top to bottom with probability `p` (like `torchvision.transforms.RandomVerticalFlip`). */
export class RandomVerticalFlip extends Transform<Image, Image> {
  /** The flip probability. */
  readonly p: number;
  #generator?: Generator;

  /** Flips with probability `p` (default 0.5). */
  constructor(p = 0.5, options: FlipOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`RandomVerticalFlip: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.#generator = options.generator;
  }

  /** The image, flipped or not (one draw per call). */
  forward(img: Image): Image {
    checkImage("RandomVerticalFlip", img);
    return (this.#generator ?? defaultGenerator).random() < this.p ? vflipImage(img) : img;
  }

  /** A spec for workers (the generator stays behind). */
  toWorkerSpec(): WorkerSpec {
    return spec("RandomVerticalFlip", this.p);
  }
}

/** The CHW float32 values in [0, 1] of an image (HWC, 0..255). */
export function imageToCHW(img: Image): Float32Array {
  checkImage("ToTensor", img);
  const { width: w, height: h, channels: ch, data } = img;
  const plane = w * h;
  const out = new Float32Array(ch * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < ch; c++) out[c * plane + p] = data[p * ch + c] / 255;
  }
  return out;
}

/** Image (HWC, 0..255) → float32 tensor `[C, H, W]` in [0, 1] (like `torchvision.transforms.ToTensor`). */
export class ToTensor extends Transform<Image, Tensor> {
  /** The tensor. */
  forward(img: Image): Tensor {
    return tensor(imageToCHW(img), { shape: [img.channels, img.height, img.width] });
  }

  /** A spec for workers. */
  toWorkerSpec(): WorkerSpec {
    return spec("ToTensor");
  }
}

/** Options of {@link Normalize}. */
export interface NormalizeOptions {
  /** Per-channel means. */
  mean: readonly number[];
  /** Per-channel standard deviations (non-zero). */
  std: readonly number[];
}

/**
 * `(x - mean[c]) / std[c]` per channel on a `[..., C, H, W]` float tensor (like
 * `torchvision.transforms.Normalize`). A single mean/std applies to every channel.
 */
export class Normalize extends Transform<Tensor, Tensor> {
  /** Per-channel means. */
  readonly mean: readonly number[];
  /** Per-channel standard deviations. */
  readonly std: readonly number[];

  /** A normalisation with `mean` and `std`. */
  constructor(options: NormalizeOptions) {
    super();
    const { mean, std } = options;
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0 || mean.length !== std.length) {
      throw new RangeError(`Normalize: mean and std must be arrays of equal length, got ${JSON.stringify(options)}`);
    }
    if (std.some((s) => s === 0)) throw new RangeError(`Normalize: std has a zero: [${std}]`);
    this.mean = mean.slice();
    this.std = std.slice();
  }

  /** The normalised tensor (a new tensor). */
  forward(x: Tensor): Tensor {
    if (typeof x !== "object" || x === null || typeof (x as Tensor).sub !== "function") {
      throw new TypeError(`Normalize: expected a tensor (apply ToTensor first), got ${describe(x)}`);
    }
    if (x.ndim < 3) throw new RangeError(`Normalize: expected a [..., C, H, W] tensor, got shape [${x.shape}]`);
    if (x.dtype !== "float32" && x.dtype !== "float64") {
      throw new TypeError(`Normalize: expected a floating tensor, got ${x.dtype}`);
    }
    const c = x.shape[x.ndim - 3];
    if (this.mean.length !== 1 && this.mean.length !== c) {
      throw new RangeError(
        `Normalize: mean/std have ${this.mean.length} channels but the tensor of shape [${x.shape}] has ${c}`,
      );
    }
    const opts = { dtype: x.dtype, device: x.device, shape: [this.mean.length, 1, 1] };
    return x.sub(tensor(this.mean, opts)).div(tensor(this.std, opts));
  }

  /** A spec for workers. */
  toWorkerSpec(): WorkerSpec {
    return spec("Normalize", { mean: this.mean, std: this.std });
  }
}

/**
 * A user function as a transform (like `torchvision.transforms.Lambda`). It
 * cannot travel to `DataLoader` workers: a pipeline containing one loads on
 * the main thread.
 */
export class Lambda<I = unknown, O = unknown> extends Transform<I, O> {
  /** The function. */
  readonly fn: (input: I) => O;

  /** Wraps `fn`. */
  constructor(fn: (input: I) => O) {
    super();
    if (typeof fn !== "function") throw new TypeError(`Lambda: expected a function, got ${describe(fn)}`);
    this.fn = fn;
  }

  /** `fn(input)`. */
  forward(input: I): O {
    return this.fn(input);
  }

  /** Always throws: closures cannot be sent to workers. */
  toWorkerSpec(): WorkerSpec {
    throw new NotSendableError("Lambda transforms hold a closure, which cannot be rebuilt in a worker");
  }
}
