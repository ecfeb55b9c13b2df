/**
 * Attention heat-maps as PNG for the seq2seq example: one panel per input,
 * input characters along the top, output characters down the left, each
 * cell shaded by its attention weight (white 0 → dark blue 1). Characters are
 * drawn from a built-in 5×7 bitmap font, so no font file is needed.
 *
 * @module
 */

import { Image } from "imagescript";

/** 5×7 glyphs, rows top to bottom, `#` set. Lower-case letters use the capitals. */
const GLYPHS: Record<string, string> = {
  A: ".###. #...# #...# ##### #...# #...# #...#",
  B: "####. #...# #...# ####. #...# #...# ####.",
  C: ".###. #...# #.... #.... #.... #...# .###.",
  D: "####. #...# #...# #...# #...# #...# ####.",
  E: "##### #.... #.... ####. #.... #.... #####",
  F: "##### #.... #.... ####. #.... #.... #....",
  G: ".###. #...# #.... #.### #...# #...# .####",
  H: "#...# #...# #...# ##### #...# #...# #...#",
  I: ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  J: "..### ...#. ...#. ...#. ...#. #..#. .##..",
  K: "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  L: "#.... #.... #.... #.... #.... #.... #####",
  M: "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  N: "#...# #...# ##..# #.#.# #..## #...# #...#",
  O: ".###. #...# #...# #...# #...# #...# .###.",
  P: "####. #...# #...# ####. #.... #.... #....",
  Q: ".###. #...# #...# #...# #.#.# #..#. .##.#",
  R: "####. #...# #...# ####. #.#.. #..#. #...#",
  S: ".#### #.... #.... .###. ....# ....# ####.",
  T: "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  U: "#...# #...# #...# #...# #...# #...# .###.",
  V: "#...# #...# #...# #...# #...# .#.#. ..#..",
  W: "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  X: "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  Y: "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  Z: "##### ....# ...#. ..#.. .#... #.... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ",": "..... ..... ..... ..... .##.. ..#.. .#...",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  "/": "....# ...#. ...#. ..#.. .#... .#... #....",
  "-": "..... ..... ..... ##### ..... ..... .....",
  "'": ".##.. ..#.. .#... ..... ..... ..... .....",
  // End of sequence: a small filled box.
  "\u0003": "..... .###. .###. .###. .###. .###. .....",
};

/** Scale of each font pixel, cell size in pixels, and the margin around labels. */
const SCALE = 2, CELL = 16, PAD = 6;

function drawChar(img: Image, ch: string, x0: number, y0: number, rgba: number): void {
  const g = GLYPHS[ch.toUpperCase()] ?? GLYPHS["\u0003"];
  const rows = g.split(" ");
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 5; c++) {
      if (rows[r][c] !== "#") continue;
      for (let dy = 0; dy < SCALE; dy++) {
        for (let dx = 0; dx < SCALE; dx++) setPixel(img, x0 + c * SCALE + dx, y0 + r * SCALE + dy, rgba);
      }
    }
  }
}

function setPixel(img: Image, x: number, y: number, rgba: number): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = 4 * (y * img.width + x);
  img.bitmap[i] = (rgba >>> 24) & 255;
  img.bitmap[i + 1] = (rgba >>> 16) & 255;
  img.bitmap[i + 2] = (rgba >>> 8) & 255;
  img.bitmap[i + 3] = rgba & 255;
}

/** White at 0, dark blue at 1. */
function shade(w: number): number {
  const t = Math.min(1, Math.max(0, w));
  const r = Math.round(255 - t * (255 - 8)),
    g = Math.round(255 - t * (255 - 48)),
    b = Math.round(255 - t * (255 - 107));
  return ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}

/** One input/output pair's attention: `weights[i][j]` is output step i's weight on input position j. */
export interface AttentionPanel {
  /** The input characters (columns). */
  input: string;
  /** The output tokens (rows), one character each; `"\u0003"` draws the end-of-sequence mark. */
  output: string[];
  /** `[output.length][input.length]` weights in [0, 1]. */
  weights: number[][];
}

/**
 * Renders the panels one under another as a PNG.
 *
 * @example
 * ```ts
 * import { attentionHeatmapPng } from "./attention_heatmap.ts";
 * const png = await attentionHeatmapPng([{ input: "ab", output: ["1", "2"], weights: [[1, 0], [0.2, 0.8]] }]);
 * console.log(png.length > 0);
 * ```
 */
export async function attentionHeatmapPng(panels: readonly AttentionPanel[]): Promise<Uint8Array> {
  const label = 7 * SCALE + PAD;
  const width = label + Math.max(...panels.map((p) => p.input.length)) * CELL + PAD;
  const heights = panels.map((p) => label + p.output.length * CELL + PAD);
  const img = new Image(width, heights.reduce((a, b) => a + b, 0));
  img.bitmap.fill(255);
  let top = 0;
  panels.forEach((p, k) => {
    const ink = 0x202020ff;
    [...p.input].forEach((ch, j) => drawChar(img, ch, label + j * CELL + (CELL - 5 * SCALE) / 2, top + PAD / 2, ink));
    p.output.forEach((ch, i) => {
      drawChar(img, ch, PAD / 2, top + label + i * CELL + (CELL - 7 * SCALE) / 2, ink);
      p.weights[i].forEach((w, j) => {
        const c = shade(w);
        for (let y = 0; y < CELL - 1; y++) {
          for (let x = 0; x < CELL - 1; x++) setPixel(img, label + j * CELL + x, top + label + i * CELL + y, c);
        }
      });
    });
    top += heights[k];
  });
  return await img.encode();
}
