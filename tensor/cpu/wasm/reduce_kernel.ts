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
 * This file also exports the float64 and extra SIMD instructions the norm and
 * optimizer families share (the assembler has only what SGEMM needs).
 *
 * @module
 */

import {
  add,
  block,
  br,
  brIf,
  type Code,
  F32,
  f32,
  f32Load,
  f32Store,
  Fn,
  I32,
  i32,
  ifElse,
  loop,
  lt,
  memCopy,
  memFill,
  mul,
  select,
  seq,
  shl,
  simd,
  uleb,
  V128,
  vLoad,
  vStore,
  vZero,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

// ---- float64 scalars and the extra SIMD instructions (shared with norm_kernel.ts, optim_kernel.ts) -----------------

/** Value type `f64`. */
export const F64 = 0x7c;
/** `f64.const`. */
export const f64 = (v: number): Code => [0x44, ...new Uint8Array(new Float64Array([v]).buffer)];
/** `f64.add`. */
export const f64Add = (a: Code, b: Code): Code => seq(a, b, 0xa0);
/** `f64.sub`. */
export const f64Sub = (a: Code, b: Code): Code => seq(a, b, 0xa1);
/** `f64.mul`. */
export const f64Mul = (a: Code, b: Code): Code => seq(a, b, 0xa2);
/** `f64.div`. */
export const f64Div = (a: Code, b: Code): Code => seq(a, b, 0xa3);
/** `f64.load` (8-byte alignment hint: float64 scratch is 64-byte aligned). */
export const f64Load = (addr: Code, offset = 0): Code => seq(addr, 0x2b, 3, uleb(offset));
/** `f64.store`. */
export const f64Store = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, 0x39, 3, uleb(offset));
/** `f64.promote_f32`. */
export const promote = (a: Code): Code => seq(a, 0xbb);
/** `f32.demote_f64` (round to nearest even, as storing a JavaScript number into a Float32Array does). */
export const demote = (a: Code): Code => seq(a, 0xb6);
/** `f64.convert_i32_s`. */
export const f64OfI32 = (a: Code): Code => seq(a, 0xb7);
/** `f32.max` (NaN-propagating). */
export const f32Max = (a: Code, b: Code): Code => seq(a, b, 0x97);
/** `f32.min` (NaN-propagating). */
export const f32Min = (a: Code, b: Code): Code => seq(a, b, 0x96);

/** `v128.load32_zero`: one float into lane 0, zeros elsewhere. */
export const vLoad32Zero = (addr: Code, offset = 0): Code => seq(addr, simd(0x5c), 2, uleb(offset));
/** `v128.load64_zero`: two floats into lanes 0–1 (the operand of {@link f64x2Promote}). */
export const vLoad64Zero = (addr: Code, offset = 0): Code => seq(addr, simd(0x5d), 2, uleb(offset));
/** `v128.store32_lane` of lane `lane`. */
export const vStore32Lane = (addr: Code, value: Code, lane: number, offset = 0): Code =>
  seq(addr, value, simd(0x5a), 2, uleb(offset), lane);
/** `v128.store64_lane` of lane `lane` (lane 0 of a demoted pair: its two floats). */
export const vStore64Lane = (addr: Code, value: Code, lane: number, offset = 0): Code =>
  seq(addr, value, simd(0x5b), 2, uleb(offset), lane);
/** `f64x2.promote_low_f32x4`: lanes 0–1 of a float32 vector as float64. */
export const f64x2Promote = (a: Code): Code => seq(a, simd(0x5f));
/** `f32x4.demote_f64x2_zero`: a float64 pair rounded into lanes 0–1, zeros in 2–3. */
export const f32x4Demote = (a: Code): Code => seq(a, simd(0x5e));
/** `f64x2.splat`. */
export const f64x2Splat = (a: Code): Code => seq(a, simd(0x14));
/** `f64x2.extract_lane`. */
export const f64x2Lane = (a: Code, lane: number): Code => seq(a, simd(0x21), lane);
/** `f64x2.add`. */
export const f64x2Add = (a: Code, b: Code): Code => seq(a, b, simd(0xf0));
/** `f64x2.sub`. */
export const f64x2Sub = (a: Code, b: Code): Code => seq(a, b, simd(0xf1));
/** `f64x2.mul`. */
export const f64x2Mul = (a: Code, b: Code): Code => seq(a, b, simd(0xf2));
/** `f64x2.div`. */
export const f64x2Div = (a: Code, b: Code): Code => seq(a, b, simd(0xf3));
/** `f64x2.max` (NaN-propagating, like `Math.max`). */
export const f64x2Max = (a: Code, b: Code): Code => seq(a, b, simd(0xf5));
/** `f64x2.sqrt`. */
export const f64x2Sqrt = (a: Code): Code => seq(a, simd(0xef));
/** `f32x4.splat`. */
export const f32x4Splat = (a: Code): Code => seq(a, simd(0x13));
/** `f32x4.extract_lane`. */
export const f32x4Lane = (a: Code, lane: number): Code => seq(a, simd(0x1f), lane);
/** `f32x4.max` (NaN-propagating). */
export const f32x4Max = (a: Code, b: Code): Code => seq(a, b, simd(0xe9));
/** `f32x4.pmax(a, b)` = `a < b ? b : a` (one `maxps`; NaN and signed zeros follow the operand order). */
export const f32x4PMax = (a: Code, b: Code): Code => seq(a, b, simd(0xeb));
/** `f32x4.pmin(a, b)` = `b < a ? b : a`. */
export const f32x4PMin = (a: Code, b: Code): Code => seq(a, b, simd(0xea));
/** `f32x4.ne` (all ones where the lanes differ; a NaN lane differs from itself). */
export const f32x4Ne = (a: Code, b: Code): Code => seq(a, b, simd(0x42));
/** `v128.or`. */
export const vOr = (a: Code, b: Code): Code => seq(a, b, simd(0x50));
/** `v128.any_true` (i32). */
export const vAnyTrue = (a: Code): Code => seq(a, simd(0x53));
/** `f32x4.min` (NaN-propagating). */
export const f32x4Min = (a: Code, b: Code): Code => seq(a, b, simd(0xe8));

/** `while (cond) body` — `cond` exits when false; the body must not branch out. */
export const whileLoop = (cond: Code, ...body: Code[]): Code => block(loop(brIf(1, seq(cond, 0x45)), ...body, br(0)));

/**
 * `acc0..acc3 += promote(pairs)` over the float32s at byte addresses `[p, end)`:
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

/** The sum of the four `f64x2` accumulators' lanes (f64 on the stack). */
export function sumLanes(f: Fn, accs: readonly [string, string, string, string]): Code {
  const g = (n: string) => f.get(n);
  return seq(
    f.set(accs[0], f64x2Add(f64x2Add(g(accs[0]), g(accs[1])), f64x2Add(g(accs[2]), g(accs[3])))),
    f64Add(f64x2Lane(g(accs[0]), 0), f64x2Lane(g(accs[0]), 1)),
  );
}

/** Loads `width` (1 or 2) float32s at `addr + offset` as an `f64x2` (lane 1 is 0 for a single float). */
export const loadF64 = (width: 1 | 2, addr: Code, offset = 0): Code =>
  f64x2Promote(width === 2 ? vLoad64Zero(addr, offset) : vLoad32Zero(addr, offset));

/** Rounds an `f64x2` to float32 and stores its first `width` (1 or 2) lanes at `addr + offset`. */
export const storeF32 = (width: 1 | 2, addr: Code, value: Code, offset = 0): Code =>
  width === 2 ? vStore64Lane(addr, f32x4Demote(value), 0, offset) : vStore32Lane(addr, f32x4Demote(value), 0, offset);

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

/** Sets every named local to `value`. */
export function setAll(f: Fn, names: readonly string[], value: Code): Code {
  return seq(...names.map((n) => f.set(n, value)));
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
  const f = new Fn("red_sum_runs", names.map((n) => [n, I32] as [string, number]));
  f.local(I32, "r", "a", "row", "p", "end");
  f.local(F64, "acc");
  f.local(V128, ...ACCS);
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("run", shl(g("run"), i32(2))),
    f.set("row", g("src")),
    f.set("r", i32(0)),
    whileLoop(
      lt(g("r"), g("rows")),
      setAll(f, ACCS, vZero()),
      f.set("acc", f64(0)),
      f.set("a", i32(0)),
      whileLoop(
        lt(g("a"), g("reps")),
        f.set("p", add(g("row"), mul(g("a"), g("repStride")))),
        f.set("end", add(g("p"), g("run"))),
        pairsF64(f, "p", "end", ACCS),
        ifElse(lt(g("p"), g("end")), f.set("acc", f64Add(g("acc"), promote(f32Load(g("p")))))),
        f.set("a", add(g("a"), i32(1))),
      ),
      f32Store(add(g("out"), shl(g("r"), i32(2))), demote(f64Add(g("acc"), sumLanes(f, ACCS)))),
      f.set("row", add(g("row"), g("rowStride"))),
      f.set("r", add(g("r"), i32(1))),
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
  const f = new Fn(`red_${op}_runs`, names.map((n) => [n, I32] as [string, number]));
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
    f.set("r", i32(0)),
    whileLoop(
      lt(g("r"), g("rows")),
      setAll(f, ACCS, f32x4Splat(f32(init))),
      f.set("nan", vZero()),
      f.set("m", f32(init)),
      f.set("a", i32(0)),
      whileLoop(
        lt(g("a"), g("reps")),
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
        f.set("a", add(g("a"), i32(1))),
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
      f.set("r", add(g("r"), i32(1))),
    ),
  );
  return f;
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
  const f = new Fn("red_sum_cols", names.map((n) => [n, I32] as [string, number]));
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
    f.set("a", i32(0)),
    whileLoop(
      lt(g("a"), g("reps")),
      f.set("i", i32(0)),
      whileLoop(
        lt(g("i"), g("rows")),
        f.set("p", add(add(g("src"), mul(g("a"), g("repStride"))), mul(g("i"), g("rowStride")))),
        f.set("q", g("acc")),
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
          f64Store(g("q"), f64Add(f64Load(g("q")), promote(f32Load(g("p"))))),
          f.set("p", add(g("p"), i32(4))),
          f.set("q", add(g("q"), i32(8))),
        ),
        f.set("i", add(g("i"), i32(1))),
      ),
      f.set("a", add(g("a"), i32(1))),
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
    ifElse(lt(g("o"), g("oend")), f32Store(g("o"), demote(f64Load(g("q"))))),
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
  const f = new Fn(`red_${op}_cols`, names.map((n) => [n, I32] as [string, number]));
  f.local(I32, "a", "i", "p", "q", "qend");
  const g = (n: string) => f.get(n);
  const vop = op === "max" ? f32x4Max : f32x4Min;
  const sop = op === "max" ? f32Max : f32Min;
  f.body = seq(
    f.set("repStride", shl(g("repStride"), i32(2))),
    f.set("rowStride", shl(g("rowStride"), i32(2))),
    f.set("qend", add(g("out"), shl(g("cols"), i32(2)))),
    memCopy(g("out"), g("src"), shl(g("cols"), i32(2))),
    f.set("a", i32(0)),
    whileLoop(
      lt(g("a"), g("reps")),
      f.set("i", i32(0)),
      whileLoop(
        lt(g("i"), g("rows")),
        f.set("p", add(add(g("src"), mul(g("a"), g("repStride"))), mul(g("i"), g("rowStride")))),
        f.set("q", g("out")),
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
        f.set("i", add(g("i"), i32(1))),
      ),
      f.set("a", add(g("a"), i32(1))),
    ),
  );
  return f;
}

/** The reduce kernels' functions and exports; `base` is the module index of the first function. */
export function reduceKernels(_base: number): KernelFamily {
  const fns = [sumRuns(), extremeRuns("max"), extremeRuns("min"), sumCols(), extremeCols("max"), extremeCols("min")];
  return { fns, exports: fns.map((f) => f.name) };
}
