/**
 * The CPU gather and scatter kernels (`Backend.gather`, `Backend.scatterReduce`, `Backend.scatterAdd`): every index is
 * range-checked first (so a bad one throws before `out` changes), then one pass walks the index with running offsets.
 * An index that is the same along the innermost dim — a graph's edge index or an embedding's token ids broadcast over
 * the features — is read once per row and the row is moved as a unit: float32 scatter-sums add whole rows with the
 * WebAssembly SIMD `mem_add_f32` kernel, other rows run as tight TypeScript loops per combine op.
 *
 * @module
 */

import type { ScatterReduceOp, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { contiguousStrides, numel, type Shape } from "../shape.ts";
import { cpuData } from "./storage.ts";
import { getCpuKernels } from "./kernels.ts";
import { heapAddress, wasmOps } from "./wasm/runtime.ts";

/** Combines `n` source elements `s[si]` (step `ds`) into `o[oi + id[ii]·dimStride]` (steps `doStep` and `di`). */
type InnerLoop = (
  o: TypedArray,
  s: ArrayLike<number>,
  id: ArrayLike<number>,
  n: number,
  oi: number,
  doStep: number,
  dimStride: number,
  si: number,
  ds: number,
  ii: number,
  di: number,
) => void;

const LOOPS: Record<ScatterReduceOp, InnerLoop> = {
  assign: (o, s, id, n, oi, doStep, dimStride, si, ds, ii, di) => {
    for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) o[oi + id[ii] * dimStride] = s[si];
  },
  sum: (o, s, id, n, oi, doStep, dimStride, si, ds, ii, di) => {
    for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) o[oi + id[ii] * dimStride] += s[si];
  },
  prod: (o, s, id, n, oi, doStep, dimStride, si, ds, ii, di) => {
    if (o instanceof Int32Array) {
      // Wrap-around like int32 arithmetic: a float product of two int32 values loses low bits past 2^53.
      for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) {
        const p = oi + id[ii] * dimStride;
        o[p] = Math.imul(o[p], s[si]);
      }
      return;
    }
    for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) o[oi + id[ii] * dimStride] *= s[si];
  },
  amax: (o, s, id, n, oi, doStep, dimStride, si, ds, ii, di) => {
    for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) {
      const p = oi + id[ii] * dimStride, v = s[si];
      if (v > o[p] || v !== v) o[p] = v; // NaN wins, and a NaN already there stays (v > NaN is false)
    }
  },
  amin: (o, s, id, n, oi, doStep, dimStride, si, ds, ii, di) => {
    for (let k = 0; k < n; k++, oi += doStep, si += ds, ii += di) {
      const p = oi + id[ii] * dimStride, v = s[si];
      if (v < o[p] || v !== v) o[p] = v;
    }
  },
};

/**
 * Combines `n` source elements `s[si]` (step `ds`) into `o[base]` (step `doStep`): the row case, where the index is
 * the same along the innermost dim (a graph's edge index broadcast over the features), so it is read once per row.
 */
type RowLoop = (
  o: TypedArray,
  s: ArrayLike<number>,
  n: number,
  base: number,
  doStep: number,
  si: number,
  ds: number,
) => void;

const ROW_LOOPS: Record<ScatterReduceOp, RowLoop> = {
  assign: (o, s, n, base, doStep, si, ds) => {
    for (let k = 0; k < n; k++, base += doStep, si += ds) o[base] = s[si];
  },
  sum: (o, s, n, base, doStep, si, ds) => {
    if (doStep === 1 && ds === 1) {
      for (let k = 0; k < n; k++) o[base + k] += s[si + k];
      return;
    }
    for (let k = 0; k < n; k++, base += doStep, si += ds) o[base] += s[si];
  },
  prod: (o, s, n, base, doStep, si, ds) => {
    if (o instanceof Int32Array) {
      for (let k = 0; k < n; k++, base += doStep, si += ds) o[base] = Math.imul(o[base], s[si]);
      return;
    }
    for (let k = 0; k < n; k++, base += doStep, si += ds) o[base] *= s[si];
  },
  amax: (o, s, n, base, doStep, si, ds) => {
    for (let k = 0; k < n; k++, base += doStep, si += ds) {
      const v = s[si];
      if (v > o[base] || v !== v) o[base] = v;
    }
  },
  amin: (o, s, n, base, doStep, si, ds) => {
    for (let k = 0; k < n; k++, base += doStep, si += ds) {
      const v = s[si];
      if (v < o[base] || v !== v) o[base] = v;
    }
  },
};

/** A one-element array read with stride 0 stands for a scalar source. */
const scalarSource = new Float64Array(1);

/**
 * Scatters `src` (a view of the index's shape, or a number) into the contiguous `out` of `outShape` along `dim`
 * with `op`, after checking every index; `kernel` names the op in the error. See `Backend.scatterReduce`.
 */
export function scatterReduce(
  kernel: string,
  op: ScatterReduceOp,
  out: TypedArray,
  outShape: Shape,
  dim: number,
  index: View,
  src: View | number,
): void {
  const total = numel(index.shape);
  if (total === 0) return;
  // A 0-d scatter is a 1-element one along dim 0.
  const shape = index.shape.length ? index.shape : [1];
  const nd = shape.length;
  const oStr = outShape.length ? contiguousStrides(outShape) : [1];
  const iStr = index.shape.length ? index.strides : [0];
  const id = cpuData(index.storage);
  const size = outShape.length ? outShape[dim] : 1;
  checkRange(kernel, id, index.offset, shape, iStr, dim, size);

  let s: ArrayLike<number>, sOff: number, sStr: readonly number[];
  if (typeof src === "number") {
    scalarSource[0] = src;
    s = scalarSource;
    sOff = 0;
    sStr = shape.map(() => 0);
  } else {
    s = cpuData(src.storage);
    sOff = src.offset;
    sStr = src.shape.length ? src.strides : [0];
  }
  const last = nd - 1, n = shape[last];
  const doStep = last === dim ? 0 : oStr[last], dimStride = oStr[dim];
  const inner = LOOPS[op];
  const rowWise = iStr[last] === 0 || n === 1;
  const row = (op === "sum" && rowWise && doStep === 1 && sStr[last] === 1 && wasmRowSum(out, s, n)) || ROW_LOOPS[op];
  const pos = new Array<number>(nd).fill(0);
  let ii = index.offset, si = sOff, oi = 0;
  for (let done = 0; done < total; done += n) {
    if (rowWise) row(out, s, n, oi + id[ii] * dimStride, doStep, si, sStr[last]);
    else inner(out, s, id, n, oi, doStep, dimStride, si, sStr[last], ii, iStr[last]);
    // Advance the odometer over the outer dims, keeping the three running offsets.
    for (let d = last - 1; d >= 0; d--) {
      const od = d === dim ? 0 : oStr[d];
      if (++pos[d] < shape[d]) {
        ii += iStr[d];
        si += sStr[d];
        oi += od;
        break;
      }
      pos[d] = 0;
      ii -= iStr[d] * (shape[d] - 1);
      si -= sStr[d] * (shape[d] - 1);
      oi -= od * (shape[d] - 1);
    }
  }
}

/**
 * Gathers `a` along `dim` at `index` into the contiguous `out` of the index's shape (`out[e] = a[..., index[e], ...]`),
 * after checking every index. See `Backend.gather`.
 */
export function gather(a: View, dim: number, index: View, out: TypedArray): void {
  const total = numel(index.shape);
  if (total === 0) return;
  const shape = index.shape.length ? index.shape : [1];
  const nd = shape.length, last = nd - 1, n = shape[last];
  const iStr = index.shape.length ? index.strides : [0];
  const aStr = a.shape.length ? a.strides : [0];
  const id = cpuData(index.storage), ad = cpuData(a.storage);
  checkRange("gather", id, index.offset, shape, iStr, dim, a.shape.length ? a.shape[dim] : 1);
  const aIn = last === dim ? 0 : aStr[last], dimStride = aStr[dim], iIn = iStr[last];
  const rowWise = iIn === 0 || n === 1;
  const pos = new Array<number>(nd).fill(0);
  let ii = index.offset, ai = a.offset;
  for (let e = 0; e < total; e += n) {
    if (rowWise) {
      const base = ai + id[ii] * dimStride;
      if (aIn === 1) { for (let k = 0; k < n; k++) out[e + k] = ad[base + k]; }
      else for (let k = 0, p = base; k < n; k++, p += aIn) out[e + k] = ad[p];
    } else {
      for (let k = 0, p = ai, q = ii; k < n; k++, p += aIn, q += iIn) out[e + k] = ad[p + id[q] * dimStride];
    }
    for (let d = last - 1; d >= 0; d--) {
      const aStep = d === dim ? 0 : aStr[d];
      if (++pos[d] < shape[d]) {
        ii += iStr[d];
        ai += aStep;
        break;
      }
      pos[d] = 0;
      ii -= iStr[d] * (shape[d] - 1);
      ai -= aStep * (shape[d] - 1);
    }
  }
}

/** Rows shorter than this are summed by the TypeScript loop (a call into WebAssembly costs about as much). */
const WASM_MIN_ROW = 16;

/**
 * A row loop that adds contiguous float32 rows with the WebAssembly SIMD `mem_add_f32` kernel (4 lanes at a time, each
 * sum rounded once, as the TypeScript loop does), when both arrays live in the heap; else null.
 */
function wasmRowSum(out: TypedArray, src: ArrayLike<number>, n: number): RowLoop | null {
  if (n < WASM_MIN_ROW || getCpuKernels() !== "wasm") return null;
  if (!(out instanceof Float32Array) || !(src instanceof Float32Array)) return null;
  const ops = wasmOps(), o = heapAddress(out), s = heapAddress(src);
  if (!ops || o < 0 || s < 0) return null;
  return (_o, _s, n, base, _doStep, si) => ops.mem_add_f32(o + base * 4, s + si * 4, n);
}

/** Throws a RangeError naming `kernel` and the first index outside `[0, size)`. */
function checkRange(
  kernel: string,
  id: ArrayLike<number>,
  offset: number,
  shape: Shape,
  strides: readonly number[],
  dim: number,
  size: number,
): void {
  const nd = shape.length, last = nd - 1, n = shape[last], step = strides[last];
  const total = numel(shape);
  const pos = new Array<number>(nd).fill(0);
  let ii = offset;
  // An index broadcast along the innermost dim (stride 0) is checked once per row.
  const m = step === 0 ? 1 : n;
  for (let done = 0; done < total; done += n) {
    for (let k = 0, p = ii; k < m; k++, p += step) {
      const j = id[p];
      if (!(j >= 0 && j < size)) {
        throw new RangeError(`${kernel}: index ${j} is out of range for dimension ${dim} of size ${size}`);
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++pos[d] < shape[d]) {
        ii += strides[d];
        break;
      }
      pos[d] = 0;
      ii -= strides[d] * (shape[d] - 1);
    }
  }
}
