/**
 * Handwriting-like capital letters as 28×28 images, white strokes on black
 * like MNIST: out-of-distribution inputs for a digit classifier. Each letter
 * is a few straight strokes drawn with a random size, slant, rotation,
 * position and stroke width, anti-aliased; no font file is needed.
 *
 * @module
 */

import { Generator, type Tensor, tensor } from "../../mod.ts";

type Stroke = [number, number, number, number];

/** Letters as strokes in a unit box (x right, y down): none of them a digit's shape. */
const LETTERS: Record<string, Stroke[]> = {
  A: [[0, 1, 0.5, 0], [0.5, 0, 1, 1], [0.25, 0.55, 0.75, 0.55]],
  E: [[0, 0, 0, 1], [0, 0, 1, 0], [0, 0.5, 0.8, 0.5], [0, 1, 1, 1]],
  F: [[0, 0, 0, 1], [0, 0, 1, 0], [0, 0.5, 0.8, 0.5]],
  H: [[0, 0, 0, 1], [1, 0, 1, 1], [0, 0.5, 1, 0.5]],
  K: [[0, 0, 0, 1], [1, 0, 0, 0.55], [0.3, 0.4, 1, 1]],
  M: [[0, 1, 0, 0], [0, 0, 0.5, 0.6], [0.5, 0.6, 1, 0], [1, 0, 1, 1]],
  N: [[0, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 0]],
  T: [[0, 0, 1, 0], [0.5, 0, 0.5, 1]],
  V: [[0, 0, 0.5, 1], [0.5, 1, 1, 0]],
  W: [[0, 0, 0.25, 1], [0.25, 1, 0.5, 0.4], [0.5, 0.4, 0.75, 1], [0.75, 1, 1, 0]],
  X: [[0, 0, 1, 1], [1, 0, 0, 1]],
  Y: [[0, 0, 0.5, 0.5], [1, 0, 0.5, 0.5], [0.5, 0.5, 0.5, 1]],
};

/** The letters {@link renderLetters} draws from. */
export const LETTER_NAMES: readonly string[] = Object.keys(LETTERS);

/** Distance from (px, py) to the segment (x1, y1)–(x2, y2). */
function segmentDistance(px: number, py: number, [x1, y1, x2, y2]: Stroke): number {
  const dx = x2 - x1, dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

/** `n` random letters `[n, 1, 28, 28]` in [0, 1], reproducible from `seed`. */
export function renderLetters(n: number, seed = 0): Tensor {
  const gen = new Generator(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * gen.random();
  const side = 28, px = new Float32Array(n * side * side);
  for (let k = 0; k < n; k++) {
    const strokes = LETTERS[LETTER_NAMES[gen.randint(0, LETTER_NAMES.length)]];
    const height = u(14, 20), width = height * u(0.6, 0.95), angle = u(-0.25, 0.25), slant = u(-0.2, 0.2);
    const cx = 14 + u(-2, 2), cy = 14 + u(-2, 2), half = u(0.9, 1.6);
    const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
    // Unit box → pixels: centre, scale, slant (shear in x by y), then rotate about the centre.
    const place = (x: number, y: number): [number, number] => {
      const ux = (x - 0.5) * width + slant * (y - 0.5) * height, uy = (y - 0.5) * height;
      return [cx + cos * ux - sin * uy, cy + sin * ux + cos * uy];
    };
    const segs = strokes.map(([x1, y1, x2, y2]) => [...place(x1, y1), ...place(x2, y2)] as Stroke);
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        const d = Math.min(...segs.map((s) => segmentDistance(j + 0.5, i + 0.5, s)));
        px[(k * side + i) * side + j] = Math.max(0, Math.min(1, half + 0.5 - d)); // a one-pixel soft edge
      }
    }
  }
  return tensor(px, { shape: [n, 1, side, side] });
}
