/**
 * Unfolding an image into the columns of a convolution's GEMM (im2col) and
 * folding columns back (col2im), shared by the TypeScript convolution kernels,
 * their WebAssembly path and the GEMM worker threads (which unfold their own
 * images straight in the shared WebAssembly heap).
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";

/** Whether the convolution is a plain per-pixel matrix product (1×1, stride 1, no padding). */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;
}

/** First and one-past-last output column whose input column `ow*s - p + kj*d` lies inside `[0, w)`. */
function validRange(outSize: number, inSize: number, stride: number, pad: number, off: number): [number, number] {
  // ow*s - pad + off >= 0  <=>  ow >= (pad - off)/s ; ow*s - pad + off <= in-1  <=>  ow <= (in-1+pad-off)/s
  const lo = Math.max(0, Math.ceil((pad - off) / stride));
  const hi = Math.min(outSize, Math.floor((inSize - 1 + pad - off) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** A float buffer im2col writes into (the Float64 scratch, or the WebAssembly heap). */
export type FloatArray = Float32Array | Float64Array;

/** Unfolds channels `c0..c0+cInG` of the image at `xOff` into `col[K][P]` starting at element `colAt`. */
export function im2col(x: TypedArray, xOff: number, g: Conv2dGeometry, cInG: number, col: FloatArray, colAt = 0): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < cInG; c++) {
    const plane = xOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = colAt + row * P;
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

/** Folds `col[K][P]` (from element `colAt`) back onto channels of the image at `xOff`, summing overlapping windows. */
export function col2im(col: FloatArray, x: TypedArray, xOff: number, g: Conv2dGeometry, cInG: number, colAt = 0): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < cInG; c++) {
    const plane = xOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = colAt + row * P;
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

/**
 * The WebAssembly `unfold` export (see `wasm/gemm_kernel.ts`): the im2col
 * matrix of `channels` channels of one image, at byte addresses (`dst` the
 * matrix, rows `rowBytes` apart; `plane` the first channel).
 */
export type UnfoldFn = (
  dst: number,
  plane: number,
  channels: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  rowBytes: number,
) => void;

/** The WebAssembly `fold` export: the reverse of {@link UnfoldFn}, summing the matrix at `src` into the image. */
export type FoldFn = UnfoldFn;

/** `unfold_padded`: {@link UnfoldFn}'s arguments, then a scratch address for a padded plane. */
export type PaddedFn = (...args: [...Parameters<UnfoldFn>, pad: number]) => void;

/** The SGEMM module's im2col exports, and scratch (`pad`, `padBytes`) `unfold_padded` may use; `pad` -1 for none. */
export interface Im2col {
  readonly unfold: UnfoldFn;
  readonly fold: FoldFn;
  readonly unfoldPadded: PaddedFn;
  readonly pad: number;
  readonly padBytes: number;
}

/**
 * Stride-1 output rows at most this long are unfolded through a zero-padded
 * copy of each channel (`unfold_padded`): on short rows the bounds and zeros
 * of the direct kernel cost more than the copy itself (ResNet-18's 3×3 layers
 * at 16×16 down to 2×2: 1.4-2× faster; 14×14 planes 1.5×).
 */
const PADDED_ROW_MAX = 16;

/** Whether `g`'s images unfold through a padded plane that fits `k`'s scratch. */
function padded(k: Im2col, g: Conv2dGeometry): boolean {
  return k.pad >= 0 && g.strideH === 1 && g.strideW === 1 && g.outW <= PADDED_ROW_MAX &&
    (g.h + 2 * g.padH) * (g.w + 2 * g.padW) * 4 <= k.padBytes;
}

/**
 * {@link im2col} on the WebAssembly heap: the image at byte address `xAt`
 * unfolds into `col[K][P]` at byte address `colAt` in one call;
 * rows lie `rowBytes` apart (wider than a row when several images share `col`).
 */
export function im2colHeap(
  k: Im2col,
  xAt: number,
  g: Conv2dGeometry,
  cInG: number,
  colAt: number,
  rowBytes = g.outH * g.outW * 4,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const args = [
    colAt,
    xAt,
    cInG,
    h,
    w,
    outH,
    outW,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    rowBytes,
  ];
  if (padded(k, g)) k.unfoldPadded(...(args as Parameters<UnfoldFn>), k.pad);
  else k.unfold(...(args as Parameters<UnfoldFn>));
}

/**
 * {@link col2im} on the WebAssembly heap: `col[K][P]` at byte address `colAt`
 * is summed back onto the image at byte address `xAt` in one call
 * (rows `rowBytes` apart).
 */
export function col2imHeap(
  k: Im2col,
  colAt: number,
  xAt: number,
  g: Conv2dGeometry,
  cInG: number,
  rowBytes = g.outH * g.outW * 4,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  k.fold(colAt, xAt, cInG, h, w, outH, outW, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, rowBytes);
}
