/**
 * CPU convolution kernels (forward and both backward kernels), as GEMMs:
 * one image and one group at a time is unfolded (im2col) into a reusable
 * scratch buffer `col[K = cInG·kh·kw][P = outH·outW]`, and the blocked
 * {@link gemm} multiplies it with the weight. A 1×1 convolution with unit
 * stride and no padding reads the input directly, without unfolding.
 *
 * - forward:         `out_g[cOutG, P] = W_g[cOutG, K] · col[K, P]`
 * - backward input:  `col[K, P] = W_gᵀ[K, cOutG] · gradOut_g[cOutG, P]`, folded back (col2im, summing)
 * - backward weight: `dW_g[cOutG, K] += gradOut_g[cOutG, P] · colᵀ[P, K]`, summed over the batch
 *
 * Transposed operands cost nothing: `gemm` takes arbitrary strides.
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { gemm } from "./matmul.ts";

// Scratch buffers reused across calls (grown on demand): the unfolded image and
// a per-image weight-gradient partial. Float64 keeps the accumulation exact
// enough for float64 gradchecks and costs nothing for float32 inputs.
let colScratch = new Float64Array(0);
let wScratch = new Float64Array(0);

function colBuffer(size: number): Float64Array {
  if (colScratch.length < size) colScratch = new Float64Array(size);
  return colScratch;
}

function wBuffer(size: number): Float64Array {
  if (wScratch.length < size) wScratch = new Float64Array(size);
  return wScratch;
}

/** Whether the convolution is a plain per-pixel matrix product (1×1, stride 1, no padding). */
function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;
}

/** First and one-past-last output column whose input column `ow*s - p + kj*d` lies inside `[0, w)`. */
function validRange(outSize: number, inSize: number, stride: number, pad: number, off: number): [number, number] {
  // ow*s - pad + off >= 0  <=>  ow >= (pad - off)/s ; ow*s - pad + off <= in-1  <=>  ow <= (in-1+pad-off)/s
  const lo = Math.max(0, Math.ceil((pad - off) / stride));
  const hi = Math.min(outSize, Math.floor((inSize - 1 + pad - off) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Unfolds channels `c0..c0+cInG` of the image at `xOff` into `col[K][P]`. */
function im2col(x: TypedArray, xOff: number, g: Conv2dGeometry, cInG: number, col: Float64Array): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < cInG; c++) {
    const plane = xOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = row * P;
        const [owLo, owHi] = validRange(outW, w, strideW, padW, kj * dilationW);
        const colOff = kj * dilationW - padW;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + ki * dilationH;
          const dst = base + oh * outW;
          if (ih < 0 || ih >= h) {
            for (let ow = 0; ow < outW; ow++) col[dst + ow] = 0;
            continue;
          }
          for (let ow = 0; ow < owLo; ow++) col[dst + ow] = 0;
          const src = plane + ih * w + colOff;
          if (strideW === 1) {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow];
          } else {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow * strideW];
          }
          for (let ow = owHi; ow < outW; ow++) col[dst + ow] = 0;
        }
      }
    }
  }
}

/** Folds `col[K][P]` back onto channels of the image at `xOff`, summing overlapping windows. */
function col2im(col: Float64Array, x: TypedArray, xOff: number, g: Conv2dGeometry, cInG: number): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < cInG; c++) {
    const plane = xOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = row * P;
        const [owLo, owHi] = validRange(outW, w, strideW, padW, kj * dilationW);
        const colOff = kj * dilationW - padW;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + ki * dilationH;
          if (ih < 0 || ih >= h) continue;
          const src = base + oh * outW;
          const dst = plane + ih * w + colOff;
          for (let ow = owLo; ow < owHi; ow++) x[dst + ow * strideW] += col[src + ow];
        }
      }
    }
  }
}

/** Convolution forward: x `[n,cIn,h,w]`, w `[cOut,cIn/groups,kh,kw]` into out `[n,cOut,outH,outW]`. */
export function conv2dForward(x: TypedArray, wt: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const outOff = (b * g.cOut + gr * cOutG) * P;
      if (col) {
        im2col(x, xOff, g, cInG, col);
        gemm(cOutG, P, K, wt, gr * cOutG * K, K, 1, col, 0, P, 1, out, outOff);
      } else {
        gemm(cOutG, P, K, wt, gr * cOutG * K, K, 1, x, xOff, P, 1, out, outOff);
      }
    }
  }
}

/** Gradient with respect to the input, into out `[n,cIn,h,w]` (overwritten). */
export function conv2dBackwardInput(go: TypedArray, wt: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  out.fill(0);
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const goOff = (b * g.cOut + gr * cOutG) * P;
      // Wᵀ is read in place: row stride 1, column stride K.
      if (col) {
        gemm(K, P, cOutG, wt, gr * cOutG * K, 1, K, go, goOff, P, 1, col, 0);
        col2im(col, out, xOff, g, cInG);
      } else {
        gemm(K, P, cOutG, wt, gr * cOutG * K, 1, K, go, goOff, P, 1, out, xOff);
      }
    }
  }
}

/** Gradient with respect to the weight, into out `[cOut,cIn/groups,kh,kw]` (overwritten). */
export function conv2dBackwardWeight(go: TypedArray, x: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  out.fill(0);
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  const part = wBuffer(cOutG * K);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const goOff = (b * g.cOut + gr * cOutG) * P;
      // colᵀ is read in place: row stride 1, column stride P.
      if (col) {
        im2col(x, xOff, g, cInG, col);
        gemm(cOutG, K, P, go, goOff, P, 1, col, 0, 1, P, part, 0);
      } else {
        gemm(cOutG, K, P, go, goOff, P, 1, x, xOff, 1, P, part, 0);
      }
      const wOff = gr * cOutG * K;
      for (let i = 0; i < cOutG * K; i++) out[wOff + i] += part[i];
    }
  }
}
