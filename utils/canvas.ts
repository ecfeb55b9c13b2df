/**
 * A small RGBA raster that the plots draw on: pixels, lines, rectangles,
 * discs and text in the built-in bitmap font, written out as PNG through
 * imagescript. Coordinates are 0-based pixels, y growing downward.
 *
 * @module
 */

import { Image } from "imagescript";
import { GLYPH_HEIGHT, rasterize, textWidth } from "./font.ts";

/** A colour: `"#rrggbb"`, `"#rrggbbaa"`, or `[r, g, b]` / `[r, g, b, a]` with 0–255 channels. */
export type Color = string | readonly number[];

/** Parses a {@link Color} into four 0–255 channels. */
export function rgba(color: Color): [number, number, number, number] {
  if (typeof color === "string") {
    const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color);
    if (!m) throw new RangeError(`color: expected "#rrggbb" or "#rrggbbaa", got "${color}"`);
    const v = parseInt(m[1], 16);
    return [v >> 16, (v >> 8) & 255, v & 255, m[2] ? parseInt(m[2], 16) : 255];
  }
  if ((color.length !== 3 && color.length !== 4) || color.some((c) => !(c >= 0 && c <= 255))) {
    throw new RangeError(`color: expected [r, g, b] or [r, g, b, a] in 0..255, got [${color.join(", ")}]`);
  }
  return [color[0], color[1], color[2], color.length === 4 ? color[3] : 255];
}

/** How {@link Canvas.text} places text around its anchor point. */
export interface TextOptions {
  /** Integer pixel size of one font pixel (default 1). */
  scale?: number;
  /** Anchor is the text's left edge, centre or right edge (default "left"). */
  align?: "left" | "center" | "right";
  /** Anchor is the text's top, middle or bottom (default "top"). */
  baseline?: "top" | "middle" | "bottom";
  /** Read bottom to top (a y-axis label); align and baseline then refer to the turned text. */
  vertical?: boolean;
}

/**
 * An RGBA picture to draw on.
 *
 * @example
 * ```ts
 * import { Canvas } from "./canvas.ts";
 * const c = new Canvas(120, 40);
 * c.line(5, 35, 115, 5, "#1f77b4", 2);
 * c.text(60, 20, "loss", "#000000", { align: "center", baseline: "middle" });
 * const png = await c.encodePng();
 * console.log(png.length > 0); // true
 * ```
 */
export class Canvas {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Row-major RGBA bytes. */
  readonly data: Uint8ClampedArray;
  #clip: { x0: number; y0: number; x1: number; y1: number } | null = null;

  /** A `width` × `height` canvas filled with `background` (default white). */
  constructor(width: number, height: number, background: Color = "#ffffff") {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`Canvas: width and height must be positive integers, got ${width} × ${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8ClampedArray(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** The colour at (x, y) as `[r, g, b, a]`. */
  pixel(x: number, y: number): [number, number, number, number] {
    const i = 4 * (y * this.width + x);
    return [this.data[i], this.data[i + 1], this.data[i + 2], this.data[i + 3]];
  }

  /** Paints one pixel (blending by the colour's alpha); outside the canvas does nothing. */
  setPixel(x: number, y: number, color: Color): void {
    this.#put(Math.round(x), Math.round(y), rgba(color));
  }

  /**
   * Limits drawing to the rectangle with top-left (x, y) until cleared with
   * `setClip(null)` (a plot's series stay inside its axes).
   */
  setClip(rect: { x: number; y: number; width: number; height: number } | null): void {
    this.#clip = rect && { x0: rect.x, y0: rect.y, x1: rect.x + rect.width, y1: rect.y + rect.height };
  }

  #put(x: number, y: number, c: readonly number[]): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const k = this.#clip;
    if (k && (x < k.x0 || y < k.y0 || x >= k.x1 || y >= k.y1)) return;
    const i = 4 * (y * this.width + x), a = c[3] / 255;
    if (a >= 1) {
      this.data[i] = c[0];
      this.data[i + 1] = c[1];
      this.data[i + 2] = c[2];
      this.data[i + 3] = 255;
      return;
    }
    for (let k = 0; k < 3; k++) this.data[i + k] = this.data[i + k] * (1 - a) + c[k] * a;
    this.data[i + 3] = Math.max(this.data[i + 3], c[3]);
  }

  /** Fills the rectangle with top-left (x, y), clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const c = rgba(color);
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)), y1 = Math.min(this.height, Math.round(y + h));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.#put(px, py, c);
  }

  /** Outlines the rectangle with top-left (x, y) one pixel wide. */
  strokeRect(x: number, y: number, w: number, h: number, color: Color): void {
    this.fillRect(x, y, w, 1, color);
    this.fillRect(x, y + h - 1, w, 1, color);
    this.fillRect(x, y, 1, h, color);
    this.fillRect(x + w - 1, y, 1, h, color);
  }

  /**
   * A straight line from (x0, y0) to (x1, y1), `width` pixels thick
   * (Bresenham's walk with a square pen); `dash` = [on, off] lengths in pixels.
   */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Color,
    width = 1,
    dash?: readonly [number, number],
  ): void {
    const c = rgba(color);
    let x = Math.round(x0), y = Math.round(y0);
    const xe = Math.round(x1), ye = Math.round(y1);
    const dx = Math.abs(xe - x), dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1, sy = y < ye ? 1 : -1;
    const lo = -Math.floor((width - 1) / 2), hi = lo + width;
    let err = dx + dy, step = 0;
    for (;;) {
      if (!dash || step % (dash[0] + dash[1]) < dash[0]) {
        for (let oy = lo; oy < hi; oy++) for (let ox = lo; ox < hi; ox++) this.#put(x + ox, y + oy, c);
      }
      if (x === xe && y === ye) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
      step++;
    }
  }

  /** A filled disc of radius `r` centred at (cx, cy). */
  disc(cx: number, cy: number, r: number, color: Color): void {
    const c = rgba(color);
    const x0 = Math.round(cx), y0 = Math.round(cy), R = Math.ceil(r);
    for (let dy = -R; dy <= R; dy++) {
      for (let dx = -R; dx <= R; dx++) if (dx * dx + dy * dy <= r * r + 0.25) this.#put(x0 + dx, y0 + dy, c);
    }
  }

  /** Draws `text` in the built-in 5×7 font, anchored at (x, y) as `options` say. */
  text(x: number, y: number, text: string, color: Color, options: TextOptions = {}): void {
    const scale = options.scale ?? 1;
    const w = textWidth(text, scale), h = GLYPH_HEIGHT * scale;
    const along = options.align === "center" ? -w / 2 : options.align === "right" ? -w : 0;
    const across = options.baseline === "middle" ? -h / 2 : options.baseline === "bottom" ? -h : 0;
    const c = rgba(color);
    const put = (px: number, py: number) => this.#put(px, py, c);
    if (options.vertical) rasterize(text, Math.round(x + across), Math.round(y - along), put, scale, true);
    else rasterize(text, Math.round(x + along), Math.round(y + across), put, scale);
  }

  /** Copies `src` onto this canvas with its top-left corner at (x, y) (alpha-blended). */
  drawCanvas(src: Canvas, x: number, y: number): void {
    for (let sy = 0; sy < src.height; sy++) {
      for (let sx = 0; sx < src.width; sx++) {
        const i = 4 * (sy * src.width + sx);
        this.#put(x + sx, y + sy, [src.data[i], src.data[i + 1], src.data[i + 2], src.data[i + 3]]);
      }
    }
  }

  /** The picture as an imagescript `Image`. */
  toImage(): Image {
    const img = new Image(this.width, this.height);
    img.bitmap.set(this.data);
    return img;
  }

  /** The picture as PNG bytes. */
  async encodePng(): Promise<Uint8Array> {
    return await this.toImage().encode();
  }

  /** Writes the picture as a PNG file. */
  async savePng(path: string): Promise<void> {
    await Deno.writeFile(path, await this.encodePng());
  }
}
