import { deepStrictEqual, ok } from "node:assert/strict";
import type { ReduceOp, View } from "../backend.ts";
import { contiguousStrides, numel } from "../shape.ts";
import { cpuBackend, CpuStorage } from "./backend.ts";
import { wasmReduce } from "./reduce_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapArray, heapF32, ulp } from "./wasm_test_util.ts";

const HAVE_WASM = wasmOps() !== null;

function fillRandom(a: Float32Array, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 0.5) * scale; // biased positive so sums do not cancel to noise
  }
  return a;
}

/** The reduction by its definition, in float64: each output walks its block in row-major order. */
function naive(op: "sum" | "max" | "min", x: Float32Array, v: View, reduceDims: number): number[] {
  const kept = v.shape.length - reduceDims;
  const outShape = v.shape.slice(0, kept), inShape = v.shape.slice(kept);
  const res: number[] = [];
  for (let o = 0; o < numel(outShape); o++) {
    let acc = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
    for (let i = 0; i < numel(inShape); i++) {
      let at = v.offset, rem = o;
      for (let d = kept - 1; d >= 0; d--) at += (rem % v.shape[d]) * v.strides[d], rem = Math.floor(rem / v.shape[d]);
      rem = i;
      for (let d = v.shape.length - 1; d >= kept; d--) {
        at += (rem % v.shape[d]) * v.strides[d], rem = Math.floor(rem / v.shape[d]);
      }
      const e = x[at];
      acc = op === "sum" ? acc + e : op === "max" ? Math.max(acc, e) : Math.min(acc, e);
    }
    res.push(acc);
  }
  return res;
}

/** Runs wasmReduce and checks it applied and matches the definition (sums within a float32 ulp, max/min exact). */
function check(op: "sum" | "max" | "min", x: Float32Array, v: View, reduceDims: number, label: string): void {
  const outLen = numel(v.shape.slice(0, v.shape.length - reduceDims));
  const out = heapF32(outLen + 3).fill(-7);
  ok(wasmReduce(op, v, reduceDims, new CpuStorage(out)), `${label}: applies`);
  const want = naive(op, x, v, reduceDims);
  for (let i = 0; i < outLen; i++) {
    if (op === "sum") {
      ok(Math.abs(out[i] - want[i]) <= ulp(want[i]), `${label} ${op}[${i}]: ${out[i]} vs ${want[i]}`);
    } else deepStrictEqual(out[i], Math.fround(want[i]), `${label} ${op}[${i}]`);
  }
  deepStrictEqual([...out.subarray(outLen)], [-7, -7, -7], `${label}: nothing written past the output`);
}

/** The view `Backend.reduce` gets for `x.op(dims)`: kept dims first, reduced dims last (as ops/reduce.ts permutes). */
function permuted(
  x: Float32Array,
  shape: number[],
  dims: number[],
  offset = 0,
  strides = contiguousStrides(shape),
): View {
  const keptDims = shape.map((_, i) => i).filter((d) => !dims.includes(d));
  const perm = [...keptDims, ...dims];
  return {
    storage: new CpuStorage(x),
    shape: perm.map((d) => shape[d]),
    strides: perm.map((d) => strides[d]),
    offset,
  };
}

const OPS = ["sum", "max", "min"] as const;

Deno.test({
  name: "wasmReduce: rows of a matrix over the last dim (tails, offsets, long rows)",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const rows of [1, 3, 32]) {
        for (const cols of [1, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 256, 1000, 1031]) {
          for (const offset of [0, 3]) {
            const x = fillRandom(heapF32(offset + rows * cols + 2), rows * 1000 + cols);
            const v: View = { storage: new CpuStorage(x), shape: [rows, cols], strides: [cols, 1], offset };
            for (const op of OPS) check(op, x, v, 1, `[${rows},${cols}] @${offset}`);
          }
        }
      }
      // [128, 256] and [32, 10], the sizes of a classifier's logits and hidden layers.
      for (const [r, c] of [[128, 256], [32, 10]]) {
        const x = fillRandom(heapF32(r * c), r + c);
        for (const op of OPS) check(op, x, permuted(x, [r, c], [1]), 1, `[${r},${c}] over 1`);
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: sums over all but one middle dim (the conv-bias gradient x.sum([0, 2, 3]))",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (
        const [n, c, h, w] of [[2, 3, 1, 1], [3, 5, 1, 3], [2, 4, 3, 3], [4, 3, 5, 7], [3, 2, 16, 17], [32, 32, 28, 28]]
      ) {
        const x = fillRandom(heapF32(n * c * h * w + 5), n * 31 + h);
        for (const offset of [0, 5]) {
          const v = permuted(x, [n, c, h, w], [0, 2, 3], offset);
          for (const op of OPS) check(op, x, v, 3, `[${n},${c},${h},${w}] over [0,2,3] @${offset}`);
        }
      }
      // A long reduction: 1M values into one output stays within a float32 ulp (float64 accumulation).
      const big = fillRandom(heapF32(1 << 20), 9, 3);
      check("sum", big, { storage: new CpuStorage(big), shape: [1 << 20], strides: [1], offset: 0 }, 1, "1M");
      check("sum", big, permuted(big, [64, 4, 64, 64], [0, 2, 3]), 3, "[64,4,64,64] over [0,2,3]");
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: columns ([N, F] over N, the linear-bias gradient) and blocks with leading kept dims",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const n of [1, 2, 7, 300]) {
        for (const f of [1, 3, 4, 5, 8, 9, 17, 100]) {
          const x = fillRandom(heapF32(n * f + 1), n * 7 + f);
          for (const op of OPS) check(op, x, permuted(x, [n, f], [0], 1), 1, `[${n},${f}] over 0`);
        }
      }
      // Leading kept dims that do not collapse, and two-dim reduced blocks in both layouts.
      const shape = [3, 4, 5, 6];
      const x = fillRandom(heapF32(360), 3);
      for (const dims of [[1, 3], [0, 2], [0, 1], [2, 3], [0, 3], [1, 2], [0], [1], [2], [3], [0, 1, 2, 3]]) {
        for (const op of OPS) check(op, x, permuted(x, shape, dims), dims.length, `[3,4,5,6] over [${dims}]`);
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: random strided views (slices, transposes, broadcasts) agree with the definition",
  ignore: !HAVE_WASM,
  fn() {
    let seed = 12345;
    const rand = (k: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % k;
    };
    let applied = 0;
    try {
      for (let t = 0; t < 300; t++) {
        const nd = 1 + rand(4);
        const shape = Array.from({ length: nd }, () => 1 + rand(9));
        // A slice of a bigger tensor: each dim strided inside a parent twice as large, some dims broadcast.
        const parent = shape.map((s) => s + rand(3));
        const pStrides = contiguousStrides(parent);
        const strides = shape.map((_, d) => (rand(8) === 0 ? 0 : pStrides[d]));
        const offset = rand(4);
        const x = fillRandom(heapF32(offset + numel(parent)), t);
        const dims = shape.map((_, i) => i).filter(() => rand(2) === 0);
        if (dims.length === 0) dims.push(rand(nd));
        const v = permuted(x, shape, dims, offset, strides);
        const op = OPS[rand(3)];
        const outLen = numel(v.shape.slice(0, nd - dims.length));
        const out = heapF32(outLen);
        if (!wasmReduce(op, v, dims.length, new CpuStorage(out))) continue;
        applied++;
        const want = naive(op, x, v, dims.length);
        for (let i = 0; i < outLen; i++) {
          const label = `case ${t}: ${op} of [${shape}] strides [${strides}] over [${dims}] [${i}]`;
          if (op === "sum") ok(Math.abs(out[i] - want[i]) <= ulp(want[i]), `${label}: ${out[i]} vs ${want[i]}`);
          else deepStrictEqual(out[i], Math.fround(want[i]), label);
        }
      }
      ok(applied > 250, `applied to ${applied} of 300 views`);
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: NaN propagates through max and min; infinities",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const n of [5, 16, 37, 100, 1000]) {
        for (const at of [0, 1, 2, 3, n - 1, n - 5, n >> 1]) {
          const x = fillRandom(heapF32(n), n);
          x[at] = NaN;
          const v: View = { storage: new CpuStorage(x), shape: [1, n], strides: [n, 1], offset: 0 };
          for (const op of OPS) {
            const out = heapF32(1);
            ok(wasmReduce(op, v, 1, new CpuStorage(out)));
            ok(Number.isNaN(out[0]), `${op} with NaN at ${at} of ${n}`);
          }
          // Columns layout too.
          const colView: View = { storage: new CpuStorage(x), shape: [1, n], strides: [1, 1], offset: 0 };
          const out = heapF32(1);
          ok(wasmReduce("max", colView, 1, new CpuStorage(out)));
          ok(Number.isNaN(out[0]));
        }
      }
      const x = heapF32(9).fill(-Infinity);
      const v: View = { storage: new CpuStorage(x), shape: [9], strides: [1], offset: 0 };
      const out = heapF32(1);
      ok(wasmReduce("max", v, 1, new CpuStorage(out)));
      deepStrictEqual(out[0], -Infinity);
      x[4] = Infinity;
      ok(wasmReduce("sum", v, 1, new CpuStorage(out)));
      ok(Number.isNaN(out[0]), "inf - inf");
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: matches CpuBackend.reduce's TypeScript path on the benchmark shapes",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const cases: [number[], number[]][] = [[[32, 32, 28, 28], [0, 2, 3]], [[128, 256], [1]], [[32, 10], [1]], [
        [256, 100],
        [0],
      ]];
      for (const [shape, dims] of cases) {
        const x = fillRandom(heapF32(numel(shape)), shape[0]);
        const plain = x.slice(); // an ordinary array: the backend takes its TypeScript path
        for (const op of OPS) {
          const v = permuted(x, shape, dims);
          const outLen = numel(v.shape.slice(0, shape.length - dims.length));
          const got = heapF32(outLen), ref = new Float32Array(outLen);
          ok(wasmReduce(op, v, dims.length, new CpuStorage(got)));
          cpuBackend.reduce(op, { ...v, storage: new CpuStorage(plain) }, dims.length, new CpuStorage(ref));
          for (let i = 0; i < outLen; i++) {
            ok(Math.abs(got[i] - ref[i]) <= (op === "sum" ? ulp(ref[i]) : 0), `${op} [${shape}] [${i}]`);
          }
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmReduce: returns false and writes nothing where it does not apply",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const x = fillRandom(heapF32(24), 1);
      const v: View = { storage: new CpuStorage(x), shape: [4, 6], strides: [6, 1], offset: 0 };
      const out = heapF32(4).fill(-7);
      const untouched = () => deepStrictEqual([...out], [-7, -7, -7, -7]);
      for (const op of ["prod", "argmax", "argmin"] as ReduceOp[]) {
        ok(!wasmReduce(op, v, 1, new CpuStorage(out)), op);
        untouched();
      }
      // Not in the heap: the input, then the output.
      ok(!wasmReduce("sum", { ...v, storage: new CpuStorage(x.slice()) }, 1, new CpuStorage(out)));
      untouched();
      ok(!wasmReduce("sum", v, 1, new CpuStorage(new Float32Array(4))));
      // Not float32.
      ok(!wasmReduce("sum", { ...v, storage: new CpuStorage(heapArray(Float64Array, 24)) }, 1, new CpuStorage(out)));
      ok(!wasmReduce("sum", v, 1, new CpuStorage(heapArray(Int32Array, 4))));
      untouched();
      // Empty input; an output too short for the kept dims.
      ok(!wasmReduce("sum", { ...v, shape: [4, 0], strides: [0, 1] }, 1, new CpuStorage(out)));
      ok(!wasmReduce("sum", v, 1, new CpuStorage(heapF32(3))));
      untouched();
      // A three-dim reduced block that does not collapse (no two dims contiguous with each other).
      const big = fillRandom(heapF32(2 * 120), 2);
      const odd: View = { storage: new CpuStorage(big), shape: [2, 3, 4, 5], strides: [120, 41, 9, 2], offset: 0 };
      ok(!wasmReduce("sum", odd, 3, new CpuStorage(out)));
      untouched();
    } finally {
      freeAll();
    }
  },
});
