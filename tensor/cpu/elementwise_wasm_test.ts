import { deepStrictEqual, ok } from "node:assert/strict";
import type { BinaryOp, UnaryOp, View } from "../backend.ts";
import { contiguousStrides, numel } from "../shape.ts";
import { cpuBackend } from "./backend.ts";
import { CpuStorage } from "./storage.ts";
import { WASM_MIN_RUN, wasmBinary, wasmReluBackward, wasmUnary, wasmWhere } from "./elementwise_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapArray, heapF32 } from "./wasm_test_util.ts";

// ---- helpers -----------------------------------------------------------------------

/** Storage of `n` elements in the WebAssembly heap (freed by `freeAll`). */
function heap(ctor: typeof Float32Array | typeof Uint8Array, n: number): CpuStorage {
  return new CpuStorage(ctor === Uint8Array ? heapArray(Uint8Array, n) : heapF32(n));
}

function withHeap(fn: () => void): () => void {
  return () => {
    ok(wasmOps(), "WebAssembly SIMD is available in Deno");
    try {
      fn();
    } finally {
      freeAll();
    }
  };
}

const data = (s: CpuStorage) => s.data as Float32Array;

/** A deterministic generator (xorshift). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const SPECIAL = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  0.5,
  -0.5,
  1.5,
  -1.5,
  2.5,
  -2.5,
  1,
  -1,
  2 ** -149,
  -(2 ** -149),
  3.4028234663852886e38,
  Math.fround(0.1),
  Math.fround(1 / 3),
];

/** `n` float32 values: mostly random of assorted scales, one in five special. */
function values(n: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.2) out.push(SPECIAL[Math.floor(r() * SPECIAL.length)]);
    else out.push(Math.fround((r() - 0.5) * 2 ** Math.floor(r() * 12 - 4)));
  }
  return out;
}

/** A heap float32 storage holding `vals` after `offset` filler elements (and a little after). */
function f32Storage(vals: number[], offset: number): CpuStorage {
  const s = heap(Float32Array, offset + vals.length + 3);
  data(s).fill(-7);
  data(s).set(vals, offset);
  return s;
}

function view(storage: CpuStorage, shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  return { storage, shape, strides, offset };
}

/** The operand's elements in row-major order of `shape`, read through its strides (a number repeats). */
function elements(x: View | number, shape: number[]): number[] {
  const n = numel(shape);
  if (typeof x === "number") return new Array(n).fill(x);
  const d = (x.storage as CpuStorage).data;
  const out: number[] = [];
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = x.offset;
    for (let k = 0; k < shape.length; k++) at += idx[k] * x.strides[k];
    out.push(d[at]);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** Element-by-element equality that tells −0 from +0 and takes NaN as equal to NaN. */
function sameValues(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  deepStrictEqual(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

// ---- references: direct float64 loops, written out here -------------------------------

function halfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x), d = x - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

const UNARY_REF: Partial<Record<UnaryOp, (x: number) => number>> = {
  relu: (x) => (x > 0 ? x : 0),
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  sqrt: (x) => Math.sqrt(x),
  floor: (x) => Math.floor(x),
  ceil: (x) => Math.ceil(x),
  round: halfEven,
  reciprocal: (x) => 1 / x,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

const BINARY_REF: Partial<Record<BinaryOp, (x: number, y: number) => number>> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x >= y ? x : y),
  minimum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x <= y ? x : y),
  eq: (x, y) => (x === y ? 1 : 0),
  ne: (x, y) => (x !== y ? 1 : 0),
  lt: (x, y) => (x < y ? 1 : 0),
  le: (x, y) => (x <= y ? 1 : 0),
  gt: (x, y) => (x > y ? 1 : 0),
  ge: (x, y) => (x >= y ? 1 : 0),
};
const BOOL_OPS = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge"]);
const BINARY_OPS = Object.keys(BINARY_REF) as BinaryOp[];

const LENGTHS = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 20, 31, 33, 1001];

// ---- unary ---------------------------------------------------------------------------

Deno.test(
  "wasmUnary: every op at edge lengths and an offset equals the direct loop rounded to float32",
  withHeap(() => {
    for (const [op, ref] of Object.entries(UNARY_REF) as [UnaryOp, (x: number) => number][]) {
      for (const n of LENGTHS) {
        const vals = values(n, n + 11);
        const a = view(f32Storage(vals, 3), [n], [1], 3);
        const out = heap(Float32Array, n);
        data(out).fill(42);
        const done = wasmUnary(op, a, out);
        if (n < WASM_MIN_RUN) {
          deepStrictEqual(done, false, `${op} n=${n}`);
          ok(data(out).every((v) => v === 42), `${op} n=${n} wrote nothing`);
          continue;
        }
        ok(done, `${op} n=${n}`);
        sameValues(data(out), Float32Array.from(vals, ref), `${op} n=${n}`);
      }
    }
  }),
);

Deno.test(
  "wasmUnary: relu of NaN, −0 and negatives is +0; positives and +Inf pass",
  withHeap(() => {
    const vals = [NaN, -0, 0, -1, -Infinity, Infinity, 2 ** -149, -(2 ** -149), 3, -3, 1e-30, NaN, -0, 5, -5, 7];
    const out = heap(Float32Array, 16);
    ok(wasmUnary("relu", view(f32Storage(vals, 0), [16]), out));
    sameValues(data(out), [0, 0, 0, 0, 0, Infinity, 2 ** -149, 0, 3, 0, Math.fround(1e-30), 0, 0, 5, 0, 7], "relu");
  }),
);

Deno.test(
  "wasmUnary: round is half to even, keeping −0",
  withHeap(() => {
    const vals = [
      0.5,
      1.5,
      2.5,
      -0.5,
      -1.5,
      -2.5,
      -0.3,
      0.49999997,
      8388607.5,
      -8388607.5,
      3.5,
      -3.5,
      1e20,
      -0,
      0,
      4.5,
    ];
    const out = heap(Float32Array, 16);
    ok(wasmUnary("round", view(f32Storage(vals, 0), [16]), out));
    sameValues(
      data(out),
      [0, 2, 2, -0, -2, -2, -0, 0, 8388608, -8388608, 4, -4, Math.fround(1e20), -0, 0, 4],
      "round",
    );
  }),
);

Deno.test(
  "wasmUnary: a strided 2-D view (rows of a wider matrix) is read through its strides",
  withHeap(() => {
    const rows = 5, cols = 20, ld = 23;
    const vals = values(rows * ld, 5);
    const a = view(f32Storage(vals, 2), [rows, cols], [ld, 1], 4);
    const out = heap(Float32Array, rows * cols);
    ok(wasmUnary("neg", a, out));
    sameValues(data(out), Float32Array.from(elements(a, [rows, cols]), (x) => -x), "neg strided");
  }),
);

Deno.test(
  "wasmUnary: equals the TypeScript backend on ordinary arrays",
  withHeap(() => {
    const n = 257;
    const vals = values(n, 99);
    for (const op of Object.keys(UNARY_REF) as UnaryOp[]) {
      const ts = cpuBackend.alloc("float32", n);
      cpuBackend.unary(op, view(new CpuStorage(Float32Array.from(vals)), [n]), ts);
      const out = heap(Float32Array, n);
      ok(wasmUnary(op, view(f32Storage(vals, 0), [n]), out));
      sameValues(data(out), cpuBackend.readSync(ts), op);
    }
  }),
);

// ---- binary --------------------------------------------------------------------------

/** Runs `wasmBinary` and checks it against the reference (or, for `applies` false, that it declined and wrote nothing). */
function checkBinary(op: BinaryOp, a: View | number, b: View | number, shape: number[], applies = true): void {
  const n = numel(shape);
  const isBool = BOOL_OPS.has(op);
  const out = heap(isBool ? Uint8Array : Float32Array, n);
  (out.data as Float32Array | Uint8Array).fill(7);
  const done = wasmBinary(op, a, b, out, shape);
  const what = `${op} ${typeof a === "number" ? a : "view"} ${typeof b === "number" ? b : "view"} [${shape}]`;
  if (!applies) {
    deepStrictEqual(done, false, what);
    ok((out.data as Float32Array | Uint8Array).every((v) => v === 7), `${what} wrote nothing`);
    return;
  }
  ok(done, what);
  const xs = elements(a, shape), ys = elements(b, shape);
  const ref = BINARY_REF[op] as (x: number, y: number) => number;
  const want = xs.map((x, i) => ref(x, ys[i]));
  sameValues(out.data, isBool ? Uint8Array.from(want) : Float32Array.from(want), what);
}

Deno.test(
  "wasmBinary: every op, same shape, edge lengths, offsets into storage",
  withHeap(() => {
    for (const op of BINARY_OPS) {
      for (const n of LENGTHS) {
        const xs = values(n, 3 * n + 1), ys = values(n, 7 * n + 2);
        // Equal pairs exercise eq/le/ge and the ±0 ties of maximum/minimum.
        for (let i = 0; i < n; i += 5) ys[i] = i % 10 === 0 ? xs[i] : -xs[i];
        const a = view(f32Storage(xs, 1), [n], [1], 1), b = view(f32Storage(ys, 6), [n], [1], 6);
        checkBinary(op, a, b, [n], n >= WASM_MIN_RUN);
      }
    }
  }),
);

Deno.test(
  "wasmBinary: maximum/minimum propagate NaN from either side and keep the first of ±0 (as the table does)",
  withHeap(() => {
    const xs = [NaN, 1, NaN, 0, -0, 0, -0, -Infinity, Infinity, 2, -2, 3, NaN, 5, -0, 1];
    const ys = [1, NaN, NaN, -0, 0, 0, -0, NaN, -Infinity, 2, 3, -2, -Infinity, NaN, 7, -0];
    const a = view(f32Storage(xs, 0), [16]), b = view(f32Storage(ys, 0), [16]);
    for (const op of ["maximum", "minimum"] as const) checkBinary(op, a, b, [16]);
    const out = heap(Float32Array, 16);
    ok(wasmBinary("maximum", a, b, out, [16]));
    ok(Object.is(data(out)[3], 0) && Object.is(data(out)[4], -0), "maximum(0, -0) = 0, maximum(-0, 0) = -0");
  }),
);

Deno.test(
  "wasmBinary: scalars on either side, exact and inexact in float32",
  withHeap(() => {
    const n = 45;
    const xs = values(n, 17);
    // Neighbours of float32(0.1) and of float32(1/3), where an inexact scalar's comparisons turn.
    xs.push(Math.fround(0.1), 0.10000000149011612, 0.09999999403953552, Math.fround(1 / 3), 1e-45, -1e-45);
    const a = view(f32Storage(xs, 2), [xs.length], [1], 2);
    const scalars = [2, -0, 0, NaN, Infinity, -Infinity, 0.1, 1 / 3, -1e-50, 1e-50, 1e39, -1e39, 3.4028235e38, 1e-40];
    for (const op of BINARY_OPS) {
      for (const s of scalars) {
        const exact = Math.fround(s) === s || Number.isNaN(s);
        const applies = exact || !(op === "maximum" || op === "minimum");
        checkBinary(op, a, s, [xs.length], applies);
        checkBinary(op, s, a, [xs.length], applies);
      }
    }
  }),
);

Deno.test(
  "wasmBinary: broadcast patterns (conv bias, linear bias, per-row splats either side, strided rows)",
  withHeap(() => {
    // Conv bias: [3, 5, 7, 9] + [5, 1, 1], the bias splatted over runs of 63.
    const conv = [3, 5, 7, 9];
    const x = view(f32Storage(values(numel(conv), 1), 2), conv, contiguousStrides(conv), 2);
    const bias = view(f32Storage(values(5, 2), 1), conv, [0, 1, 0, 0], 1);
    // Linear bias: [4, 3, 40] + [40].
    const lin = [4, 3, 40];
    const h = view(f32Storage(values(numel(lin), 3), 0), lin);
    const lb = view(f32Storage(values(40, 4), 0), lin, [0, 0, 1]);
    // One value per row: [16, 9] op [16, 1] and [16, 1] op [16, 9].
    const rowsShape = [16, 9];
    const m = view(f32Storage(values(144, 5), 0), rowsShape);
    const col = view(f32Storage(values(16, 6), 0), rowsShape, [1, 0]);
    // Rows of a wider matrix (leading dimension 31) against a transposed-outer operand.
    const wide = view(f32Storage(values(6 * 31, 7), 0), [6, 20], [31, 1], 5);
    const batched = view(f32Storage(values(2 * 6 * 20, 8), 0), [2, 6, 20], [120, 20, 1]);
    const wide3 = view(wide.storage as CpuStorage, [2, 6, 20], [0, 31, 1], 5);
    for (const op of BINARY_OPS) {
      checkBinary(op, x, bias, conv);
      checkBinary(op, bias, x, conv);
      checkBinary(op, h, lb, lin);
      checkBinary(op, lb, h, lin);
      checkBinary(op, m, col, rowsShape);
      checkBinary(op, col, m, rowsShape);
      checkBinary(op, wide, view(f32Storage(values(120, 9), 0), [6, 20]), [6, 20]);
      checkBinary(op, batched, wide3, [2, 6, 20]);
      checkBinary(op, wide3, 0.25, [2, 6, 20]);
    }
  }),
);

Deno.test(
  "wasmBinary: equals the TypeScript backend on ordinary arrays",
  withHeap(() => {
    const shape = [7, 33];
    const xs = values(numel(shape), 21), ys = values(33, 22);
    for (const op of BINARY_OPS) {
      const isBool = BOOL_OPS.has(op);
      for (const b of [view(new CpuStorage(Float32Array.from(ys)), shape, [0, 1]), 0.1, 3] as (View | number)[]) {
        const ts = cpuBackend.alloc(isBool ? "bool" : "float32", numel(shape));
        cpuBackend.binary(op, view(new CpuStorage(Float32Array.from(xs)), shape), b, ts, shape);
        const out = heap(isBool ? Uint8Array : Float32Array, numel(shape));
        const hb = typeof b === "number" ? b : view(f32Storage(ys, 0), shape, [0, 1]);
        const done = wasmBinary(op, view(f32Storage(xs, 0), shape), hb, out, shape);
        if (!done) {
          ok((op === "maximum" || op === "minimum") && b === 0.1, `${op} declined`);
          continue;
        }
        sameValues(out.data, cpuBackend.readSync(ts), `${op} ${typeof b === "number" ? b : "view"}`);
      }
    }
  }),
);

// ---- where ---------------------------------------------------------------------------

Deno.test(
  "wasmWhere: vector, per-row and scalar operands in every mix; any nonzero byte is true",
  withHeap(() => {
    for (const [rows, cols] of [[6, 20], [3, 8], [2, 1001], [4, 17]]) {
      const shape = [rows, cols], n = rows * cols;
      const r = rng(rows * cols);
      const condBytes = Array.from({ length: n + 2 }, () => [0, 1, 1, 2, 255, 0][Math.floor(r() * 6)]);
      const cs = heap(Uint8Array, n + 2);
      (cs.data as Uint8Array).set(condBytes);
      const conds: View[] = [view(cs, shape, [cols, 1], 2), view(cs, shape, [1, 0], 1)];
      const operands = (seed: number): (View | number)[] => [
        view(f32Storage(values(n, seed), 3), shape, [cols, 1], 3),
        view(f32Storage(values(rows, seed + 1), 0), shape, [1, 0]),
        0,
        -0,
        NaN,
        0.1,
      ];
      for (const c of conds) {
        for (const a of operands(10)) {
          for (const b of operands(20)) {
            const out = heap(Float32Array, n);
            data(out).fill(7);
            const spans = [c, a, b].some((v) => typeof v !== "number" && v.strides[1] === 1);
            const done = wasmWhere(c, a, b, out, shape);
            deepStrictEqual(done, spans, "applies exactly when some operand spans the rows");
            if (!done) {
              ok(data(out).every((v) => v === 7));
              continue;
            }
            const cv = elements(c, shape), av = elements(a, shape), bv = elements(b, shape);
            sameValues(data(out), Float32Array.from(cv, (x, i) => (x !== 0 ? av[i] : bv[i])), `where [${shape}]`);
          }
        }
      }
    }
  }),
);

Deno.test(
  "wasmWhere: edge lengths, the relu-gradient form where(cond, g, 0) and its mirror",
  withHeap(() => {
    for (const n of LENGTHS) {
      const cs = heap(Uint8Array, n + 1);
      const r = rng(n + 5);
      for (let i = 0; i < n + 1; i++) (cs.data as Uint8Array)[i] = r() < 0.5 ? 1 : 0;
      const g = view(f32Storage(values(n, n), 1), [n], [1], 1);
      const c = view(cs, [n], [1], 1);
      for (const [a, b] of [[g, 0], [0, g]] as [View | number, View | number][]) {
        const out = heap(Float32Array, n);
        data(out).fill(7);
        const done = wasmWhere(c, a, b, out, [n]);
        deepStrictEqual(done, n >= WASM_MIN_RUN);
        if (!done) continue;
        const cv = elements(c, [n]), av = elements(a, [n]), bv = elements(b, [n]);
        sameValues(data(out), Float32Array.from(cv, (x, i) => (x ? av[i] : bv[i])), `where n=${n}`);
      }
    }
  }),
);

// ---- ReLU backward ---------------------------------------------------------------------

Deno.test(
  "wasmReluBackward: x > 0 ? grad : 0 at edge lengths, with NaN/±0/±Inf inputs and a broadcast gradient",
  withHeap(() => {
    for (const n of LENGTHS) {
      const xs = values(n, n + 100), gs = values(n, n + 200);
      const x = view(f32Storage(xs, 4), [n], [1], 4), g = view(f32Storage(gs, 2), [n], [1], 2);
      for (const grad of [g, view(g.storage as CpuStorage, [n], [0], 3)]) {
        const out = heap(Float32Array, n);
        data(out).fill(7);
        const done = wasmReluBackward(x, grad, out);
        deepStrictEqual(done, n >= WASM_MIN_RUN, `n=${n}`);
        if (!done) {
          ok(data(out).every((v) => v === 7));
          continue;
        }
        const gv = elements(grad, [n]);
        sameValues(data(out), Float32Array.from(xs, (v, i) => (v > 0 ? gv[i] : 0)), `relu backward n=${n}`);
      }
    }
    const xs = [NaN, -0, 0, -1, 1, Infinity, -Infinity, 2 ** -149], gs = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = heap(Float32Array, 8);
    ok(wasmReluBackward(view(f32Storage(xs, 0), [8]), view(f32Storage(gs, 0), [8]), out));
    sameValues(data(out), [0, 0, 0, 0, 5, 6, 0, 8], "special x");
  }),
);

// ---- declining ---------------------------------------------------------------------------

Deno.test(
  "non-applicable inputs return false and write nothing",
  withHeap(() => {
    const n = 64, shape = [n];
    const hx = view(f32Storage(values(n, 1), 0), shape), hy = view(f32Storage(values(n, 2), 0), shape);
    const plain = view(new CpuStorage(Float32Array.from(values(n, 3))), shape);
    const f64 = view(new CpuStorage(new Float64Array(n)), shape);
    const i32 = view(new CpuStorage(new Int32Array(n)), shape);
    const cond = view(heap(Uint8Array, n), shape);
    const strided = view(f32Storage(values(2 * n, 4), 0), shape, [2]);
    const splatOnly = view(hx.storage as CpuStorage, [4, 16], [1, 0]);
    const untouched = (out: CpuStorage) => (out.data as Float32Array).every((v) => v === 7);
    const fresh = (ctor: typeof Float32Array | typeof Uint8Array = Float32Array) => {
      const s = heap(ctor, n);
      (s.data as Float32Array).fill(7);
      return s;
    };
    const cases: [string, (out: CpuStorage) => boolean, (typeof Float32Array | typeof Uint8Array)?][] = [
      ["unary exp (left to TypeScript)", (o) => wasmUnary("exp", hx, o)],
      ["unary tanh", (o) => wasmUnary("tanh", hx, o)],
      ["unary of a non-heap array", (o) => wasmUnary("relu", plain, o)],
      ["unary of float64", (o) => wasmUnary("relu", f64, o)],
      ["unary of a stride-2 view", (o) => wasmUnary("relu", strided, o)],
      ["unary into a non-heap array", () => wasmUnary("relu", hx, new CpuStorage(new Float32Array(n)))],
      ["unary into a too-short output", () => wasmUnary("relu", hx, heap(Float32Array, n - 1))],
      ["binary pow", (o) => wasmBinary("pow", hx, hy, o, shape)],
      ["binary remainder", (o) => wasmBinary("remainder", hx, hy, o, shape)],
      ["binary with a non-heap operand", (o) => wasmBinary("add", hx, plain, o, shape)],
      ["binary of float64", (o) => wasmBinary("add", f64, 1, o, shape)],
      ["binary of int32", (o) => wasmBinary("mul", i32, i32, o, shape)],
      ["binary with a stride-2 operand", (o) => wasmBinary("add", hx, strided, o, shape)],
      ["compare into a float32 output", (o) => wasmBinary("gt", hx, hy, o, shape)],
      ["arithmetic into a bool output", (o) => wasmBinary("add", hx, hy, o, shape), Uint8Array],
      ["binary with no operand spanning the rows", (o) => wasmBinary("add", splatOnly, 1, o, [4, 16])],
      ["maximum with an inexact scalar", (o) => wasmBinary("maximum", hx, 0.1, o, shape)],
      ["where with a float32 condition", (o) => wasmWhere(hx, hx, hy, o, shape)],
      ["where with a non-heap operand", (o) => wasmWhere(cond, plain, 0, o, shape)],
      ["where with a float64 operand", (o) => wasmWhere(cond, f64, 0, o, shape)],
      ["relu backward with a non-heap gradient", (o) => wasmReluBackward(hx, plain, o)],
      ["relu backward with a strided x", (o) => wasmReluBackward(strided, hy, o)],
      ["relu backward with shapes that differ", (o) => wasmReluBackward(hx, view(hy.storage as CpuStorage, [8, 8]), o)],
    ];
    for (const [what, run, ctor] of cases) {
      const out = fresh(ctor);
      deepStrictEqual(run(out), false, what);
      ok(untouched(out), `${what}: wrote nothing`);
    }
  }),
);
