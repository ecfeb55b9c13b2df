/**
 * CPU reductions over a contiguous trailing block of `inner` elements, one
 * output per leading index (the leading dims may be strided).
 *
 * @module
 */

import type { ReduceOp } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { numel, type Shape } from "../shape.ts";

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
