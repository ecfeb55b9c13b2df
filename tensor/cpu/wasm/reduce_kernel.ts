/**
 * WebAssembly SIMD kernels: reduce family (generator; see `ops_kernel.ts`).
 * The dispatch and the layouts they serve are in `../reduce_wasm.ts`.
 *
 * Sums accumulate in float64 (pairs of floats promoted with
 * `f64x2.promote_low_f32x4`, four `f64x2` accumulators to hide the add
 * latency), as the TypeScript reference does, so results equal it to float32
 * rounding however long the rows. Max and min are exact in float32, and NaN
 * propagates as in the reference (`f32x4.pmax` with a NaN mask over runs,
 * `f32x4.max` over columns).
 *
 * This file also exports the float64 streaming helpers (pair sums, elementwise
 * passes) the norm and optimizer families share.
 *
 * @module
 */

import {
  add,
  type Code,
  F32,
  f32,
  f32Demote,
  f32Load,
  f32Max,
  f32Min,
  f32Store,
  f32x4Demote,
  f32x4Lane,
  f32x4Max,
  f32x4Min,
  f32x4Ne,
  f32x4PMax,
  f32x4PMin,
  f32x4Splat,
  F64,
  f64,
  f64Add,
  f64Load,
  f64Promote,
  f64Store,
  f64x2Add,
  f64x2Lane,
  f64x2Promote,
  Fn,
  forCount,
  I32,
  i32,
  i32Params,
  ifElse,
  lt,
  memCopy,
  memFill,
  mul,
  select,
  seq,
  setAll,
  shl,
  V128,
  vAnyTrue,
  vLoad,
  vLoad32Zero,
  vLoad64Zero,
  vOr,
  vStore,
  vStore32Lane,
  vStore64Lane,
  vZero,
  whileLoop,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

// ---- float64 streaming helpers (shared with norm_kernel.ts, optim_kernel.ts) ----------------------------------------

/**
 * `acc0..acc3 += f64Promote(pairs)` over the float32s at byte addresses `[p, end)`:
 * 8 floats per step into four `f64x2` accumulators, then pairs into `acc0`;
 * the odd last float (if any) is left at `p` (`p === end - 4`). `term` maps a
 * promoted pair before it is added (the identity for a plain sum).
 */
export function pairsF64(
  f: Fn,
  p: string,
  end: string,
  accs: readonly [string, string, string, string],
  term: (pair: Code, offset: number) => Code = (pair) => pair,
): Code {
  const g = (n: string) => f.get(n);
  const load = (offset: number) => term(f64x2Promote(vLoad64Zero(g(p), offset)), offset);
  return seq(
    whileLoop(
      lt(add(g(p), i32(28)), g(end)),
      ...accs.map((a, k) => f.set(a, f64x2Add(g(a), load(8 * k)))),
      f.set(p, add(g(p), i32(32))),
    ),
    whileLoop(
      lt(add(g(p), i32(4)), g(end)),
      f.set(accs[0], f64x2Add(g(accs[0]), load(0))),
      f.set(p, add(g(p), i32(8))),
    ),
  );
}

/** The sum of an `f64x2`'s two lanes (its operand is read twice: pass a `local.get`). */
export function laneSum(v: Code): Code {
  return f64Add(f64x2Lane(v, 0), f64x2Lane(v, 1));
}

/** The sum of the four `f64x2` accumulators' lanes (f64 on the stack). */
export function sumLanes(f: Fn, accs: readonly [string, string, string, string]): Code {
  const g = (n: string) => f.get(n);
  return seq(
    f.set(accs[0], f64x2Add(f64x2Add(g(accs[0]), g(accs[1])), f64x2Add(g(accs[2]), g(accs[3])))),
    laneSum(g(accs[0])),
  );
}

/** Loads `width` (1 or 2) float32s at `addr + offset` as an `f64x2` (lane 1 is 0 for a single float). */
export const loadF64 = (width: 1 | 2, addr: Code, offset = 0): Code =>
  f64x2Promote(width === 2 ? vLoad64Zero(addr, offset) : vLoad32Zero(addr, offset));

/** Stores the first `width` (1 or 2) lanes of an already demoted (float32) vector at `addr + offset`. */
export const storeDemoted = (width: 1 | 2, addr: Code, value: Code, offset = 0): Code =>
  width === 2 ? vStore64Lane(addr, value, 0, offset) : vStore32Lane(addr, value, 0, offset);

/** Rounds an `f64x2` to float32 and stores its first `width` (1 or 2) lanes at `addr + offset`. */
export const storeF32 = (width: 1 | 2, addr: Code, value: Code, offset = 0): Code =>
  storeDemoted(width, addr, f32x4Demote(value), offset);

/**
 * An elementwise pass over float32 streams that advance together: `ptrs[0]`
 * runs up to byte address `end` and every pointer moves with it. `body(width,
 * offset)` handles `width` elements at byte `offset` from each pointer (load
 * with {@link loadF64}, store with {@link storeF32}); it runs on pairs, four
 * elements per step, then a last pair and a last single element, so a tail
 * reuses the same float64 code with one lane. Every pointer ends advanced by
 * `end - ptrs[0]` (at `end` for the first).
 */
export function stream(
  f: Fn,
  ptrs: readonly string[],
  end: string,
  body: (width: 1 | 2, offset: number) => Code,
): Code {
  const g = (n: string) => f.get(n);
  const advance = (bytes: number) => seq(...ptrs.map((p) => f.set(p, add(g(p), i32(bytes)))));
  return seq(
    whileLoop(lt(add(g(ptrs[0]), i32(12)), g(end)), body(2, 0), body(2, 8), advance(16)),
    ifElse(lt(add(g(ptrs[0]), i32(4)), g(end)), seq(body(2, 0), advance(8))),
    ifElse(lt(g(ptrs[0]), g(end)), seq(body(1, 0), advance(4))),
  );
}

// ---- the kernels ----------------------------------------------------------------------------------------------------

const ACCS = ["s0", "s1", "s2", "s3"] as const;

/**
 * `red_sum_runs(src, out, rows, rowStride, reps, repStride, run)`: for each of
 * `rows` outputs r, the float64 sum of `reps` contiguous runs of `run` floats
 * starting at `src + r·rowStride + a·repStride` (element strides), rounded to
 * float32 into `out[r]`.
 */
function sumRuns(): Fn {
  const names = ["src", "out", "rows", "rowStride", "reps", "repStride", "run"];
  const f = new Fn("red_sum_runs", i32Params(names));
  f.local(I32, "r", "a", "row", "p", "end");
  f.local(F64, "acc");
  f.local(V128, ...ACCS);
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("run", shl(g("run"), i32(2))),
    f.set("row", g("src")),
    forCount(
      f,
      "r",
      "rows",
      setAll(f, ACCS, vZero()),
      f.set("acc", f64(0)),
      forCount(
        f,
        "a",
        "reps",
        f.set("p", add(g("row"), mul(g("a"), g("repStride")))),
        f.set("end", add(g("p"), g("run"))),
        pairsF64(f, "p", "end", ACCS),
        ifElse(lt(g("p"), g("end")), f.set("acc", f64Add(g("acc"), f64Promote(f32Load(g("p")))))),
      ),
      f32Store(add(g("out"), shl(g("r"), i32(2))), f32Demote(f64Add(g("acc"), sumLanes(f, ACCS)))),
      f.set("row", add(g("row"), g("rowStride"))),
    ),
  );
  return f;
}

/**
 * `red_max_runs` / `red_min_runs`: like {@link sumRuns} with the float32 max
 * (min) of the runs. The hot loops use `f32x4.pmax` (`pmin`), one x64
 * instruction, where the IEEE `f32x4.max` costs V8 a sequence of about eight
 * to order NaN and signed zeros; NaN is tracked in a separate `f32x4.ne(x, x)`
 * mask, so a NaN anywhere still makes the result NaN.
 */
function extremeRuns(op: "max" | "min"): Fn {
  const names = ["src", "out", "rows", "rowStride", "reps", "repStride", "run"];
  const f = new Fn(`red_${op}_runs`, i32Params(names));
  f.local(I32, "r", "a", "row", "p", "end");
  f.local(F32, "m");
  f.local(V128, ...ACCS, "t", "nan");
  const g = (n: string) => f.get(n);
  const vop = op === "max" ? f32x4Max : f32x4Min;
  // pmax(x, acc) = x < acc ? acc : x; pmin(x, acc) = acc < x ? acc : x.
  const pop = op === "max" ? f32x4PMax : f32x4PMin;
  const sop = op === "max" ? f32Max : f32Min;
  const init = op === "max" ? -Infinity : Infinity;
  const take = (acc: string, offset: number) =>
    seq(
      f.set("t", vLoad(g("p"), offset)),
      f.set(acc, pop(g("t"), g(acc))),
      f.set("nan", vOr(g("nan"), f32x4Ne(g("t"), g("t")))),
    );
  f.body = seq(
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("run", shl(g("run"), i32(2))),
    f.set("row", g("src")),
    forCount(
      f,
      "r",
      "rows",
      setAll(f, ACCS, f32x4Splat(f32(init))),
      f.set("nan", vZero()),
      f.set("m", f32(init)),
      forCount(
        f,
        "a",
        "reps",
        f.set("p", add(g("row"), mul(g("a"), g("repStride")))),
        f.set("end", add(g("p"), g("run"))),
        whileLoop(
          lt(add(g("p"), i32(60)), g("end")),
          ...ACCS.map((acc, k) => take(acc, 16 * k)),
          f.set("p", add(g("p"), i32(64))),
        ),
        whileLoop(lt(add(g("p"), i32(12)), g("end")), take("s0", 0), f.set("p", add(g("p"), i32(16)))),
        whileLoop(
          lt(g("p"), g("end")),
          f.set("m", sop(g("m"), f32Load(g("p")))),
          f.set("p", add(g("p"), i32(4))),
        ),
      ),
      f.set("s0", vop(vop(g("s0"), g("s1")), vop(g("s2"), g("s3")))),
      f.set(
        "m",
        sop(
          g("m"),
          sop(sop(f32x4Lane(g("s0"), 0), f32x4Lane(g("s0"), 1)), sop(f32x4Lane(g("s0"), 2), f32x4Lane(g("s0"), 3))),
        ),
      ),
      f32Store(add(g("out"), shl(g("r"), i32(2))), select(f32(NaN), g("m"), vAnyTrue(g("nan")))),
      f.set("row", add(g("row"), g("rowStride"))),
    ),
  );
  return f;
}

/**
 * For each of the `reps × rows` source rows of a column reduction, in memory
 * order: `p` at the row (`src + a·repStride + i·rowStride`, strides already
 * in bytes), `q` at the first accumulator (the address in local `q0`), then
 * `body`.
 */
function eachSourceRow(f: Fn, q0: string, ...body: Code[]): Code {
  const g = (n: string) => f.get(n);
  return forCount(
    f,
    "a",
    "reps",
    forCount(
      f,
      "i",
      "rows",
      f.set("p", add(add(g("src"), mul(g("a"), g("repStride"))), mul(g("i"), g("rowStride")))),
      f.set("q", g(q0)),
      ...body,
    ),
  );
}

/**
 * `red_sum_cols(src, out, cols, reps, repStride, rows, rowStride, acc)`:
 * `out[j] = Σ_{a, i} src[a·repStride + i·rowStride + j]` for `j < cols`
 * (element strides) — sums over leading dims of a row-major block, reading
 * memory in order: each row is added into `cols` float64 accumulators at
 * byte address `acc` (scratch), then rounded into `out`. The same order of
 * additions as the TypeScript `sumRows`, so the results are bit-identical.
 */
function sumCols(): Fn {
  const names = ["src", "out", "cols", "reps", "repStride", "rows", "rowStride", "acc"];
  const f = new Fn("red_sum_cols", i32Params(names));
  f.local(I32, "a", "i", "p", "q", "qend", "o", "oend");
  const g = (n: string) => f.get(n);
  const addPair = (offset: number) =>
    vStore(
      g("q"),
      f64x2Add(vLoad(g("q"), 2 * offset), f64x2Promote(vLoad64Zero(g("p"), offset))),
      2 * offset,
    );
  f.body = seq(
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("qend", add(g("acc"), shl(g("cols"), i32(3)))),
    memFill(g("acc"), i32(0), shl(g("cols"), i32(3))),
    eachSourceRow(
      f,
      "acc",
      whileLoop(
        lt(add(g("q"), i32(56)), g("qend")),
        addPair(0),
        addPair(8),
        addPair(16),
        addPair(24),
        f.set("p", add(g("p"), i32(32))),
        f.set("q", add(g("q"), i32(64))),
      ),
      whileLoop(
        lt(g("q"), g("qend")),
        f64Store(g("q"), f64Add(f64Load(g("q")), f64Promote(f32Load(g("p"))))),
        f.set("p", add(g("p"), i32(4))),
        f.set("q", add(g("q"), i32(8))),
      ),
    ),
    f.set("q", g("acc")),
    f.set("o", g("out")),
    f.set("oend", add(g("out"), shl(g("cols"), i32(2)))),
    whileLoop(
      lt(add(g("o"), i32(4)), g("oend")),
      vStore64Lane(g("o"), f32x4Demote(vLoad(g("q"))), 0),
      f.set("o", add(g("o"), i32(8))),
      f.set("q", add(g("q"), i32(16))),
    ),
    ifElse(lt(g("o"), g("oend")), f32Store(g("o"), f32Demote(f64Load(g("q"))))),
  );
  return f;
}

/**
 * `red_max_cols` / `red_min_cols(src, out, cols, reps, repStride, rows, rowStride)`:
 * like {@link sumCols} with the max (min), accumulated in `out` itself
 * (float32 is exact for these), starting from a copy of the first row.
 */
function extremeCols(op: "max" | "min"): Fn {
  const names = ["src", "out", "cols", "reps", "repStride", "rows", "rowStride"];
  const f = new Fn(`red_${op}_cols`, i32Params(names));
  f.local(I32, "a", "i", "p", "q", "qend");
  const g = (n: string) => f.get(n);
  const vop = op === "max" ? f32x4Max : f32x4Min;
  const sop = op === "max" ? f32Max : f32Min;
  f.body = seq(
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("qend", add(g("out"), shl(g("cols"), i32(2)))),
    memCopy(g("out"), g("src"), shl(g("cols"), i32(2))),
    eachSourceRow(
      f,
      "out",
      whileLoop(
        lt(add(g("q"), i32(28)), g("qend")),
        vStore(g("q"), vop(vLoad(g("q")), vLoad(g("p")))),
        vStore(g("q"), vop(vLoad(g("q"), 16), vLoad(g("p"), 16)), 16),
        f.set("p", add(g("p"), i32(32))),
        f.set("q", add(g("q"), i32(32))),
      ),
      whileLoop(
        lt(g("q"), g("qend")),
        f32Store(g("q"), sop(f32Load(g("q")), f32Load(g("p")))),
        f.set("p", add(g("p"), i32(4))),
        f.set("q", add(g("q"), i32(4))),
      ),
    ),
  );
  return f;
}

/** The reduce kernels' functions and exports; `base` is the module index of the first function. */
export function reduceKernels(_base: number): KernelFamily {
  const fns = [sumRuns(), extremeRuns("max"), extremeRuns("min"), sumCols(), extremeCols("max"), extremeCols("min")];
  return { fns, exports: fns.map((f) => f.name) };
}
