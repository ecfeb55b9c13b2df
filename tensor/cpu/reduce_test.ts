import { deepStrictEqual, ok } from "node:assert/strict";
import { reduceStrided } from "./reduce.ts";
import { contiguousStrides, numel } from "../shape.ts";

function randArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = Math.round((s / 2147483648 - 0.5) * 64) / 8;
  }
  return a;
}

/** The reduction by its definition: every output walks every element of its block, in float64. */
function naive(
  op: "sum" | "max" | "min",
  x: Float32Array,
  shape: number[],
  strides: number[],
  kept: number,
): number[] {
  const outShape = shape.slice(0, kept), inShape = shape.slice(kept);
  const res: number[] = [];
  for (let o = 0; o < numel(outShape); o++) {
    let acc = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
    for (let i = 0; i < numel(inShape); i++) {
      let at = 0, rem = o;
      for (let d = kept - 1; d >= 0; d--) at += (rem % shape[d]) * strides[d], rem = Math.floor(rem / shape[d]);
      rem = i;
      for (let d = shape.length - 1; d >= kept; d--) {
        at += (rem % shape[d]) * strides[d], rem = Math.floor(rem / shape[d]);
      }
      const v = x[at];
      acc = op === "sum" ? acc + v : op === "max" ? Math.max(acc, v) : Math.min(acc, v);
    }
    res.push(acc);
  }
  return res;
}

Deno.test("reduceStrided sums, maxes and mins strided blocks like a direct loop", () => {
  // [N, C, H, W] reduced per channel, [N, F] summed over N, and a sliced (offset) view.
  const cases: { shape: number[]; perm: number[]; kept: number; offset?: number }[] = [
    { shape: [4, 3, 5, 6], perm: [1, 0, 2, 3], kept: 1 },
    { shape: [2, 8, 3, 3], perm: [1, 0, 2, 3], kept: 1 },
    { shape: [16, 24], perm: [1, 0], kept: 1 },
    { shape: [3, 5, 12], perm: [2, 0, 1], kept: 1 },
    { shape: [5, 2, 10], perm: [1, 2, 0], kept: 2 },
    { shape: [6, 9, 10], perm: [2, 0, 1], kept: 1, offset: 7 },
  ];
  for (const c of cases) {
    const base = contiguousStrides(c.shape);
    const shape = c.perm.map((d) => c.shape[d]), strides = c.perm.map((d) => base[d]);
    const offset = c.offset ?? 0;
    const x = randArray(numel(c.shape) + offset, 3);
    for (const op of ["sum", "max", "min"] as const) {
      const out = new Float32Array(numel(shape.slice(0, c.kept)));
      const handled = reduceStrided(
        op,
        x,
        offset,
        shape.slice(0, c.kept),
        strides.slice(0, c.kept),
        shape.slice(c.kept),
        strides.slice(c.kept),
        out,
      );
      if (!handled) {
        ok(op !== "sum", `sum over ${JSON.stringify(shape)} should take a strided path`);
        continue;
      }
      const ref = naive(op, x.subarray(offset), shape, strides, c.kept);
      // Values are multiples of 1/8, so every summation order gives the exact result.
      deepStrictEqual([...out], ref.map((v) => Math.fround(v)), `${op} ${JSON.stringify(c)}`);
    }
  }
});

Deno.test("reduceStrided propagates NaN through max and min", () => {
  const x = new Float32Array(32).fill(1);
  x[13] = NaN;
  const out = new Float32Array(2);
  // [2, 16] viewed as kept dim 2 (stride 1) over 16 rows of stride 2: the rows path does not apply to max.
  ok(reduceStrided("max", x, 0, [2], [16], [2, 8], [8, 1], out));
  ok(Number.isNaN(out[0]) && out[1] === 1);
});
