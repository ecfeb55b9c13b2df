/**
 * 2-D max and average pooling over NCHW planes and their backward kernels.
 * The backward kernels run one thread per input element and gather from the
 * output windows that cover it, so overlapping windows need no atomics and
 * results are deterministic.
 *
 * @module
 */

import type { Kernel } from "../program.ts";
import { F32_NEG_INF, flatMain } from "./common.ts";

const STRUCT = `struct P {
  total: u32, n: i32, c: i32, h: i32,
  w: i32, kh: i32, kw: i32, sh: i32,
  sw: i32, ph: i32, pw: i32, dh: i32,
  dw: i32, oh: i32, ow: i32, cip: i32,
  off0: i32, off1: i32, p0: i32, p1: i32,
}`;

const PREFIX = flatMain("p.total");

/** The opening of a forward kernel (a thread per output): its plane, and `q`, its cell in the output plane. */
const OUT_CELL = `${PREFIX}
  let ii = i32(i);
  let ohw = p.oh * p.ow;
  let plane = ii / ohw;
  let q = ii % ohw;`;

/**
 * A backward kernel, one thread per input cell (`ih`, `iw`) at `at` in its plane: sums into `s`, by `body`, over the
 * outputs whose window taps the cell (`o`: the output's index in the planes, `oh`, `ow`: its cell), and writes `s`.
 * `dilated`: taps are `dilation` apart (max pooling); average pooling's windows ignore the dilation words.
 */
function overWindows(dilated: boolean, body: string): string {
  const dh = dilated ? " * p.dh" : "", dw = dilated ? " * p.dw" : "";
  return `${PREFIX}
  let ii = i32(i);
  let hw = p.h * p.w;
  let plane = ii / hw;
  let at = ii % hw;
  let ih = at / p.w;
  let iw = at % p.w;
  let ob = plane * p.oh * p.ow;
  var s = 0.0;
  for (var ki = 0; ki < p.kh; ki++) {
    let th = ih + p.ph - ki${dh};
    if (th < 0 || th % p.sh != 0 || th / p.sh >= p.oh) { continue; }
    let oh = th / p.sh;
    for (var kj = 0; kj < p.kw; kj++) {
      let tw = iw + p.pw - kj${dw};
      if (tw < 0 || tw % p.sw != 0 || tw / p.sw >= p.ow) { continue; }
      let ow = tw / p.sw;
      let o = ob + oh * p.ow + ow;
      ${body}
    }
  }
  out[i] = s;
}`;
}

/** The bindings of both max-pooling backward kernels: out, gradOut, indices. */
const MAX_BACKWARD_DECLS = `${STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> go: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<uniform> p: P;`;

// PyTorch's average-pool divisor: the window clipped to the padded input (with padding
// counted) or to the input itself.
const AVG_WINDOW = `fn window(oh: i32, ow: i32) -> vec4<i32> {
  let h0 = oh * p.sh - p.ph;
  let w0 = ow * p.sw - p.pw;
  let h1 = min(h0 + p.kh, p.h + p.ph);
  let w1 = min(w0 + p.kw, p.w + p.pw);
  return vec4<i32>(h0, h1, w0, w1);
}
fn divisor(r: vec4<i32>) -> f32 {
  if (p.cip != 0) { return f32((r.y - r.x) * (r.w - r.z)); }
  return f32((min(r.y, p.h) - max(r.x, 0)) * (min(r.w, p.w) - max(r.z, 0)));
}`;

/** Max pooling forward, one thread per output. Bindings: out (f32), indices (i32), x. */
export const maxPoolKernel: Kernel = {
  name: "max_pool2d",
  key: "max_pool2d",
  bindings: ["rw", "rw", "ro"],
  source: () =>
    `${STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> idx: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${OUT_CELL}
  let h0 = (q / p.ow) * p.sh - p.ph;
  let w0 = (q % p.ow) * p.sw - p.pw;
  let base = p.off0 + plane * p.h * p.w;
  var best = ${F32_NEG_INF};
  var at = -1;
  for (var ki = 0; ki < p.kh; ki++) {
    let ih = h0 + ki * p.dh;
    if (ih < 0 || ih >= p.h) { continue; }
    for (var kj = 0; kj < p.kw; kj++) {
      let iw = w0 + kj * p.dw;
      if (iw < 0 || iw >= p.w) { continue; }
      let v = x[base + ih * p.w + iw];
      if (v > best || at < 0) {
        best = v;
        at = ih * p.w + iw;
      }
    }
  }
  out[i] = best;
  idx[i] = at;
}`,
};

/** Max pooling backward, one thread per input element. Bindings: out, gradOut, indices. */
export const maxPoolBackwardKernel: Kernel = {
  name: "max_pool2d_backward",
  key: "max_pool2d_backward",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    `${MAX_BACKWARD_DECLS}
${overWindows(true, "if (idx[p.off1 + o] == at) { s += go[p.off0 + o]; }")}`,
};

/**
 * Max pooling backward when windows do not overlap (each input cell lies in
 * at most one window, the common `kernel == stride` case): one thread per
 * output writes its gradient at its argmax, into a zeroed `out`. No thread
 * tests the windows around it, which saves the gather form's divisions.
 * Bindings: out, gradOut, indices.
 */
export const maxPoolBackwardScatterKernel: Kernel = {
  name: "max_pool2d_backward",
  key: "max_pool2d_backward_scatter",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    `${MAX_BACKWARD_DECLS}
${OUT_CELL}
  let at = idx[p.off1 + ii];
  if (at >= 0) { out[plane * p.h * p.w + at] = go[p.off0 + ii]; }
}`,
};

/** Average pooling forward. Bindings: out, x. */
export const avgPoolKernel: Kernel = {
  name: "avg_pool2d",
  key: "avg_pool2d",
  bindings: ["rw", "ro"],
  source: () =>
    `${STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${AVG_WINDOW}
${OUT_CELL}
  let r = window(q / p.ow, q % p.ow);
  let d = divisor(r);
  let base = p.off0 + plane * p.h * p.w;
  var s = 0.0;
  for (var ih = max(r.x, 0); ih < min(r.y, p.h); ih++) {
    for (var iw = max(r.z, 0); iw < min(r.w, p.w); iw++) { s += x[base + ih * p.w + iw]; }
  }
  out[i] = select(0.0, s / d, d > 0.0);
}`,
};

/** Average pooling backward, one thread per input element. Bindings: out, gradOut. */
export const avgPoolBackwardKernel: Kernel = {
  name: "avg_pool2d_backward",
  key: "avg_pool2d_backward",
  bindings: ["rw", "ro"],
  source: () =>
    `${STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> go: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${AVG_WINDOW}
${
      overWindows(
        false,
        `let r = window(oh, ow);
      // The input cell must lie inside the clipped window that produced this output.
      if (ih >= r.y || iw >= r.w) { continue; }
      let d = divisor(r);
      if (d > 0.0) { s += go[p.off0 + o] / d; }`,
      )
    }`,
};
