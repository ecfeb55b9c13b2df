/**
 * A 2-D scatter picture for the embedding examples (word2vec's PCA map,
 * DeepWalk's karate club, the karate GCN's hidden layer): points coloured by
 * group on a white square. The examples print what the colours mean (text in
 * the picture waits for a font renderer: imagescript's needs `Deno.core`,
 * which Deno 2 no longer has).
 *
 * @module
 */

import { Image } from "imagescript";

/** Options of {@link saveScatterPng}. */
export interface ScatterPngOptions {
  /** A group per point (colours; default all 0). */
  groups?: readonly number[];
  /** Side of the square picture in pixels (default 640). */
  size?: number;
}

/** The colours of groups 0, 1, 2, … (matplotlib's first eight), with their names for printed legends. */
export const COLOR_NAMES = ["blue", "orange", "green", "red", "purple", "brown", "pink", "grey"];
const COLORS = [0x1f77b4ff, 0xff7f0eff, 0x2ca02cff, 0xd62728ff, 0x9467bdff, 0x8c564bff, 0xe377c2ff, 0x7f7f7fff];

/** Draws points `xy` (any range: scaled to fit with a margin) and writes a PNG. */
export async function saveScatterPng(path: string, xy: readonly [number, number][], options: ScatterPngOptions = {}) {
  const size = options.size ?? 640, margin = 24;
  const img = new Image(size, size);
  img.fill(0xffffffff);
  const xs = xy.map((p) => p[0]), ys = xy.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (size - 2 * margin) / ((x1 - x0) || 1), sy = (size - 2 * margin) / ((y1 - y0) || 1);
  xy.forEach(([x, y], i) => {
    const cx = Math.round(margin + (x - x0) * sx), cy = Math.round(size - margin - (y - y0) * sy);
    const color = COLORS[(options.groups?.[i] ?? 0) % COLORS.length];
    for (let dy = -3; dy <= 3; dy++) {
      for (let dx = -3; dx <= 3; dx++) {
        if (dx * dx + dy * dy <= 9) img.setPixelAt(cx + dx + 1, cy + dy + 1, color);
      }
    }
  });
  await Deno.writeFile(path, await img.encode());
}
