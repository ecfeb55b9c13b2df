/**
 * Batch-normalization kernels over contiguous `[n, c, s]` float32 data: the
 * per-channel statistics and the backward pass's per-channel sums run one
 * workgroup per channel (each thread strides over the channel's `n·s` values,
 * then a tree in workgroup memory); the normalize pass and the input gradient
 * are elementwise, one thread per element.
 *
 * Per-channel operands (`mean`, `invStd`, `weight`, `bias`) are read through an
 * offset and a stride, so any `[c]` view works without a copy.
 *
 * @module
 */

import type { Kernel } from "../program.ts";
import { flatMain, rowMain } from "./common.ts";

/** Threads per workgroup of the per-channel reductions. */
export const NORM_WG = 64;

// A tree over `red` (NORM_WG entries) leaving the total in red[0]; every thread must reach it.
const TREE = `workgroupBarrier();
  for (var k = ${NORM_WG / 2}u; k > 0u; k = k >> 1u) {
    if (t < k) { red[t] = red[t] + red[t + k]; }
    workgroupBarrier();
  }`;

/**
 * Mean, `1/√(var + eps)` and the biased variance of each channel (two passes
 * over the data). Params: `n, c, s, xOff, eps (f32 bits)`. Bindings: mean,
 * invStd, variance, x. Launch one workgroup per channel.
 */
export const batchNormStatsKernel: Kernel = {
  name: "batch_norm_stats",
  key: "batch_norm_stats",
  bindings: ["rw", "rw", "rw", "ro"],
  source: () =>
    `struct P { n: u32, c: u32, s: u32, xoff: u32, eps: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read_write> mean: array<f32>;
@group(0) @binding(1) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(2) var<storage, read_write> variance: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> red: array<f32, ${NORM_WG}>;
${rowMain(NORM_WG, "p.c", "ch")}
  let m = p.n * p.s;
  var acc = 0.0;
  for (var e = t; e < m; e += ${NORM_WG}u) {
    let i = e / p.s;
    acc += x[p.xoff + (i * p.c + ch) * p.s + (e - i * p.s)];
  }
  red[t] = acc;
  ${TREE}
  let mu = red[0] / f32(m);
  workgroupBarrier();
  var sq = 0.0;
  for (var e = t; e < m; e += ${NORM_WG}u) {
    let i = e / p.s;
    let d = x[p.xoff + (i * p.c + ch) * p.s + (e - i * p.s)] - mu;
    sq += d * d;
  }
  red[t] = sq;
  ${TREE}
  if (t == 0u) {
    let v = red[0] / f32(m);
    mean[ch] = mu;
    inv_std[ch] = 1.0 / sqrt(v + p.eps);
    variance[ch] = v;
  }
}`,
};

// Per-channel operand reads: offset and stride words in the parameter block.
const CHANNEL_FNS = `fn mean_at(ch: u32) -> f32 { return mean[p.moff + ch * p.mst]; }
fn inv_std_at(ch: u32) -> f32 { return inv_std[p.ioff + ch * p.ist]; }
fn weight_at(ch: u32) -> f32 {
  if ((p.flags & 1u) != 0u) { return weight[p.woff + ch * p.wst]; }
  return 1.0;
}`;

/**
 * `out = (x - mean)·invStd·weight + bias`, one thread per element. Params:
 * `total, c, s, xOff, mOff, mStride, iOff, iStride, wOff, wStride, bOff,
 * bStride, flags (1: weight, 2: bias)`. Bindings: out, x, mean, invStd,
 * weight, bias (placeholders when absent).
 */
export const batchNormForwardKernel: Kernel = {
  name: "batch_norm_forward",
  key: "batch_norm_forward",
  bindings: ["rw", "ro", "ro", "ro", "ro", "ro"],
  source: () =>
    `struct P {
  total: u32, c: u32, s: u32, xoff: u32,
  moff: u32, mst: u32, ioff: u32, ist: u32,
  woff: u32, wst: u32, boff: u32, bst: u32,
  flags: u32, p0: u32, p1: u32, p2: u32,
}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> inv_std: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${CHANNEL_FNS}
${flatMain("p.total")}
  let ch = (i / p.s) % p.c;
  var b = 0.0;
  if ((p.flags & 2u) != 0u) { b = bias[p.boff + ch * p.bst]; }
  out[i] = (x[p.xoff + i] - mean_at(ch)) * (inv_std_at(ch) * weight_at(ch)) + b;
}`,
};

/**
 * Per-channel `Σ g` and `Σ g·(x - mean)` into `sums [c, 2]`, and the weight and
 * bias gradients (`Σ g·x̂`, `Σ g`) when flags ask (1: weight, 2: bias). Params:
 * `n, c, s, gOff, xOff, mOff, mStride, iOff, iStride, flags`. Bindings: sums,
 * gradWeight, gradBias, gradOut, x, mean, invStd. One workgroup per channel.
 */
export const batchNormSumsKernel: Kernel = {
  name: "batch_norm_backward_sums",
  key: "batch_norm_backward_sums",
  bindings: ["rw", "rw", "rw", "ro", "ro", "ro", "ro"],
  source: () =>
    `struct P {
  n: u32, c: u32, s: u32, goff: u32,
  xoff: u32, moff: u32, mst: u32, ioff: u32,
  ist: u32, flags: u32, p0: u32, p1: u32,
}
@group(0) @binding(0) var<storage, read_write> sums: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad_weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_bias: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> inv_std: array<f32>;
@group(0) @binding(7) var<uniform> p: P;
var<workgroup> red: array<vec2<f32>, ${NORM_WG}>;
${rowMain(NORM_WG, "p.c", "ch")}
  let m = p.n * p.s;
  let mu = mean[p.moff + ch * p.mst];
  var acc = vec2<f32>(0.0, 0.0);
  for (var e = t; e < m; e += ${NORM_WG}u) {
    let i = e / p.s;
    let at = (i * p.c + ch) * p.s + (e - i * p.s);
    let gv = g[p.goff + at];
    acc += vec2<f32>(gv, gv * (x[p.xoff + at] - mu));
  }
  red[t] = acc;
  ${TREE}
  if (t == 0u) {
    let r = red[0];
    sums[2u * ch] = r.x;
    sums[2u * ch + 1u] = r.y;
    if ((p.flags & 1u) != 0u) { grad_weight[ch] = r.y * inv_std[p.ioff + ch * p.ist]; }
    if ((p.flags & 2u) != 0u) { grad_bias[ch] = r.x; }
  }
}`,
};

/**
 * The input gradient, one thread per element: `k·g` with `k = invStd·weight`,
 * or with batch statistics (flag 2) `k·(g - Σg/M - (x - mean)·invStd²·Σg(x -
 * mean)/M)` reading the sums kernel's output. Params: `total, c, s, gOff,
 * xOff, mOff, mStride, iOff, iStride, wOff, wStride, flags (1: weight, 2: batch
 * statistics), n`. Bindings: gradIn, gradOut, x, mean, invStd, weight, sums.
 */
export const batchNormGradInputKernel: Kernel = {
  name: "batch_norm_backward_input",
  key: "batch_norm_backward_input",
  bindings: ["rw", "ro", "ro", "ro", "ro", "ro", "ro"],
  source: () =>
    `struct P {
  total: u32, c: u32, s: u32, goff: u32,
  xoff: u32, moff: u32, mst: u32, ioff: u32,
  ist: u32, woff: u32, wst: u32, flags: u32,
  n: u32, p0: u32, p1: u32, p2: u32,
}
@group(0) @binding(0) var<storage, read_write> gi: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> inv_std: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> sums: array<f32>;
@group(0) @binding(7) var<uniform> p: P;
${CHANNEL_FNS}
${flatMain("p.total")}
  let ch = (i / p.s) % p.c;
  let isd = inv_std_at(ch);
  let k = isd * weight_at(ch);
  let gv = g[p.goff + i];
  if ((p.flags & 2u) == 0u) {
    gi[i] = k * gv;
    return;
  }
  let inv_m = 1.0 / f32(p.n * p.s);
  let a = sums[2u * ch] * inv_m;
  let b = isd * isd * sums[2u * ch + 1u] * inv_m;
  gi[i] = k * (gv - a - (x[p.xoff + i] - mean_at(ch)) * b);
}`,
};
