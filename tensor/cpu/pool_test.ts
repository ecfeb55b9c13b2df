import { deepStrictEqual, ok } from "node:assert/strict";
import type { Pool2dGeometry } from "../backend.ts";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./pool.ts";

function g(
  h: number,
  w: number,
  k: number,
  s: number,
  p: number,
  outH: number,
  outW: number,
  opts: { d?: number; countIncludePad?: boolean } = {},
): Pool2dGeometry {
  return {
    n: 1,
    c: 1,
    h,
    w,
    kh: k,
    kw: k,
    strideH: s,
    strideW: s,
    padH: p,
    padW: p,
    dilationH: opts.d ?? 1,
    dilationW: opts.d ?? 1,
    outH,
    outW,
    countIncludePad: opts.countIncludePad ?? true,
  };
}

// The 4×4 input 0..15 row-major:
//  0  1  2  3
//  4  5  6  7
//  8  9 10 11
// 12 13 14 15
const X = Float64Array.from({ length: 16 }, (_, i) => i);

Deno.test("maxPool2d kernel: 2×2 windows, values and flat indices", () => {
  const geo = g(4, 4, 2, 2, 0, 2, 2);
  const out = new Float64Array(4), idx = new Int32Array(4);
  maxPool2d(X, out, idx, geo);
  deepStrictEqual([...out], [5, 7, 13, 15]);
  deepStrictEqual([...idx], [5, 7, 13, 15]);
  const dx = new Float64Array(16);
  maxPool2dBackward(Float64Array.from([1, 2, 3, 4]), idx, dx, geo);
  const expected = new Array(16).fill(0);
  expected[5] = 1, expected[7] = 2, expected[13] = 3, expected[15] = 4;
  deepStrictEqual([...dx], expected);
});

Deno.test("maxPool2d kernel: padding ignores padded cells, dilation skips taps, NaN wins", () => {
  // k=3, s=2, p=1 on 4×4 -> out 2×2: windows rows {-1,0,1},{1,2,3}.
  const out = new Float64Array(4), idx = new Int32Array(4);
  const neg = X.map((v) => -v - 1); // all negative: padding (-∞) must not win
  maxPool2d(neg, out, idx, g(4, 4, 3, 2, 1, 2, 2));
  deepStrictEqual([...out], [-1, -2, -5, -6]);
  deepStrictEqual([...idx], [0, 1, 4, 5]);
  // dilation 2, k=2: taps (0,0),(0,2),(2,0),(2,2) -> max 10 at index 10.
  const o2 = new Float64Array(4), i2 = new Int32Array(4);
  maxPool2d(X, o2, i2, g(4, 4, 2, 1, 0, 2, 2, { d: 2 }));
  deepStrictEqual([...o2], [10, 11, 14, 15]);
  const nan = X.slice();
  nan[0] = NaN;
  const o3 = new Float64Array(4), i3 = new Int32Array(4);
  maxPool2d(nan, o3, i3, g(4, 4, 2, 2, 0, 2, 2));
  deepStrictEqual(Number.isNaN(o3[0]), true);
  deepStrictEqual(i3[0], 0);
});

Deno.test("avgPool2d kernel: countIncludePad true and false, and backward", () => {
  // k=3, s=1, p=1 on 4×4, corner window covers {0,1,4,5}.
  const inc = new Float64Array(16), exc = new Float64Array(16);
  avgPool2d(X, inc, g(4, 4, 3, 1, 1, 4, 4));
  avgPool2d(X, exc, g(4, 4, 3, 1, 1, 4, 4, { countIncludePad: false }));
  deepStrictEqual(inc[0], (0 + 1 + 4 + 5) / 9);
  deepStrictEqual(exc[0], (0 + 1 + 4 + 5) / 4);
  deepStrictEqual(exc[5], (0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9);
  const dx = new Float64Array(16);
  const go = new Float64Array(16).fill(1);
  avgPool2dBackward(go, dx, g(4, 4, 3, 1, 1, 4, 4, { countIncludePad: false }));
  // Cell (0,0) is in windows centred at (0,0),(0,1),(1,0),(1,1) with counts 4,6,6,9.
  deepStrictEqual(Math.abs(dx[0] - (1 / 4 + 1 / 6 + 1 / 6 + 1 / 9)) < 1e-12, true);
});

Deno.test("avgPool2d kernel: ceil-mode windows past the edge are clipped like PyTorch", () => {
  // 5×5, k=2, s=2, ceil -> out 3×3; last window covers only row/col 4; divisor 1 (clipped to h + pad = 5).
  const x = Float64Array.from({ length: 25 }, (_, i) => i);
  const out = new Float64Array(9);
  avgPool2d(x, out, g(5, 5, 2, 2, 0, 3, 3));
  deepStrictEqual(out[0], (0 + 1 + 5 + 6) / 4);
  deepStrictEqual(out[2], (4 + 9) / 2);
  deepStrictEqual(out[8], 24);
});

Deno.test("2×2 stride-2 max pooling fast path matches a direct loop, with ties, NaN, ±∞ and odd sizes", () => {
  for (const [h, w] of [[4, 6], [5, 7], [2, 2]]) {
    const n = 2, c = 3;
    const x = new Float32Array(n * c * h * w);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 13) - 6; // many ties
    x[1] = NaN, x[w] = NaN, x[2 * w + 2] = Infinity, x[2 * w + 3] = -Infinity, x[h * w + 1] = -Infinity;
    const outH = Math.floor(h / 2), outW = Math.floor(w / 2);
    const g = {
      n,
      c,
      h,
      w,
      kh: 2,
      kw: 2,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      outH,
      outW,
      countIncludePad: false,
    };
    const out = new Float32Array(n * c * outH * outW), idx = new Int32Array(out.length);
    maxPool2d(x, out, idx, g);
    let o = 0;
    for (let p = 0; p < n * c; p++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++, o++) {
          // PyTorch's rule: scan the window row by row; a NaN wins at once, else the first strict maximum.
          let best = -Infinity, at = -1;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            const pos = (2 * oh + dy) * w + 2 * ow + dx, v = x[p * h * w + pos];
            if (at < 0 || Number.isNaN(v) || (v > best && !Number.isNaN(best))) {
              if (!Number.isNaN(best) || at < 0) best = v, at = pos;
            }
          }
          ok(Object.is(out[o], best), `value ${o} of ${h}x${w}: ${out[o]} vs ${best}`);
          deepStrictEqual(idx[o], at, `index ${o} of ${h}x${w}`);
        }
      }
    }
  }
});
