/**
 * 2-D interpolation (resize) of NCHW planes and its backward kernel, on a
 * table of taps the backend builds once per geometry from
 * `interpolationTaps` (PyTorch's source-index rules live there, not here).
 * The backward runs one thread per input cell and gathers from the output
 * cells whose taps read it (a consecutive range per axis, from the table), so
 * it needs no atomics and is deterministic.
 *
 * Table layout (i32 words): per output row `i0, i1, bits(l0), bits(l1)`, then
 * the same per output column (from word `tw`), then per input row the output
 * rows `[lo, hi)` reading it (from word `ih`), then per input column (from
 * word `iw`).
 *
 * @module
 */

import type { Kernel } from "../program.ts";
import { flatMain } from "./common.ts";

const DECLS = `struct P {
  total: u32, h: i32, w: i32, oh: i32,
  ow: i32, off: i32, tw: i32, ih: i32,
  iw: i32, p0: i32, p1: i32, p2: i32,
}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<i32>;
@group(0) @binding(3) var<uniform> p: P;
fn weight(k: i32) -> f32 { return bitcast<f32>(t[k]); }
// The weight with which the taps at word k read input index i (0 when neither does).
fn weightOf(k: i32, i: i32) -> f32 {
  return select(0.0, weight(k + 2), t[k] == i) + select(0.0, weight(k + 3), t[k + 1] == i);
}`;

/** Forward, one thread per output cell. Bindings: out, x, taps. */
export const interpolateKernel: Kernel = {
  name: "interpolate2d",
  key: "interpolate2d",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    `${DECLS}
${flatMain("p.total")}
  let ii = i32(i);
  let ohw = p.oh * p.ow;
  let plane = ii / ohw;
  let q = ii % ohw;
  let th = 4 * (q / p.ow);
  let tw = p.tw + 4 * (q % p.ow);
  let base = p.off + plane * p.h * p.w;
  let r0 = base + t[th] * p.w;
  let r1 = base + t[th + 1] * p.w;
  let c0 = t[tw];
  let c1 = t[tw + 1];
  let b0 = weight(tw + 2);
  let b1 = weight(tw + 3);
  out[i] = weight(th + 2) * (b0 * src[r0 + c0] + b1 * src[r0 + c1]) +
    weight(th + 3) * (b0 * src[r1 + c0] + b1 * src[r1 + c1]);
}`,
};

/** Backward, one thread per input cell. Bindings: out, gradOut, taps. */
export const interpolateBackwardKernel: Kernel = {
  name: "interpolate2d_backward",
  key: "interpolate2d_backward",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    `${DECLS}
${flatMain("p.total")}
  let ii = i32(i);
  let hw = p.h * p.w;
  let plane = ii / hw;
  let at = ii % hw;
  let yi = at / p.w;
  let xi = at % p.w;
  let gb = p.off + plane * p.oh * p.ow;
  let wlo = t[p.iw + 2 * xi];
  let whi = t[p.iw + 2 * xi + 1];
  var s = 0.0;
  for (var yo = t[p.ih + 2 * yi]; yo < t[p.ih + 2 * yi + 1]; yo++) {
    let a = weightOf(4 * yo, yi);
    if (a == 0.0) { continue; }
    var r = 0.0;
    for (var xo = wlo; xo < whi; xo++) { r += weightOf(p.tw + 4 * xo, xi) * src[gb + yo * p.ow + xo]; }
    s += a * r;
  }
  out[i] = s;
}`,
};
