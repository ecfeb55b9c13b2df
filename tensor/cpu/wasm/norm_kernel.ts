/**
 * WebAssembly SIMD kernels: norm family (generator; see `ops_kernel.ts`) —
 * batch normalization over contiguous float32 x `[n, c, s]`. The dispatch is
 * `../norm_wasm.ts`.
 *
 * Everything is computed in float64 (`f64x2`, float32 pairs promoted on load
 * and rounded on store), in the same operations and order per element as the
 * TypeScript `../norm.ts`, so the elementwise outputs are bit-identical to it
 * and the per-channel sums differ only in float64 rounding (their order).
 * Per-channel values travel as float64 in heap scratch: `bn_stats` and
 * `bn_backward_sums` write their sums there and the TypeScript side finishes
 * the few per-channel formulas (so those round exactly as in `norm.ts`).
 *
 * @module
 */

import {
  add,
  type Code,
  eq,
  f32Load,
  F64,
  f64,
  f64Add,
  f64Div,
  f64Load,
  f64Mul,
  f64OfI32,
  f64Promote,
  f64Store,
  f64Sub,
  f64x2Add,
  f64x2Mul,
  f64x2Splat,
  f64x2Sub,
  Fn,
  forCount,
  I32,
  i32,
  i32Params,
  ifElse,
  lt,
  memFill,
  mul,
  select,
  seq,
  setAll,
  shl,
  V128,
  vLoad,
  vLoad64Zero,
  vStore,
  vStore64Lane,
  vZero,
  whileLoop,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";
import { laneSum, loadF64, pairsF64, storeF32, stream, sumLanes } from "./reduce_kernel.ts";

const ACCS = ["s0", "s1", "s2", "s3"] as const;

/**
 * For each image `i` and channel `ch`, in memory order: the channel's float64
 * parameters at `paramsAt` splatted into the locals `names` (one 8-byte value
 * each, in order), then {@link stream} over the channel's `s` bytes from
 * `ptrs[0]` (every pointer advancing with it). Uses the locals `q` and `end`.
 */
function channelRuns(
  f: Fn,
  paramsAt: Code,
  names: readonly string[],
  ptrs: readonly string[],
  body: (width: 1 | 2, offset: number) => Code,
): Code {
  const g = (n: string) => f.get(n);
  return forCount(
    f,
    "i",
    "n",
    forCount(
      f,
      "ch",
      "c",
      f.set("q", paramsAt),
      ...names.map((name, k) => f.set(name, f64x2Splat(f64Load(g("q"), 8 * k)))),
      f.set("end", add(g(ptrs[0]), g("s"))),
      stream(f, ptrs, "end", body),
    ),
  );
}

/**
 * `bn_stats(x, n, c, s, out)`: per channel, `out[2ch] = mean` and
 * `out[2ch+1] = Σ (x - mean)² / (n·s)` (float64), in two passes as `norm.ts`
 * does (no `E[x²] - E[x]²` cancellation).
 */
function stats(): Fn {
  const f = new Fn("bn_stats", i32Params(["x", "n", "c", "s", "out"]));
  f.local(I32, "ch", "i", "p", "end", "base", "plane");
  f.local(F64, "t", "mu", "m", "d");
  f.local(V128, ...ACCS, "muv", "dv");
  const g = (n: string) => f.get(n);
  const run = (onRun: Code) =>
    forCount(
      f,
      "i",
      "n",
      f.set("p", add(g("base"), mul(g("i"), g("plane")))),
      f.set("end", add(g("p"), g("s"))),
      onRun,
    );
  f.body = seq(
    f.set("m", f64OfI32(mul(g("n"), g("s")))),
    f.set("s", shl(g("s"), i32(2))),
    f.set("plane", mul(g("c"), g("s"))),
    forCount(
      f,
      "ch",
      "c",
      f.set("base", add(g("x"), mul(g("ch"), g("s")))),
      setAll(f, ACCS, vZero()),
      f.set("t", f64(0)),
      run(seq(
        pairsF64(f, "p", "end", ACCS),
        ifElse(lt(g("p"), g("end")), f.set("t", f64Add(g("t"), f64Promote(f32Load(g("p")))))),
      )),
      f.set("mu", f64Div(f64Add(g("t"), sumLanes(f, ACCS)), g("m"))),
      f.set("muv", f64x2Splat(g("mu"))),
      setAll(f, ACCS, vZero()),
      f.set("t", f64(0)),
      run(seq(
        pairsF64(f, "p", "end", ACCS, (pair) => seq(f.set("dv", f64x2Sub(pair, g("muv"))), f64x2Mul(g("dv"), g("dv")))),
        ifElse(
          lt(g("p"), g("end")),
          seq(
            f.set("d", f64Sub(f64Promote(f32Load(g("p"))), g("mu"))),
            f.set("t", f64Add(g("t"), f64Mul(g("d"), g("d")))),
          ),
        ),
      )),
      f.set("p", add(g("out"), shl(g("ch"), i32(4)))),
      f64Store(g("p"), g("mu")),
      f64Store(g("p"), f64Div(f64Add(g("t"), sumLanes(f, ACCS)), g("m")), 8),
    ),
  );
  return f;
}

/**
 * `bn_forward(x, out, n, c, s, params)`: `out = (x - mean)·k + b` per channel,
 * with `params[3ch .. 3ch+2] = mean, k = invStd·weight, b = bias` (float64).
 */
function forward(): Fn {
  const f = new Fn("bn_forward", i32Params(["x", "out", "n", "c", "s", "params"]));
  f.local(I32, "i", "ch", "q", "end");
  f.local(V128, "mu", "k", "b");
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("s", shl(g("s"), i32(2))),
    channelRuns(f, add(g("params"), mul(g("ch"), i32(24))), ["mu", "k", "b"], ["x", "out"], (w, off) =>
      storeF32(
        w,
        g("out"),
        f64x2Add(f64x2Mul(f64x2Sub(loadF64(w, g("x"), off), g("mu")), g("k")), g("b")),
        off,
      )),
  );
  return f;
}

/**
 * `bn_backward_sums(gy, x, n, c, s, params, out)`: per channel
 * `out[2ch] = Σ gy` and `out[2ch+1] = Σ gy·(x - mean)` (float64), with the
 * mean at `params[4ch]`.
 */
function backwardSums(): Fn {
  const names = ["gy", "x", "n", "c", "s", "params", "out"];
  const f = new Fn("bn_backward_sums", i32Params(names));
  f.local(I32, "ch", "i", "pg", "px", "end", "plane");
  f.local(V128, "g0", "g1", "x0", "x1", "mu", "gv");
  const g = (n: string) => f.get(n);
  const lanes = (a: string, b: string) => seq(f.set(a, f64x2Add(g(a), g(b))), laneSum(g(a)));
  f.body = seq(
    f.set("s", shl(g("s"), i32(2))),
    f.set("plane", mul(g("c"), g("s"))),
    forCount(
      f,
      "ch",
      "c",
      f.set("mu", f64x2Splat(f64Load(add(g("params"), shl(g("ch"), i32(5)))))),
      setAll(f, ["g0", "g1", "x0", "x1"], vZero()),
      forCount(
        f,
        "i",
        "n",
        f.set("pg", add(add(g("gy"), mul(g("i"), g("plane"))), mul(g("ch"), g("s")))),
        f.set("px", add(add(g("x"), mul(g("i"), g("plane"))), mul(g("ch"), g("s")))),
        f.set("end", add(g("pg"), g("s"))),
        stream(f, ["pg", "px"], "end", (w, off) => {
          const [ga, xa] = off === 0 ? ["g0", "x0"] : ["g1", "x1"];
          return seq(
            f.set("gv", loadF64(w, g("pg"), off)),
            f.set(ga, f64x2Add(g(ga), g("gv"))),
            f.set(xa, f64x2Add(g(xa), f64x2Mul(g("gv"), f64x2Sub(loadF64(w, g("px"), off), g("mu"))))),
          );
        }),
      ),
      f.set("pg", add(g("out"), shl(g("ch"), i32(4)))),
      f64Store(g("pg"), lanes("g0", "g1")),
      f64Store(g("pg"), lanes("x0", "x1"), 8),
    ),
  );
  return f;
}

/**
 * `bn_backward_input(gy, x, gx, n, c, s, params, batchStats)`: with
 * `params[4ch .. 4ch+3] = mean, k = invStd·weight, a = Σgy/M, b = invStd²·Σgy(x - mean)/M`,
 * `gx = k·(gy - a - (x - mean)·b)` when `batchStats`, else `gx = k·gy`.
 */
function backwardInput(): Fn {
  const names = ["gy", "x", "gx", "n", "c", "s", "params", "batchStats"];
  const f = new Fn("bn_backward_input", i32Params(names));
  f.local(I32, "i", "ch", "q", "end");
  f.local(V128, "mu", "k", "a", "b");
  const g = (n: string) => f.get(n);
  const pass = (batchStats: boolean) =>
    channelRuns(f, add(g("params"), shl(g("ch"), i32(5))), ["mu", "k", "a", "b"], ["gy", "x", "gx"], (w, off) => {
      const gy = loadF64(w, g("gy"), off);
      const value = batchStats
        ? f64x2Mul(
          g("k"),
          f64x2Sub(f64x2Sub(gy, g("a")), f64x2Mul(f64x2Sub(loadF64(w, g("x"), off), g("mu")), g("b"))),
        )
        : f64x2Mul(g("k"), gy);
      return storeF32(w, g("gx"), value, off);
    });
  f.body = seq(f.set("s", shl(g("s"), i32(2))), ifElse(g("batchStats"), pass(true), pass(false)));
  return f;
}

/**
 * `bn_col_sums(a, b, rows, cols, mu, acc, mode)`: float64 sums down the
 * columns of row-major `[rows, cols]` float32 data, in memory order — the
 * statistics of `[n, c, s]` with small `s` (BatchNorm1d's `s = 1`), where the
 * per-channel loops would stride through memory one short run at a time.
 * Columns are `c·s` (channel-major); `mu` holds float64 per column. Modes:
 * 0: `acc[j] = Σ a`; 1: `acc[j] = Σ (a - mu[j])²`; 2: `acc[j] = Σ a` and
 * `acc[cols + j] = Σ a·(b - mu[j])` (a = the output gradient, b = x).
 */
function columnSums(): Fn {
  const names = ["a", "b", "rows", "cols", "mu", "acc", "mode"];
  const f = new Fn("bn_col_sums", i32Params(names));
  f.local(I32, "i", "p", "pb", "pend", "q", "q2", "qm", "rowBytes");
  f.local(V128, "v");
  const g = (n: string) => f.get(n);
  const ldAcc = (w: 1 | 2, addr: Code) => (w === 2 ? vLoad(addr) : vLoad64Zero(addr));
  const stAcc = (w: 1 | 2, addr: Code, v: Code) => (w === 2 ? vStore(addr, v) : vStore64Lane(addr, v, 0));
  const body = (mode: number) => (w: 1 | 2) => {
    const x = loadF64(w, g("p"));
    if (mode === 0) return stAcc(w, g("q"), f64x2Add(ldAcc(w, g("q")), x));
    if (mode === 1) {
      return seq(
        f.set("v", f64x2Sub(x, ldAcc(w, g("qm")))),
        stAcc(w, g("q"), f64x2Add(ldAcc(w, g("q")), f64x2Mul(g("v"), g("v")))),
      );
    }
    return seq(
      f.set("v", x),
      stAcc(w, g("q"), f64x2Add(ldAcc(w, g("q")), g("v"))),
      stAcc(
        w,
        g("q2"),
        f64x2Add(ldAcc(w, g("q2")), f64x2Mul(g("v"), f64x2Sub(loadF64(w, g("pb")), ldAcc(w, g("qm"))))),
      ),
    );
  };
  const pass = (mode: number) =>
    forCount(
      f,
      "i",
      "rows",
      f.set("p", add(g("a"), mul(g("i"), g("rowBytes")))),
      f.set("pb", add(g("b"), mul(g("i"), g("rowBytes")))),
      f.set("pend", add(g("p"), g("rowBytes"))),
      f.set("q", g("acc")),
      f.set("q2", add(g("acc"), shl(g("cols"), i32(3)))),
      f.set("qm", g("mu")),
      whileLoop(
        lt(add(g("p"), i32(4)), g("pend")),
        body(mode)(2),
        ...["p", "pb"].map((n) => f.set(n, add(g(n), i32(8)))),
        ...["q", "q2", "qm"].map((n) => f.set(n, add(g(n), i32(16)))),
      ),
      ifElse(lt(g("p"), g("pend")), body(mode)(1)),
    );
  f.body = seq(
    f.set("rowBytes", shl(g("cols"), i32(2))),
    memFill(g("acc"), i32(0), shl(g("cols"), accShift(g("mode")))),
    ifElse(eq(g("mode"), i32(0)), pass(0)),
    ifElse(eq(g("mode"), i32(1)), pass(1)),
    ifElse(eq(g("mode"), i32(2)), pass(2)),
  );
  return f;
}

/** Bytes per column of the accumulators: 16 for mode 2 (two sums), else 8 — as a shift: `mode === 2 ? 4 : 3`. */
function accShift(mode: Code): Code {
  return select(i32(4), i32(3), eq(mode, i32(2)));
}

/**
 * `bn_col_affine(gy, x, out, rows, cols, params, mode)`: the elementwise passes
 * for small `s`, over row-major `[rows, cols]` data with per-column float64
 * parameters (`cols` values each, one array after the other at `params`), so
 * they vectorize across channels instead of running per channel in runs of
 * `s`. Mode 0, the forward pass: `out = (x - mean)·k + b` (params mean, k, b);
 * mode 1, the input gradient with batch statistics: `out = k·(gy - a - (x - mean)·b)`
 * (params mean, k, a, b); mode 2, without: `out = k·gy` (params mean, k).
 */
function columnAffine(): Fn {
  const names = ["gy", "x", "out", "rows", "cols", "params", "mode"];
  const f = new Fn("bn_col_affine", i32Params(names));
  f.local(I32, "i", "pend", "pg", "px", "po", "q0", "q1", "q2", "q3", "rowBytes", "colBytes");
  const g = (n: string) => f.get(n);
  const ldP = (w: 1 | 2, q: string) => (w === 2 ? vLoad(g(q)) : vLoad64Zero(g(q)));
  const value = (mode: number, w: 1 | 2): Code => {
    const x = () => loadF64(w, g("px"));
    if (mode === 0) return f64x2Add(f64x2Mul(f64x2Sub(x(), ldP(w, "q0")), ldP(w, "q1")), ldP(w, "q2"));
    const gy = loadF64(w, g("pg"));
    if (mode === 2) return f64x2Mul(ldP(w, "q1"), gy);
    return f64x2Mul(
      ldP(w, "q1"),
      f64x2Sub(f64x2Sub(gy, ldP(w, "q2")), f64x2Mul(f64x2Sub(x(), ldP(w, "q0")), ldP(w, "q3"))),
    );
  };
  const pass = (mode: number) =>
    forCount(
      f,
      "i",
      "rows",
      f.set("px", add(g("x"), mul(g("i"), g("rowBytes")))),
      f.set("pg", add(g("gy"), mul(g("i"), g("rowBytes")))),
      f.set("po", add(g("out"), mul(g("i"), g("rowBytes")))),
      f.set("pend", add(g("po"), g("rowBytes"))),
      ...[0, 1, 2, 3].map((k) => f.set(`q${k}`, add(g("params"), mul(g("colBytes"), i32(k))))),
      whileLoop(
        lt(add(g("po"), i32(4)), g("pend")),
        storeF32(2, g("po"), value(mode, 2)),
        ...["px", "pg", "po"].map((n) => f.set(n, add(g(n), i32(8)))),
        ...["q0", "q1", "q2", "q3"].map((n) => f.set(n, add(g(n), i32(16)))),
      ),
      ifElse(lt(g("po"), g("pend")), storeF32(1, g("po"), value(mode, 1))),
    );
  f.body = seq(
    f.set("rowBytes", shl(g("cols"), i32(2))),
    f.set("colBytes", shl(g("cols"), i32(3))),
    ifElse(eq(g("mode"), i32(0)), pass(0)),
    ifElse(eq(g("mode"), i32(1)), pass(1)),
    ifElse(eq(g("mode"), i32(2)), pass(2)),
  );
  return f;
}

/** The norm kernels' functions and exports; `base` is the module index of the first function. */
export function normKernels(_base: number): KernelFamily {
  const fns = [stats(), forward(), backwardSums(), backwardInput(), columnSums(), columnAffine()];
  return { fns, exports: fns.map((f) => f.name) };
}
