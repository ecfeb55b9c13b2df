/**
 * Batch-normalization kernels of the CPU backend over contiguous `[n, c, s]`
 * data: per-channel statistics (two passes, so the variance does not suffer
 * the cancellation of `E[x²] - E[x]²`), the normalize-scale-shift pass, and
 * the backward pass (one pass for the two per-channel sums, one for the input
 * gradient). Sums accumulate in float64 (JavaScript numbers) whatever the
 * storage dtype.
 *
 * @module
 */

import type { TypedArray } from "../dtype.ts";

/** The `[c]` values of a strided 1-D view as float64 (`fill` everywhere when the view is absent). */
export function channelValues(
  data: ArrayLike<number> | null,
  offset: number,
  stride: number,
  c: number,
  fill: number,
): Float64Array {
  const v = new Float64Array(c);
  if (!data) return v.fill(fill);
  for (let ch = 0; ch < c; ch++) v[ch] = data[offset + ch * stride];
  return v;
}

/**
 * Mean, `1/√(var + eps)` and (when `variance` is given) the biased variance
 * of each channel of contiguous x `[n, c, s]`.
 */
export function batchNormStats(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  eps: number,
  mean: TypedArray,
  invStd: TypedArray,
  variance: TypedArray | null,
): void {
  const m = n * s, plane = c * s;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const base = i * plane + ch * s;
      for (let j = base, end = base + s; j < end; j++) sum += x[j];
    }
    const mu = sum / m;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const base = i * plane + ch * s;
      for (let j = base, end = base + s; j < end; j++) {
        const d = x[j] - mu;
        sq += d * d;
      }
    }
    setChannelStats(ch, mu, sq / m, eps, mean, invStd, variance);
  }
}

/**
 * Stores channel `ch`'s mean `mu`, `1/√(v + eps)` and (when `variance` is
 * given) its biased variance `v`: the one place the statistics' per-channel
 * formula is written, so `norm_wasm.ts` rounds exactly as this file does.
 */
export function setChannelStats(
  ch: number,
  mu: number,
  v: number,
  eps: number,
  mean: TypedArray,
  invStd: TypedArray,
  variance: TypedArray | null,
): void {
  mean[ch] = mu;
  invStd[ch] = 1 / Math.sqrt(v + eps);
  if (variance) variance[ch] = v;
}

/** `out = (x - mean)·(invStd·weight) + bias` per channel of contiguous x `[n, c, s]`. */
export function batchNormForward(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  mean: Float64Array,
  invStd: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  out: TypedArray,
): void {
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const mu = mean[ch], k = invStd[ch] * weight[ch], b = bias[ch];
      const base = (i * c + ch) * s;
      for (let j = base, end = base + s; j < end; j++) out[j] = (x[j] - mu) * k + b;
    }
  }
}

/**
 * Gradients of {@link batchNormForward} (see `Backend.batchNormBackward`):
 * per channel `Σ g` and `Σ g·x̂`, then the input gradient, where `batchStats`
 * adds the terms from the mean and variance depending on x.
 */
export function batchNormBackward(
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
): void {
  const plane = c * s, m = n * s, coef = new Float64Array(3);
  const needSums = gradWeight !== null || gradBias !== null || (gradIn !== null && batchStats);
  for (let ch = 0; ch < c; ch++) {
    const mu = mean[ch], is = invStd[ch];
    let sumG = 0, sumGX = 0; // Σ g and Σ g·(x - mean)
    if (needSums) {
      for (let i = 0; i < n; i++) {
        const base = i * plane + ch * s;
        for (let j = base, end = base + s; j < end; j++) {
          const gj = g[j];
          sumG += gj;
          sumGX += gj * (x[j] - mu);
        }
      }
    }
    setChannelGrads(ch, sumG, sumGX, m, is, weight[ch], gradWeight, gradBias, coef, 0);
    if (!gradIn) continue;
    const k = coef[0];
    if (!batchStats) {
      for (let i = 0; i < n; i++) {
        const base = i * plane + ch * s;
        for (let j = base, end = base + s; j < end; j++) gradIn[j] = k * g[j];
      }
      continue;
    }
    // gradIn = k·(g - Σg/M - (x - mean)·invStd²·Σg(x - mean)/M)
    const a = coef[1], b = coef[2];
    for (let i = 0; i < n; i++) {
      const base = i * plane + ch * s;
      for (let j = base, end = base + s; j < end; j++) gradIn[j] = k * (g[j] - a - (x[j] - mu) * b);
    }
  }
}

/**
 * Stores channel `ch`'s `gradBias = Σg` and `gradWeight = Σg(x - mean)·invStd`
 * (each when given) from its sums `sumG` and `sumGX` over `m` values, and the
 * input gradient's coefficients `[k, a, b]` of
 * `gradIn = k·(g - a - (x - mean)·b)` (`k = invStd·weight`, `a = Σg/M`,
 * `b = invStd²·Σg(x - mean)/M`) at `coef[at..at+2]`: the one place the
 * backward's per-channel formulas are written, so `norm_wasm.ts` rounds
 * exactly as this file does.
 */
export function setChannelGrads(
  ch: number,
  sumG: number,
  sumGX: number,
  m: number,
  invStd: number,
  weight: number,
  gradWeight: TypedArray | null,
  gradBias: TypedArray | null,
  coef: Float64Array,
  at: number,
): void {
  if (gradBias) gradBias[ch] = sumG;
  if (gradWeight) gradWeight[ch] = sumGX * invStd;
  coef[at] = invStd * weight;
  coef[at + 1] = sumG / m;
  coef[at + 2] = (invStd * invStd * sumGX) / m;
}
