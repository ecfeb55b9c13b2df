/**
 * CPU reductions over a contiguous trailing block of `inner` elements, one
 * output per leading index (the leading dims may be strided).
 *
 * @module
 */

import type { ReduceOp } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { collapseDims, numel, type Shape } from "../shape.ts";

/** Reduces each contiguous run of `inner` elements into `out`. */
export function reduceKernel(
  op: ReduceOp,
  x: TypedArray,
  offset: number,
  outerShape: Shape,
  outerStrides: readonly number[],
  inner: number,
  out: TypedArray,
): void {
  const outer = numel(outerShape);
  const nd = outerShape.length;
  const pos = new Array<number>(nd).fill(0);
  let base = offset;
  for (let r = 0; r < outer; r++) {
    out[r] = reduceRun(op, x, base, inner);
    for (let d = nd - 1; d >= 0; d--) {
      base += outerStrides[d];
      if (++pos[d] < outerShape[d]) break;
      base -= outerStrides[d] * outerShape[d];
      pos[d] = 0;
    }
  }
}

function reduceRun(op: ReduceOp, x: TypedArray, b: number, n: number): number {
  const end = b + n;
  switch (op) {
    case "sum": {
      // Pairs of accumulators shorten the dependency chain; float64 keeps float32 sums exact enough.
      let s0 = 0, s1 = 0;
      let i = b;
      for (; i + 1 < end; i += 2) {
        s0 += x[i];
        s1 += x[i + 1];
      }
      if (i < end) s0 += x[i];
      return s0 + s1;
    }
    case "prod": {
      let p = 1;
      for (let i = b; i < end; i++) p *= x[i];
      return p;
    }
    case "max": {
      let m = -Infinity;
      for (let i = b; i < end; i++) {
        const v = x[i];
        if (v > m || v !== v) {
          m = v;
          if (v !== v) break;
        }
      }
      return m;
    }
    case "min": {
      let m = Infinity;
      for (let i = b; i < end; i++) {
        const v = x[i];
        if (v < m || v !== v) {
          m = v;
          if (v !== v) break;
        }
      }
      return m;
    }
    case "argmax": {
      let m = -Infinity, at = 0;
      for (let i = b; i < end; i++) {
        const v = x[i];
        if (v > m || v !== v) {
          m = v;
          at = i - b;
          if (v !== v) break;
        }
      }
      return at;
    }
    case "argmin": {
      let m = Infinity, at = 0;
      for (let i = b; i < end; i++) {
        const v = x[i];
        if (v < m || v !== v) {
          m = v;
          at = i - b;
          if (v !== v) break;
        }
      }
      return at;
    }
  }
}

/**
 * Sum, max or min over a strided trailing block, without first copying it
 * to contiguous memory (what `sum over dim 0` and the per-channel sums of
 * NCHW tensors need). Two loop orders, picked by the memory layout:
 *
 * - the block's innermost dim is contiguous (per-channel sums over `[N, C, H, W]`):
 *   each output reduces its contiguous runs one after the other;
 * - the kept dims' innermost is contiguous (`[N, F]` summed over N): the
 *   block's positions run outside and each adds a contiguous row of outputs
 *   into a float64 accumulator, so memory is read in order.
 *
 * Returns false when neither layout applies (or the op is another), and the
 * caller copies the block to contiguous memory instead.
 */
export function reduceStrided(
  op: ReduceOp,
  x: TypedArray,
  offset: number,
  outerShape: Shape,
  outerStrides: readonly number[],
  innerShape: Shape,
  innerStrides: readonly number[],
  out: TypedArray,
): boolean {
  if (op !== "sum" && op !== "max" && op !== "min") return false;
  const inner = collapse(innerShape, innerStrides);
  const outer = collapse(outerShape, outerStrides);
  const ni = inner.shape.length, no = outer.shape.length;
  if (inner.strides[ni - 1] === 1 && inner.shape[ni - 1] >= 8) {
    runsOfRuns(op, x, offset, outer, inner, out);
    return true;
  }
  if (op === "sum" && outer.strides[no - 1] === 1 && outer.shape[no - 1] >= 8) {
    sumRows(x, offset, outer, inner, out);
    return true;
  }
  return false;
}

/** A block of dims with their strides. */
export interface Dims {
  /** Sizes. */
  shape: number[];
  /** Element strides. */
  strides: number[];
}

/**
 * Merges adjacent dims that are contiguous with each other and drops size-1
 * dims; at least one dim remains (an empty block becomes `[1]` with stride 0).
 * `collapseDims` for a single view.
 */
export function collapse(shape: Shape, strides: readonly number[]): Dims {
  const c = collapseDims(shape, [strides]);
  return { shape: c.shape, strides: c.strides[0] };
}

/**
 * Calls `fn(at, index)` for every position of `dims` in row-major order, with
 * `at` its element offset (starting from `base`) and `index` its ordinal;
 * empty `dims` is one position, at `base`.
 */
export function forEachOffset(dims: Dims, base: number, fn: (at: number, index: number) => void): void {
  const nd = dims.shape.length;
  const total = numel(dims.shape);
  const pos = new Array<number>(nd).fill(0);
  let at = base;
  for (let r = 0; r < total; r++) {
    fn(at, r);
    for (let d = nd - 1; d >= 0; d--) {
      at += dims.strides[d];
      if (++pos[d] < dims.shape[d]) break;
      at -= dims.strides[d] * dims.shape[d];
      pos[d] = 0;
    }
  }
}

function runsOfRuns(op: ReduceOp, x: TypedArray, offset: number, outer: Dims, inner: Dims, out: TypedArray): void {
  const ni = inner.shape.length;
  const run = inner.shape[ni - 1];
  const rest: Dims = { shape: inner.shape.slice(0, ni - 1), strides: inner.strides.slice(0, ni - 1) };
  let r = 0;
  forEachOffset(outer, offset, (base) => {
    let acc = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
    let nan = false;
    forEachOffset(rest, base, (at) => {
      if (nan) return;
      const v = reduceRun(op, x, at, run);
      if (op === "sum") acc += v;
      else if (v !== v) {
        acc = v;
        nan = true;
      } else if (op === "max" ? v > acc : v < acc) acc = v;
    });
    out[r++] = acc;
  });
}

let accScratch = new Float64Array(0);

function sumRows(x: TypedArray, offset: number, outer: Dims, inner: Dims, out: TypedArray): void {
  const no = outer.shape.length;
  const row = outer.shape[no - 1];
  const rows: Dims = { shape: outer.shape.slice(0, no - 1), strides: outer.strides.slice(0, no - 1) };
  if (accScratch.length < row) accScratch = new Float64Array(row);
  const acc = accScratch;
  let o = 0;
  forEachOffset(rows, offset, (base) => {
    acc.fill(0, 0, row);
    forEachOffset(inner, base, (at) => {
      for (let j = 0; j < row; j++) acc[j] += x[at + j];
    });
    for (let j = 0; j < row; j++) out[o + j] = acc[j];
    o += row;
  });
}
