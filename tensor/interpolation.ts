/**
 * Which input cells each output cell of a 2-D interpolation reads, and with
 * what weights: PyTorch's source-index rules for `nearest` and `bilinear`
 * (with and without `alignCorners`), one axis at a time. Both backends build
 * their interpolation kernels on these taps, so the rule is written once.
 *
 * @module
 */

import type { Interpolate2dGeometry } from "./backend.ts";

/**
 * The taps of one axis: output index `o` reads input indices `i0[o]` and
 * `i1[o]` with weights `l0[o]` and `l1[o]` (nearest: `i1 = i0`, `l1 = 0`).
 * Both index arrays are non-decreasing in `o`, and `i1[o]` is `i0[o]` or
 * `i0[o] + 1`.
 */
export interface AxisTaps {
  /** First input index per output index. */
  readonly i0: Int32Array;
  /** Second input index per output index. */
  readonly i1: Int32Array;
  /** Weight of `i0`. */
  readonly l0: Float64Array;
  /** Weight of `i1`. */
  readonly l1: Float64Array;
}

/**
 * The scale PyTorch's source-index rules use (`compute_scales_value`,
 * `area_pixel_compute_scale`): with `alignCorners`, `(in − 1)/(out − 1)`
 * (0 for a single output); otherwise `1/scaleFactor` when a scale factor was
 * given, else `in/out`.
 */
function axisScale(inSize: number, outSize: number, scaleFactor: number | null, alignCorners: boolean): number {
  if (alignCorners) return outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  return scaleFactor !== null && scaleFactor > 0 ? 1 / scaleFactor : inSize / outSize;
}

/**
 * The taps of one axis of `inSize` cells resized to `outSize`, by PyTorch's
 * rules: nearest reads `min(⌊o·scale⌋, in − 1)` (the product in float32, as
 * PyTorch computes it; `o` itself when the sizes agree, `o/2` when the output
 * is twice the input); bilinear reads the two cells around
 * `o·scale` (alignCorners) or `max((o + ½)·scale − ½, 0)`.
 */
export function axisTaps(
  inSize: number,
  outSize: number,
  scaleFactor: number | null,
  mode: "nearest" | "bilinear",
  alignCorners: boolean,
): AxisTaps {
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const l0 = new Float64Array(outSize), l1 = new Float64Array(outSize);
  if (mode === "nearest") {
    const scale = Math.fround(axisScale(inSize, outSize, scaleFactor, false));
    for (let o = 0; o < outSize; o++) {
      const src = outSize === inSize
        ? o
        : outSize === 2 * inSize
        ? o >> 1
        : Math.min(Math.floor(Math.fround(o * scale)), inSize - 1);
      i0[o] = i1[o] = src;
      l0[o] = 1;
    }
    return { i0, i1, l0, l1 };
  }
  const scale = axisScale(inSize, outSize, scaleFactor, alignCorners);
  for (let o = 0; o < outSize; o++) {
    const real = alignCorners ? o * scale : Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(real), inSize - 1);
    const lambda = Math.min(Math.max(real - lo, 0), 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    l0[o] = 1 - lambda;
    l1[o] = lambda;
  }
  return { i0, i1, l0, l1 };
}

/** The taps of both axes of an interpolation. */
export function interpolationTaps(g: Interpolate2dGeometry): { h: AxisTaps; w: AxisTaps } {
  return {
    h: axisTaps(g.h, g.outH, g.scaleFactorH, g.mode, g.alignCorners),
    w: axisTaps(g.w, g.outW, g.scaleFactorW, g.mode, g.alignCorners),
  };
}

/**
 * For every input index `i` of an axis, the range `[lo, hi)` of output
 * indices whose taps read it (those whose `i0` is `i − 1` or `i`; the taps
 * are monotone, so they are consecutive): what a backward kernel that gathers
 * per input cell loops over.
 */
export function inverseTaps(taps: AxisTaps, inSize: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(inSize), hi = new Int32Array(inSize);
  const n = taps.i0.length;
  let a = 0, b = 0;
  for (let i = 0; i < inSize; i++) {
    while (a < n && taps.i0[a] < i - 1) a++;
    if (b < a) b = a;
    while (b < n && taps.i0[b] <= i) b++;
    lo[i] = a;
    hi[i] = b;
  }
  return { lo, hi };
}
