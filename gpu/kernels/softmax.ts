/**
 * Fused softmax and log-softmax over the rows of a contiguous matrix: one
 * workgroup of 64 threads per row (max, then sum of exponentials, then the
 * write), so a row is read three times and written once.
 *
 * @module
 */

import { cachedKernel, type Kernel } from "../program.ts";
import { F32_NEG_INF, rowMain } from "./common.ts";

/**
 * WGSL `log_acc(x)`: log to ~1 ulp (llvmpipe's `log` is off by a few 1e-6
 * relative, too much for log-sum-exp). x = f·2^e with f in [√½, √2),
 * log f = 2·atanh(s), s = (f-1)/(f+1), |s| < 0.172.
 */
export const LOG_ACC = `fn log_acc(x: f32) -> f32 {
  let fe = frexp(x);
  var f = fe.fract;
  var e = f32(fe.exp);
  if (f < 0.70710678) { f = f * 2.0; e = e - 1.0; }
  let s = (f - 1.0) / (f + 1.0);
  let s2 = s * s;
  let t = s * (2.0 + s2 * (0.6666666667 + s2 * (0.4 + s2 * (0.2857142857 + s2 * 0.2222222222))));
  return e * 0.6931471805599453 + t;
}`;

/**
 * WGSL for one 64-thread workgroup reducing a row `arr[base .. base+count)`:
 * leaves the row maximum in `m` (0 for an all -inf row, so the result stays
 * NaN-free where possible) and Σ exp(x - m) in `red[0]`. Needs
 * `var<workgroup> red: array<f32, 64>` and the thread index `t`.
 */
export function rowMaxSumExp(arr: string, base: string, count: string): string {
  return `  var m = ${F32_NEG_INF};
  for (var j = t; j < ${count}; j += 64u) { m = max(m, ${arr}[${base} + j]); }
  red[t] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  m = red[0];
  if (m == ${F32_NEG_INF}) { m = 0.0; }
  workgroupBarrier();
  var s0 = 0.0;
  for (var j = t; j < ${count}; j += 64u) { s0 += exp(${arr}[${base} + j] - m); }
  red[t] = s0;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }`;
}

/** Softmax (`log` false) or log-softmax. Params: `rows, cols, off`. Bindings: out, a. */
export function softmaxKernel(log: boolean): Kernel {
  return cachedKernel(`softmax:${log}`, () => buildSoftmaxKernel(log));
}

function buildSoftmaxKernel(log: boolean): Omit<Kernel, "key"> {
  // (x - m) is exact for the large entries; subtracting m + log(sum) rounded to f32 would not be.
  const write = log ? "out[ob + j] = (a[base + j] - m) - ls;" : "out[ob + j] = exp(a[base + j] - m) * inv;";
  return {
    name: log ? "log_softmax" : "softmax",
    bindings: ["rw", "ro"],
    source: () =>
      `struct P { rows: u32, cols: u32, off: u32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${LOG_ACC}
var<workgroup> red: array<f32, 64>;
${rowMain(64, "p.rows")}
  let base = p.off + row * p.cols;
  let ob = row * p.cols;
${rowMaxSumExp("a", "base", "p.cols")}
  let sum = red[0];
  let inv = 1.0 / sum;
  let ls = log_acc(sum);
  for (var j = t; j < p.cols; j += 64u) { ${write} }
}`,
  };
}
