/**
 * The optional fused kernels: cross-entropy forward (one workgroup of 64
 * threads per row: max, sum of exponentials, the smoothing sum) and backward
 * (a thread per logit), and the Adam/AdamW and SGD updates (a thread per
 * element, reading and writing parameter and state once). Hyperparameters are
 * f32 parameter words, so one pipeline serves every setting.
 *
 * @module
 */

import type { Kernel } from "../program.ts";
import { flatMain, rowMain } from "./common.ts";
import { LOG_ACC, rowMaxSumExp } from "./softmax.ts";

const NAN = "bitcast<f32>(0x7fc00000u)";

/** Parameter words of the cross-entropy kernels (shared layout). */
export const CE_WORDS = 16;

const CE_STRUCT = `struct P {
  rows: u32, c: u32, xoff: u32, toff: u32,
  tstr: u32, woff: u32, wstr: u32, has_w: u32,
  ignore: i32, eps: f32, soff: u32, ssr: u32,
  ssc: u32, goff: u32, gstr: u32, pad: u32,
}`;

const CE_WEIGHT = `fn wt(j: u32) -> f32 {
  if (p.has_w == 0u) { return 1.0; }
  return w[p.woff + j * p.wstr];
}`;

/**
 * Cross-entropy forward, one workgroup per row. Bindings: loss, rowWeight,
 * saved (out), logits, tcls (i32), weight (a placeholder when absent).
 */
export const crossEntropyForwardKernel: Kernel = {
  name: "cross_entropy_forward",
  key: "cross_entropy_forward",
  bindings: ["rw", "rw", "rw", "ro", "ro", "ro"],
  source: () =>
    `${CE_STRUCT}
@group(0) @binding(0) var<storage, read_write> loss: array<f32>;
@group(0) @binding(1) var<storage, read_write> roww: array<f32>;
@group(0) @binding(2) var<storage, read_write> saved: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> tg: array<i32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${LOG_ACC}
${CE_WEIGHT}
var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;
${rowMain(64, "p.rows")}
  let base = p.xoff + row * p.c;
  let tcls = tg[p.toff + row * p.tstr];
  if (tcls == p.ignore) {
    if (t == 0u) { loss[row] = 0.0; roww[row] = 0.0; saved[2u * row] = 0.0; saved[2u * row + 1u] = 0.0; }
    return;
  }
  if (tcls < 0 || u32(tcls) >= p.c) {
    // An out-of-range class poisons the loss rather than reading out of bounds.
    if (t == 0u) { loss[row] = ${NAN}; roww[row] = 0.0; saved[2u * row] = 0.0; saved[2u * row + 1u] = 0.0; }
    return;
  }
${rowMaxSumExp("x", "base", "p.c")}
  let lse = m + log_acc(red[0]);
  workgroupBarrier();
  // The smoothing sum Σ w_c (lse - x_c) and W = Σ w_c, term by term.
  var sm = 0.0;
  var sw = 0.0;
  for (var j = t; j < p.c; j += 64u) { let wj = wt(j); sm += wj * (lse - x[base + j]); sw += wj; }
  red[t] = sm;
  red2[t] = sw;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = red[t] + red[t + s]; red2[t] = red2[t] + red2[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let u = u32(tcls);
    let w_t = wt(u);
    let k = p.eps / f32(p.c);
    var value = (1.0 - p.eps) * w_t * (lse - x[base + u]);
    if (p.eps != 0.0) { value += k * red[0]; }
    loss[row] = value;
    roww[row] = w_t;
    saved[2u * row] = lse;
    saved[2u * row + 1u] = (1.0 - p.eps) * w_t + k * red2[0];
  }
}`,
};

/**
 * Cross-entropy backward, a thread per logit. Bindings: out, logits, tcls,
 * weight (placeholder when absent), saved, gradLoss.
 */
export const crossEntropyBackwardKernel: Kernel = {
  name: "cross_entropy_backward",
  key: "cross_entropy_backward",
  bindings: ["rw", "ro", "ro", "ro", "ro", "ro"],
  source: () =>
    `${CE_STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tg: array<i32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read> gl: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${CE_WEIGHT}
${flatMain("p.rows * p.c")}
  let row = i / p.c;
  let j = i - row * p.c;
  let tcls = tg[p.toff + row * p.tstr];
  if (tcls == p.ignore) { out[i] = 0.0; return; }
  if (tcls < 0 || u32(tcls) >= p.c) { out[i] = ${NAN}; return; }
  let g = gl[p.goff + row * p.gstr];
  let lse = saved[p.soff + row * p.ssr];
  let coef = saved[p.soff + row * p.ssr + p.ssc];
  let k = p.eps / f32(p.c);
  var v = exp(x[p.xoff + i] - lse) * coef - k * wt(j);
  if (u32(tcls) == j) { v -= (1.0 - p.eps) * wt(j); }
  out[i] = g * v;
}`,
};

/**
 * Adam/AdamW step, a thread per element. Params: n, goff, flags (1 decoupled,
 * 2 amsgrad, 4 maximize), then f32: decay (1 - lr·λ), l2 (λ), β1, β2, eps,
 * stepSize, √(1-β2^t). Bindings: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq (placeholder).
 */
export const adamKernel: Kernel = {
  name: "adam_update",
  key: "adam_update",
  bindings: ["rw", "ro", "rw", "rw", "rw"],
  source: () =>
    `struct P { n: u32, goff: u32, flags: u32, decay: f32, l2: f32, b1: f32, b2: f32, eps: f32,
  step_size: f32, bc2: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read_write> th: array<f32>;
@group(0) @binding(1) var<storage, read> gr: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> vmax: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${flatMain("p.n")}
  var g = gr[p.goff + i];
  if ((p.flags & 4u) != 0u) { g = -g; }
  var x = th[i] * p.decay;
  g = g + p.l2 * x;
  let mi = m[i] + (1.0 - p.b1) * (g - m[i]);
  m[i] = mi;
  var vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
  v[i] = vi;
  if ((p.flags & 2u) != 0u) { vi = max(vmax[i], vi); vmax[i] = vi; }
  th[i] = x - p.step_size * (mi / (sqrt(vi) / p.bc2 + p.eps));
}`,
};

/**
 * SGD step, a thread per element. Params: n, goff, flags (1 momentum buffer,
 * 2 first step, 4 nesterov), then f32: lr, μ, 1-τ, λ, sign (±1 for maximize).
 * Bindings: param, grad, momentum buffer (placeholder without momentum).
 */
export const sgdKernel: Kernel = {
  name: "sgd_update",
  key: "sgd_update",
  bindings: ["rw", "ro", "rw"],
  source: () =>
    `struct P { n: u32, goff: u32, flags: u32, lr: f32, mu: f32, keep: f32, wd: f32, sign: f32 }
@group(0) @binding(0) var<storage, read_write> th: array<f32>;
@group(0) @binding(1) var<storage, read> gr: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${flatMain("p.n")}
  var g = p.sign * gr[p.goff + i] + p.wd * th[i];
  if ((p.flags & 1u) != 0u) {
    var b = g;
    if ((p.flags & 2u) == 0u) { b = p.mu * buf[i] + p.keep * g; }
    buf[i] = b;
    if ((p.flags & 4u) != 0u) { g = g + p.mu * b; } else { g = b; }
  }
  th[i] = th[i] - p.lr * g;
}`,
};
