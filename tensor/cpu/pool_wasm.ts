/**
 * Dispatch of the pooling kernels to WebAssembly SIMD (`wasm/pool_kernel.ts`)
 * for float32 tensors whose storage lives in the shared heap.
 *
 * Each function takes the same contiguous NCHW arrays (starting at element 0)
 * and geometry as its TypeScript twin in `pool.ts` and gives the same bits:
 * the same argmax and tie-breaking (first of equal maxima, first NaN), the
 * same float64 averages, the same order of additions in the backward passes.
 * It returns `true` when it did the work and `false`, having written nothing,
 * when it does not apply (WebAssembly SIMD unavailable, an operand not
 * float32 or not in the heap, arrays shorter than the geometry, or a geometry
 * out of range), so the caller runs `pool.ts` instead.
 *
 * @module
 */

import type { Pool2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { heapAddress, wasmOps } from "./wasm/runtime.ts";

/** Coordinates stay far below 2³¹ in every index computation the kernels make. */
const LIMIT = 2 ** 29;

function small(...vs: number[]): boolean {
  for (const v of vs) if (!Number.isInteger(v) || v < 0 || v >= LIMIT) return false;
  return true;
}

/** Whether the kernels can take this geometry: integers in range, positive kernel, stride and dilation. */
function usable(g: Pool2dGeometry): boolean {
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  if (!small(n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW)) return false;
  if (kh < 1 || kw < 1 || strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1) return false;
  return small(
    n * c,
    n * c * h * w,
    n * c * outH * outW,
    outH * strideH + padH + kh * dilationH + h,
    outW * strideW + padW + kw * dilationW + w,
  );
}

/** The heap addresses of the arrays, or null when one is not in the heap. */
function addresses(...arrays: ArrayBufferView[]): number[] | null {
  const out: number[] = [];
  for (const a of arrays) {
    const at = heapAddress(a);
    if (at < 0) return null;
    out.push(at);
  }
  return out;
}

/**
 * The outputs `[lo, hi)` of a row whose windows (`k` taps `d` apart, from
 * column `ow·s − pad`) lie inside `[0, w)`: the ones the kernels vectorise.
 */
function insideRange(w: number, k: number, s: number, pad: number, d: number, outW: number): [number, number] {
  const lo = Math.min(outW, Math.ceil(pad / s));
  const hi = Math.floor((w - 1 + pad - (k - 1) * d) / s) + 1;
  return [lo, Math.max(lo, Math.min(outW, hi))];
}

/**
 * Max pooling forward into `out` and the flat `h·w` index of each window's
 * maximum into `idx`, as `pool.ts`'s `maxPool2d`. Returns false (nothing
 * written) when it does not apply.
 *
 * @example
 * ```ts
 * import { wasmMaxPool2d } from "./pool_wasm.ts";
 * import { maxPool2d } from "./pool.ts";
 * import type { Pool2dGeometry } from "../backend.ts";
 * declare const x: Float32Array, out: Float32Array, idx: Int32Array, g: Pool2dGeometry;
 * if (!wasmMaxPool2d(x, out, idx, g)) maxPool2d(x, out, idx, g);
 * ```
 */
export function wasmMaxPool2d(x: TypedArray, out: TypedArray, idx: Int32Array, g: Pool2dGeometry): boolean {
  if (!(x instanceof Float32Array) || !(out instanceof Float32Array) || !(idx instanceof Int32Array)) return false;
  const ops = wasmOps();
  if (!ops || !ops.pool_max_s1 || !usable(g)) return false;
  const planes = g.n * g.c, P = planes * g.outH * g.outW;
  if (x.length < planes * g.h * g.w || out.length < P || idx.length < P) return false;
  const at = addresses(x, out, idx);
  if (!at) return false;
  if (P === 0) return true;
  const { kw, strideW: sw, dilationW: dw } = g;
  let kernel = ops.pool_max_s1;
  let [lo, hi] = insideRange(g.w, kw, sw, g.padW, dw, g.outW);
  if (dw === 1 && sw === 2 && kw === 2) kernel = ops.pool_max_k2s2;
  else if (dw === 1 && sw === 2 && kw === 3) kernel = ops.pool_max_k3s2;
  else if (dw === 1 && sw === 1 && kw === 3) kernel = ops.pool_max_k3s1;
  else if (sw === 2) kernel = ops.pool_max_s2;
  else if (sw !== 1) lo = hi = 0; // wider strides: the scalar path for every output
  const geometry = [g.h, g.w, g.kh, kw, g.strideH, sw, g.padH, g.padW, g.dilationH, dw, g.outH, g.outW];
  kernel(at[0], at[1], at[2], planes, ...geometry, lo, hi);
  return true;
}

/**
 * Max pooling backward: adds each output gradient of `go` at its argmax in
 * `idx` into `out` `[n,c,h,w]` (zeroed by the caller; added to, as
 * `pool.ts`'s `maxPool2dBackward`). Returns false (nothing written) when it
 * does not apply.
 *
 * @example
 * ```ts
 * import { wasmMaxPool2dBackward } from "./pool_wasm.ts";
 * import { maxPool2dBackward } from "./pool.ts";
 * import type { Pool2dGeometry } from "../backend.ts";
 * declare const go: Float32Array, idx: Int32Array, dx: Float32Array, g: Pool2dGeometry;
 * if (!wasmMaxPool2dBackward(go, idx, dx, g)) maxPool2dBackward(go, idx, dx, g);
 * ```
 */
export function wasmMaxPool2dBackward(go: TypedArray, idx: Int32Array, out: TypedArray, g: Pool2dGeometry): boolean {
  if (!(go instanceof Float32Array) || !(out instanceof Float32Array) || !(idx instanceof Int32Array)) return false;
  const ops = wasmOps();
  if (!ops || !ops.pool_max_bwd || !usable(g)) return false;
  const planes = g.n * g.c, plane = g.h * g.w, P = g.outH * g.outW;
  if (go.length < planes * P || idx.length < planes * P || out.length < planes * plane) return false;
  const at = addresses(go, idx, out);
  if (!at) return false;
  if (planes * P === 0) return true;
  // A plain scatter beats writing whole windows with vectors even for 2×2 windows: it touches a quarter of the cells.
  ops.pool_max_bwd(at[0], at[1], at[2], planes, plane, P);
  return true;
}

function avgArgs(g: Pool2dGeometry): number[] {
  return [
    g.n * g.c,
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.strideH,
    g.strideW,
    g.padH,
    g.padW,
    g.countIncludePad ? 1 : 0,
    g.outH,
    g.outW,
  ];
}

/**
 * Average pooling forward into `out`, as `pool.ts`'s `avgPool2d` (windows
 * clipped to the input, the divisor per `countIncludePad`, no dilation).
 * Returns false (nothing written) when it does not apply.
 *
 * @example
 * ```ts
 * import { wasmAvgPool2d } from "./pool_wasm.ts";
 * import { avgPool2d } from "./pool.ts";
 * import type { Pool2dGeometry } from "../backend.ts";
 * declare const x: Float32Array, out: Float32Array, g: Pool2dGeometry;
 * if (!wasmAvgPool2d(x, out, g)) avgPool2d(x, out, g);
 * ```
 */
export function wasmAvgPool2d(x: TypedArray, out: TypedArray, g: Pool2dGeometry): boolean {
  if (!(x instanceof Float32Array) || !(out instanceof Float32Array)) return false;
  const ops = wasmOps();
  if (!ops || !ops.pool_avg_s1 || !usable(g)) return false;
  const planes = g.n * g.c;
  if (x.length < planes * g.h * g.w || out.length < planes * g.outH * g.outW) return false;
  const at = addresses(x, out);
  if (!at) return false;
  if (planes * g.outH * g.outW === 0) return true;
  let [lo, hi] = insideRange(g.w, g.kw, g.strideW, g.padW, 1, g.outW);
  if (g.strideW > 2) lo = hi = 0;
  (g.strideW === 2 ? ops.pool_avg_s2 : ops.pool_avg_s1)(at[0], at[1], ...avgArgs(g), lo, hi);
  return true;
}

/**
 * Average pooling backward: spreads each output gradient of `go` evenly over
 * its window, added into `out` `[n,c,h,w]`, as `pool.ts`'s
 * `avgPool2dBackward`. Returns false (nothing written) when it does not
 * apply.
 *
 * @example
 * ```ts
 * import { wasmAvgPool2dBackward } from "./pool_wasm.ts";
 * import { avgPool2dBackward } from "./pool.ts";
 * import type { Pool2dGeometry } from "../backend.ts";
 * declare const go: Float32Array, dx: Float32Array, g: Pool2dGeometry;
 * if (!wasmAvgPool2dBackward(go, dx, g)) avgPool2dBackward(go, dx, g);
 * ```
 */
export function wasmAvgPool2dBackward(go: TypedArray, out: TypedArray, g: Pool2dGeometry): boolean {
  if (!(go instanceof Float32Array) || !(out instanceof Float32Array)) return false;
  const ops = wasmOps();
  if (!ops || !ops.pool_avg_bwd_w2s2 || !usable(g)) return false;
  const planes = g.n * g.c;
  if (go.length < planes * g.outH * g.outW || out.length < planes * g.h * g.w) return false;
  const at = addresses(go, out);
  if (!at) return false;
  if (planes * g.outH * g.outW === 0) return true;
  const [lo, hi] = insideRange(g.w, g.kw, g.strideW, g.padW, 1, g.outW);
  // Windows 2 wide at column stride 2 never share a cell within a row: vectors (exact order kept).
  if (g.kw === 2 && g.strideW === 2) ops.pool_avg_bwd_w2s2(at[0], at[1], ...avgArgs(g), lo, hi);
  else ops.pool_avg_bwd(at[0], at[1], ...avgArgs(g), 0, 0);
  return true;
}
