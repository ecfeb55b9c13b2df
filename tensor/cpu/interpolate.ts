/**
 * CPU interpolation kernels over contiguous NCHW planes, on the taps of
 * `interpolationTaps` (PyTorch's source-index rules): the forward gathers the
 * (up to) four taps of each output cell, the backward scatters each output
 * gradient back onto them.
 *
 * @module
 */

import type { Interpolate2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { interpolationTaps } from "../interpolation.ts";

/** `out[p, oh, ow] = Σ weights · x[p, taps]` (out overwritten). */
export function interpolate2d(x: TypedArray, out: TypedArray, g: Interpolate2dGeometry): void {
  const { h, w, outH, outW } = g;
  const t = interpolationTaps(g);
  const planes = g.n * g.c;
  if (g.mode === "nearest") {
    for (let p = 0; p < planes; p++) {
      const base = p * h * w;
      let o = p * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        const row = base + t.h.i0[oh] * w;
        for (let ow = 0; ow < outW; ow++, o++) out[o] = x[row + t.w.i0[ow]];
      }
    }
    return;
  }
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    let o = p * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = base + t.h.i0[oh] * w, r1 = base + t.h.i1[oh] * w, a0 = t.h.l0[oh], a1 = t.h.l1[oh];
      for (let ow = 0; ow < outW; ow++, o++) {
        const c0 = t.w.i0[ow], c1 = t.w.i1[ow], b0 = t.w.l0[ow], b1 = t.w.l1[ow];
        out[o] = a0 * (b0 * x[r0 + c0] + b1 * x[r0 + c1]) + a1 * (b0 * x[r1 + c0] + b1 * x[r1 + c1]);
      }
    }
  }
}

/** The gradient of {@link interpolate2d}: each `gradOut` cell added onto its taps, into out `[n,c,h,w]` (overwritten). */
export function interpolate2dBackward(go: TypedArray, out: TypedArray, g: Interpolate2dGeometry): void {
  const { h, w, outH, outW } = g;
  const t = interpolationTaps(g);
  const planes = g.n * g.c;
  // Sums go through a float64 plane, so float32 gradients are rounded once.
  const acc = new Float64Array(h * w);
  if (g.mode === "nearest") {
    // One tap per output cell (weight 1): the four-tap loop below would do four times the work.
    for (let p = 0; p < planes; p++) {
      acc.fill(0);
      let o = p * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        const row = t.h.i0[oh] * w;
        for (let ow = 0; ow < outW; ow++, o++) acc[row + t.w.i0[ow]] += go[o];
      }
      out.set(acc, p * h * w);
    }
    return;
  }
  for (let p = 0; p < planes; p++) {
    acc.fill(0);
    let o = p * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = t.h.i0[oh] * w, r1 = t.h.i1[oh] * w, a0 = t.h.l0[oh], a1 = t.h.l1[oh];
      for (let ow = 0; ow < outW; ow++, o++) {
        const v = go[o];
        const c0 = t.w.i0[ow], c1 = t.w.i1[ow], b0 = t.w.l0[ow] * v, b1 = t.w.l1[ow] * v;
        acc[r0 + c0] += a0 * b0;
        acc[r0 + c1] += a0 * b1;
        acc[r1 + c0] += a1 * b0;
        acc[r1 + c1] += a1 * b1;
      }
    }
    out.set(acc, p * h * w);
  }
}
