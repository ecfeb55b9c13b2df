/**
 * Batch normalization of float32 tensors with the WebAssembly SIMD kernels of
 * `wasm/norm_kernel.ts`: drop-in versions of `norm.ts`'s functions, same
 * arguments, each returning whether it did the work.
 *
 * The large operands (x, the output gradient, `out`, `gradIn`: `[n, c, s]`)
 * must live in the WebAssembly heap; the per-channel ones (`[c]`) may be any
 * arrays: the kernels exchange per-channel values with this file through
 * float64 heap scratch, and the few per-channel formulas (`1/√(var + eps)`,
 * `Σg(x - mean)·invStd`, the backward coefficients) are `norm.ts`'s own
 * (`setChannelStats`, `setChannelGrads`). Arithmetic is float64 throughout, per
 * element in the same operations as `norm.ts`: the forward pass and the input
 * gradient are bit-identical to it; the statistics and the weight and bias
 * gradients differ only by the order of their float64 sums (so they agree to
 * float32 rounding).
 *
 * Two loop orders: channel by channel in runs of `s` (`[8, 64, 32, 32]`), and
 * for small `s` (BatchNorm1d's `[n, c, 1]`) across rows of `c·s` values with
 * per-column parameters, so the vectors run across channels.
 *
 * @module
 */

import type { TypedArray } from "../dtype.ts";
import { setChannelGrads, setChannelStats } from "./norm.ts";
import { heapAddress, heapAlloc, heapF32, heapFree, type WasmOps, wasmOps } from "./wasm/runtime.ts";

/** Byte address of float32 array `a` holding at least `n` elements in the heap, or -1. */
function addrOf(a: TypedArray, n: number): number {
  return a instanceof Float32Array && a.length >= n ? heapAddress(a) : -1;
}

/** Float64 scratch of `n` values in the heap: its address and a view (valid until the next allocation). */
function scratch(n: number): { addr: number; f64: Float64Array } | null {
  const addr = heapAlloc(n * 8);
  if (addr < 0) return null;
  return { addr, f64: new Float64Array(heapF32().buffer, addr, n) };
}

/**
 * Channel planes shorter than these (BatchNorm1d's `s = 1`) take the column
 * kernels: x read as rows of `c·s` values in memory order with per-column
 * parameters, rather than channel by channel in runs of `s` (the thresholds
 * are where the column kernels measured faster).
 */
const SUMS_BY_COLUMNS_BELOW = 8, AFFINE_BY_COLUMNS_BELOW = 4;

/** Per-column parameter arrays for `bn_col_affine`: array k holds `values[k](ch)` at each of channel ch's `s` columns. */
function spread(p: Float64Array, c: number, s: number, values: (Float64Array | ((ch: number) => number))[]): void {
  const cols = c * s;
  values.forEach((v, k) => {
    for (let ch = 0; ch < c; ch++) {
      const x = typeof v === "function" ? v(ch) : v[ch];
      p.fill(x, k * cols + ch * s, k * cols + ch * s + s);
    }
  });
}

/** Adds each channel's `s` adjacent column sums at `from` into `into[ch]`. */
function foldColumns(acc: Float64Array, from: number, c: number, s: number, into: Float64Array): void {
  for (let ch = 0; ch < c; ch++) {
    let t = 0;
    for (let j = 0; j < s; j++) t += acc[from + ch * s + j];
    into[ch] = t;
  }
}

/** {@link wasmBatchNormStats} for small `s` with `bn_col_sums`: the column sums, then the squared deviations. */
function statsByColumns(
  ops: WasmOps,
  xa: number,
  n: number,
  c: number,
  s: number,
  eps: number,
  mean: TypedArray,
  invStd: TypedArray,
  variance: TypedArray | null,
): boolean {
  const cols = c * s, m = n * s;
  // [acc: cols][mu per column: cols]
  const sc = scratch(2 * cols);
  if (!sc) return false;
  try {
    const acc = sc.f64, muAt = sc.addr + cols * 8, per = new Float64Array(c);
    ops.bn_col_sums(xa, 0, n, cols, 0, sc.addr, 0);
    foldColumns(acc, 0, c, s, per);
    for (let ch = 0; ch < c; ch++) acc.fill(per[ch] / m, cols + ch * s, cols + ch * s + s);
    ops.bn_col_sums(xa, 0, n, cols, muAt, sc.addr, 1);
    foldColumns(acc, 0, c, s, per);
    for (let ch = 0; ch < c; ch++) setChannelStats(ch, acc[cols + ch * s], per[ch] / m, eps, mean, invStd, variance);
  } finally {
    heapFree(sc.addr);
  }
  return true;
}

/**
 * Mean, `1/√(var + eps)` and (when `variance` is given) the biased variance of
 * each channel of contiguous float32 x `[n, c, s]`, as `norm.batchNormStats`.
 * Returns false, having written nothing, unless x is float32 in the heap, the
 * outputs are float32 arrays of at least `c` values, and `n·s ≥ 1`.
 *
 * @example
 * ```ts
 * import { wasmBatchNormStats } from "./norm_wasm.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const x = heapAllocStorage(Float32Array, 2 * 3 * 4);
 * const mean = new Float32Array(3), invStd = new Float32Array(3);
 * if (x) wasmBatchNormStats(x.data, 2, 3, 4, 1e-5, mean, invStd, null);
 * ```
 */
export function wasmBatchNormStats(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  eps: number,
  mean: TypedArray,
  invStd: TypedArray,
  variance: TypedArray | null,
): boolean {
  const ops = wasmOps();
  const xa = addrOf(x, n * c * s);
  const outsOk = [mean, invStd, variance ?? mean].every((a) => a instanceof Float32Array && a.length >= c);
  if (!ops || xa < 0 || !outsOk || n * s < 1) return false;
  if (s < SUMS_BY_COLUMNS_BELOW) return statsByColumns(ops, xa, n, c, s, eps, mean, invStd, variance);
  const sc = scratch(2 * c);
  if (!sc) return false;
  try {
    ops.bn_stats(xa, n, c, s, sc.addr);
    const r = sc.f64;
    for (let ch = 0; ch < c; ch++) setChannelStats(ch, r[2 * ch], r[2 * ch + 1], eps, mean, invStd, variance);
  } finally {
    heapFree(sc.addr);
  }
  return true;
}

/**
 * `out = (x - mean)·(invStd·weight) + bias` per channel of contiguous float32
 * x `[n, c, s]` into `out`, as `norm.batchNormForward` (the per-channel
 * arguments are `norm.channelValues`'s float64 arrays). Returns false, having
 * written nothing, unless x and out are float32 in the heap.
 *
 * @example
 * ```ts
 * import { wasmBatchNormForward } from "./norm_wasm.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const x = heapAllocStorage(Float32Array, 8), out = heapAllocStorage(Float32Array, 8);
 * const mean = new Float64Array([0.5, -1]), invStd = new Float64Array([2, 1]);
 * const weight = new Float64Array([1, 1]), bias = new Float64Array([0, 0]);
 * if (x && out) wasmBatchNormForward(x.data, 2, 2, 2, mean, invStd, weight, bias, out.data);
 * ```
 */
export function wasmBatchNormForward(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  mean: Float64Array,
  invStd: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  out: TypedArray,
): boolean {
  const ops = wasmOps();
  const size = n * c * s;
  const xa = addrOf(x, size), oa = addrOf(out, size);
  if (!ops || xa < 0 || oa < 0) return false;
  if (size === 0) return true;
  if (s < AFFINE_BY_COLUMNS_BELOW) {
    const sc = scratch(3 * c * s);
    if (!sc) return false;
    try {
      spread(sc.f64, c, s, [mean, (ch) => invStd[ch] * weight[ch], bias]);
      ops.bn_col_affine(0, xa, oa, n, c * s, sc.addr, 0);
    } finally {
      heapFree(sc.addr);
    }
    return true;
  }
  const sc = scratch(3 * c);
  if (!sc) return false;
  try {
    const p = sc.f64;
    for (let ch = 0; ch < c; ch++) {
      p[3 * ch] = mean[ch];
      p[3 * ch + 1] = invStd[ch] * weight[ch];
      p[3 * ch + 2] = bias[ch];
    }
    ops.bn_forward(xa, oa, n, c, s, sc.addr);
  } finally {
    heapFree(sc.addr);
  }
  return true;
}

/**
 * Gradients of {@link wasmBatchNormForward}, as `norm.batchNormBackward`: per
 * channel `gradBias = Σ g` and `gradWeight = Σ g·(x - mean)·invStd`, and
 * `gradIn = k·(g - Σg/M - (x - mean)·invStd²·Σg(x - mean)/M)` with
 * `k = invStd·weight`, `M = n·s` (when `batchStats`; else `gradIn = k·g`).
 * Returns false, having written nothing, unless g, x and gradIn (when given)
 * are float32 in the heap and gradWeight and gradBias (when given) are float32
 * arrays of at least `c` values.
 *
 * @example
 * ```ts
 * import { wasmBatchNormBackward } from "./norm_wasm.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const g = heapAllocStorage(Float32Array, 8), x = heapAllocStorage(Float32Array, 8);
 * const gradIn = heapAllocStorage(Float32Array, 8), gradBias = new Float32Array(2);
 * const mean = new Float64Array(2), invStd = new Float64Array([1, 1]), weight = new Float64Array([1, 1]);
 * if (g && x && gradIn) {
 *   wasmBatchNormBackward(g.data, x.data, 2, 2, 2, mean, invStd, weight, true, gradIn.data, null, gradBias);
 * }
 * ```
 */
export function wasmBatchNormBackward(
  g: TypedArray,
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  mean: Float64Array,
  invStd: Float64Array,
  weight: Float64Array,
  batchStats: boolean,
  gradIn: TypedArray | null,
  gradWeight: TypedArray | null,
  gradBias: TypedArray | null,
): boolean {
  const ops = wasmOps();
  const size = n * c * s, m = n * s, cols = c * s;
  const ga = addrOf(g, size), xa = addrOf(x, size), ia = gradIn ? addrOf(gradIn, size) : 0;
  const small = [gradWeight, gradBias].every((a) => a === null || (a instanceof Float32Array && a.length >= c));
  if (!ops || ga < 0 || xa < 0 || ia < 0 || !small) return false;
  const needSums = gradWeight !== null || gradBias !== null || (gradIn !== null && batchStats);
  const sumsByColumns = needSums && s < SUMS_BY_COLUMNS_BELOW,
    inputByColumns = gradIn !== null && s < AFFINE_BY_COLUMNS_BELOW;
  // Scratch, float64: per channel [mean, k, a, b] (the input gradient's coefficients) and [Σg, Σg(x - mean)];
  // for the column kernels, per column: the mean and the two sums (bn_col_sums), the four coefficients (bn_col_affine).
  const sumsAt = 4 * c, muColAt = 6 * c, accAt = muColAt + cols, colParamsAt = accAt + 2 * cols;
  const sc = scratch(sumsByColumns || inputByColumns ? colParamsAt + 4 * cols : muColAt);
  if (!sc) return false;
  try {
    const p = sc.f64;
    for (let ch = 0; ch < c; ch++) p[4 * ch] = mean[ch];
    if (sumsByColumns) {
      spread(p.subarray(muColAt), c, s, [mean]);
      ops.bn_col_sums(ga, xa, n, cols, sc.addr + muColAt * 8, sc.addr + accAt * 8, 2);
      const sumG = new Float64Array(c), sumGX = new Float64Array(c);
      foldColumns(p, accAt, c, s, sumG);
      foldColumns(p, accAt + cols, c, s, sumGX);
      for (let ch = 0; ch < c; ch++) p[sumsAt + 2 * ch] = sumG[ch], p[sumsAt + 2 * ch + 1] = sumGX[ch];
    } else if (needSums) ops.bn_backward_sums(ga, xa, n, c, s, sc.addr, sc.addr + sumsAt * 8);
    for (let ch = 0; ch < c; ch++) {
      const sumG = needSums ? p[sumsAt + 2 * ch] : 0, sumGX = needSums ? p[sumsAt + 2 * ch + 1] : 0;
      setChannelGrads(ch, sumG, sumGX, m, invStd[ch], weight[ch], gradWeight, gradBias, p, 4 * ch + 1);
    }
    if (inputByColumns) {
      spread(p.subarray(colParamsAt), c, s, [0, 1, 2, 3].map((k) => (ch: number) => p[4 * ch + k]));
      ops.bn_col_affine(ga, xa, ia, n, cols, sc.addr + colParamsAt * 8, batchStats ? 1 : 2);
    } else if (gradIn) ops.bn_backward_input(ga, xa, ia, n, c, s, sc.addr, batchStats ? 1 : 0);
  } finally {
    heapFree(sc.addr);
  }
  return true;
}
