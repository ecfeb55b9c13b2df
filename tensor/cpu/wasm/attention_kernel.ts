/**
 * WebAssembly SIMD kernels of the fused attention (generator), part of the
 * SGEMM module so that the GEMM worker threads run them too. They work on
 * float32 tiles in per-thread scratch; `attention_jobs.ts` strings them into
 * the FlashAttention-2 loops (`../attention.ts` is the TypeScript reference of
 * the same recurrence).
 *
 * Exports (pointers are byte addresses, strides and sizes in elements):
 * - `attn_mm(m, n, k, a, ais, aps, b, ldb, c, ldc, acc, alpha)`: `C (+)= α·A·B`
 *   for `m` a multiple of 4 and `n` of 8, A read as scalars at any strides
 *   (so `Aᵀ` costs nothing), B and C by rows (unit stride); a 4×8 register tile;
 * - `attn_fix(s, lds, rows, cols, valid, row0, col0, causal, mkind, mptr, mrs, mcs, scale)`:
 *   scores `s·scale`, then `-inf` for columns at or past `valid`, above the
 *   causal diagonal (global row `row0 + r`, column `col0 + c`), or where a bool
 *   mask (`mkind` 1, bytes) is 0; a float mask (`mkind` 2) is added;
 * - `attn_online(s, lds, rows, cols, ml, o, ldo, ovecs)`: the online softmax
 *   step: per row, the new maximum `m`, `P = exp(s - m)` in place, `l` updated
 *   and the output accumulator rescaled by `exp(m_old - m)` (`ml` holds `m, l`
 *   pairs); a row with no finite score so far gets `P = 0`;
 * - `attn_dropout(src, dst, ld, rows, cols, seedHash, lo, hi, rowStride, threshold, keepScale)`:
 *   `dst = src·keepScale` where the 24-bit draw at counter `(hi, lo) + r·rowStride + c`
 *   reaches `threshold`, else 0 (the generator of `tensor/random.ts`, carries included);
 * - `attn_bwd_p(s, lds, rows, cols, lse)`: `P = exp(s - lse[r])` in place (0 for a row with `lse = -inf`);
 * - `attn_bwd_ds(p, dp, ld, rows, cols, d)`: `dp = p·(dp - d[r])` in place;
 * - `attn_copy(dst, ldd, src, srs, rows, cols, padCols, padRows)`: rows copied, zero-padded to `padCols × padRows`;
 * - `attn_copy_t(dst, ldd, src, srs, rows, cols)`: `dst[c, r] = src[r, c]`;
 * - `attn_scale_rows(dst, ldd, src, srs, rows, cols, ml)`: `dst = src / l` per row (0 where `l` is 0);
 * - `attn_rowdot(a, lda, b, ldb, rows, cols, out)`: `out[r] = Σ a[r, ·]·b[r, ·]`.
 *
 * `exp` is Cephes' `expf` on four lanes: `2ⁿ·e^r` with `n = round(x·log₂e)`,
 * `r = x - n·ln 2` in two parts and a degree-6 polynomial (within 2 ulp of
 * float32 `exp`); inputs below -87.34 give exactly 0, so masked scores (`-inf`)
 * weigh nothing.
 *
 * @module
 */

import {
  add,
  type Code,
  eq,
  eqz,
  F32,
  f32,
  f32Add,
  f32Div,
  f32Eq,
  f32Gt,
  f32Load,
  f32Max,
  f32Mul,
  f32Store,
  f32Sub,
  f32x4Const,
  f32x4Ge,
  f32x4Lane,
  f32x4Max,
  f32x4Min,
  f32x4Nearest,
  f32x4Splat,
  f32x4Sub,
  Fn,
  forCount,
  forRange,
  geU,
  I32,
  i32,
  i32Load8U,
  i32Params,
  i32x4Add,
  i32x4Const,
  i32x4Shl,
  i32x4TruncSatF32x4S,
  ifElse,
  lt,
  ltU,
  max,
  memCopy,
  memFill,
  mul,
  select,
  seq,
  shl,
  shrU,
  sub,
  V128,
  vAdd,
  vAnd,
  vLoad,
  vLoadSplat,
  vMadd,
  vMul,
  vStore,
  vZero,
  xor,
} from "./assembler.ts";

/** `-inf` as an f32 constant. */
const NEG_INF = f32(-Infinity);

/** Lanes of `f32x4` exp's polynomial and range reduction (Cephes `expf`). */
const EXP = {
  lo: -87.33654,
  hi: 88.0,
  log2e: 1.44269504088896341,
  c1: 0.693359375,
  c2: -2.12194440e-4,
  p: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
};

/** Declares the locals {@link vexp} uses (`suffix` names a second set, for {@link vexpSteps} run side by side). */
export function expLocals(f: Fn, suffix = ""): void {
  f.local(V128, ...["ex_x", "ex_c", "ex_n", "ex_r", "ex_y"].map((n) => n + suffix));
}

/**
 * `exp` of the four lanes of `x` (a vector expression), as an expression.
 * Uses the locals of {@link expLocals}; `madd` is the module's multiply-add.
 */
export function vexp(
  f: Fn,
  x: Code,
  madd: (a: Code, b: Code, c: Code) => Code,
  k: (v: number) => Code = f32x4Const,
): Code {
  const { steps, value } = vexpSteps(f, x, madd, "", k);
  return seq(...steps, value);
}

/**
 * Constant vectors for `f` as locals: `k(v)` declares (once per value) a local holding `v` in every lane and reads
 * it; `sets` are the statements that fill them, to run once at the top of the body — after the code that calls `k`
 * has been generated. A `v128.const` inside a loop is rebuilt from immediates at every use, several instructions each;
 * `exp` alone has a dozen.
 */
export function hoistedConstants(f: Fn): { k: (v: number) => Code; sets: Code[] } {
  const names = new Map<number, string>(), sets: Code[] = [];
  const k = (v: number): Code => {
    let name = names.get(v);
    if (name === undefined) {
      names.set(v, name = `k${names.size}`);
      f.local(V128, name);
      sets.push(f.set(name, f32x4Const(v)));
    }
    return f.get(name);
  };
  return { k, sets };
}

/**
 * {@link vexp} as its statements and the final expression, on the locals of `expLocals(f, suffix)`: a caller that
 * computes several vectors at once interleaves the statements of each, so their dependency chains overlap. `k` makes
 * each constant vector (default `f32x4Const`; a caller may hand out locals set once, outside its loop).
 */
export function vexpSteps(
  f: Fn,
  x: Code,
  madd: (a: Code, b: Code, c: Code) => Code,
  suffix = "",
  k: (v: number) => Code = f32x4Const,
): { steps: Code[]; value: Code } {
  const f32x4Const = k;
  const g = (n: string) => f.get(n + suffix);
  const set = (n: string, v: Code) => f.set(n + suffix, v);
  let poly = f32x4Const(EXP.p[0]);
  for (const c of EXP.p.slice(1)) poly = madd(poly, g("ex_r"), f32x4Const(c));
  return {
    steps: [
      set("ex_x", x),
      set("ex_c", f32x4Min(f32x4Max(g("ex_x"), f32x4Const(EXP.lo)), f32x4Const(EXP.hi))),
      set("ex_n", f32x4Nearest(vMul(g("ex_c"), f32x4Const(EXP.log2e)))),
      set(
        "ex_r",
        f32x4Sub(f32x4Sub(g("ex_c"), vMul(g("ex_n"), f32x4Const(EXP.c1))), vMul(g("ex_n"), f32x4Const(EXP.c2))),
      ),
      // y = poly(r)·r² + r + 1
      set("ex_y", vAdd(vAdd(vMul(poly, vMul(g("ex_r"), g("ex_r"))), g("ex_r")), f32x4Const(1))),
    ],
    // ·2ⁿ built in the exponent bits; lanes below the range (and -inf, NaN) become 0.
    value: vAnd(
      vMul(g("ex_y"), i32x4Shl(i32x4Add(i32x4TruncSatF32x4S(g("ex_n")), i32x4Const([127, 127, 127, 127])), i32(23))),
      f32x4Ge(g("ex_x"), f32x4Const(EXP.lo)),
    ),
  };
}

/** The largest of a vector's four lanes (f32 on the stack; `v` is read four times: pass a `local.get`). */
function hmax(v: Code): Code {
  return f32Max(f32Max(f32x4Lane(v, 0), f32x4Lane(v, 1)), f32Max(f32x4Lane(v, 2), f32x4Lane(v, 3)));
}

/** The sum of a vector's four lanes. */
function hsum(v: Code): Code {
  return f32Add(f32Add(f32x4Lane(v, 0), f32x4Lane(v, 1)), f32Add(f32x4Lane(v, 2), f32x4Lane(v, 3)));
}

type Madd = (a: Code, b: Code, c: Code) => Code;

/** Rows of the `attn_mm` register tile. */
export const MM_ROWS = 4;
/** Columns of the `attn_mm` register tile. */
export const MM_COLS = 8;

function mm(madd: Madd): Fn {
  const f = new Fn("attn_mm", [
    ...i32Params(["m", "n", "k", "a", "ais", "aps", "b", "ldb", "c", "ldc", "acc"]),
    ["alpha", F32],
  ]);
  const rows = [0, 1, 2, 3], vecs = [0, 1];
  const acc = (r: number, v: number) => `acc${r}_${v}`;
  f.local(I32, "i", "j", "p", "pb", "pc", "aisb", "apsb", "ldbb", "ldcb", ...rows.map((r) => `pa${r}`));
  f.local(V128, ...rows.flatMap((r) => vecs.map((v) => acc(r, v))), "b0", "b1", "av", "al");
  const g = (n: string) => f.get(n);
  const step: Code[] = [f.set("b0", vLoad(g("pb"))), f.set("b1", vLoad(g("pb"), 16))];
  for (const r of rows) {
    step.push(f.set("av", vLoadSplat(g(`pa${r}`))));
    for (const v of vecs) step.push(f.set(acc(r, v), madd(g("av"), g(`b${v}`), g(acc(r, v)))));
    step.push(f.set(`pa${r}`, add(g(`pa${r}`), g("apsb"))));
  }
  step.push(f.set("pb", add(g("pb"), g("ldbb"))));
  const store = (accumulate: boolean): Code => {
    const out: Code[] = [];
    for (const r of rows) {
      for (const v of vecs) {
        const scaled = vMul(g(acc(r, v)), g("al"));
        out.push(vStore(g("pc"), accumulate ? vAdd(vLoad(g("pc"), 16 * v), scaled) : scaled, 16 * v));
      }
      out.push(f.set("pc", add(g("pc"), g("ldcb"))));
    }
    return seq(...out);
  };
  f.body = seq(
    f.set("aisb", shl(g("ais"), i32(2))),
    f.set("apsb", shl(g("aps"), i32(2))),
    f.set("ldbb", shl(g("ldb"), i32(2))),
    f.set("ldcb", shl(g("ldc"), i32(2))),
    f.set("al", f32x4Splat(g("alpha"))),
    forRange(
      f,
      "i",
      i32(0),
      g("m"),
      i32(MM_ROWS),
      forRange(
        f,
        "j",
        i32(0),
        g("n"),
        i32(MM_COLS),
        ...rows.flatMap((r) => vecs.map((v) => f.set(acc(r, v), vZero()))),
        f.set("pa0", add(g("a"), mul(g("i"), g("aisb")))),
        ...[1, 2, 3].map((r) => f.set(`pa${r}`, add(g(`pa${r - 1}`), g("aisb")))),
        f.set("pb", add(g("b"), shl(g("j"), i32(2)))),
        forCount(f, "p", "k", ...step),
        f.set("pc", add(add(g("c"), mul(g("i"), g("ldcb"))), shl(g("j"), i32(2)))),
        ifElse(g("acc"), store(true), store(false)),
      ),
    ),
  );
  return f;
}

function fix(): Fn {
  const f = new Fn("attn_fix", [
    ...i32Params(["s", "lds", "rows", "cols", "valid", "row0", "col0", "causal", "mkind", "mptr", "mrs", "mcs"]),
    ["scale", F32],
  ]);
  f.local(I32, "r", "c", "row", "end", "first", "mrow");
  f.local(V128, "sv");
  const g = (n: string) => f.get(n);
  const at = (c: Code) => add(g("row"), shl(c, i32(2)));
  const setInf = (from: Code, to: string) => forRange(f, "c", from, g(to), i32(1), f32Store(at(g("c")), NEG_INF));
  f.body = seq(
    f.set("sv", f32x4Splat(g("scale"))),
    forCount(
      f,
      "r",
      "rows",
      f.set("row", add(g("s"), shl(mul(g("r"), g("lds")), i32(2)))),
      forRange(f, "c", i32(0), g("cols"), i32(4), vStore(at(g("c")), vMul(vLoad(at(g("c"))), g("sv")))),
      ifElse(
        eq(g("mkind"), i32(1)),
        seq(
          f.set("mrow", add(g("mptr"), mul(g("r"), g("mrs")))),
          forRange(
            f,
            "c",
            i32(0),
            g("valid"),
            i32(1),
            ifElse(eqz(i32Load8U(add(g("mrow"), mul(g("c"), g("mcs"))))), f32Store(at(g("c")), NEG_INF)),
          ),
        ),
      ),
      ifElse(
        eq(g("mkind"), i32(2)),
        seq(
          f.set("mrow", add(g("mptr"), shl(mul(g("r"), g("mrs")), i32(2)))),
          forRange(
            f,
            "c",
            i32(0),
            g("valid"),
            i32(1),
            f32Store(
              at(g("c")),
              f32Add(f32Load(at(g("c"))), f32Load(add(g("mrow"), shl(mul(g("c"), g("mcs")), i32(2))))),
            ),
          ),
        ),
      ),
      // Causal: columns past the row's own position (global row0 + r), then columns past `valid`.
      f.set("end", g("valid")),
      ifElse(
        g("causal"),
        seq(
          f.set("first", add(sub(add(g("row0"), g("r")), g("col0")), i32(1))),
          f.set("first", max(g("first"), i32(0))),
          ifElse(lt(g("first"), g("end")), seq(setInf(g("first"), "end"), f.set("end", g("first")))),
        ),
      ),
      setInf(g("valid"), "cols"),
    ),
  );
  return f;
}

function online(madd: Madd): Fn {
  const f = new Fn("attn_online", i32Params(["s", "lds", "rows", "cols", "ml", "o", "ldo", "ovecs"]));
  f.local(I32, "r", "c", "row", "orow", "mlr", "end");
  f.local(F32, "mold", "mnew", "alpha");
  f.local(V128, "mx", "sum", "mv", "pv", "av");
  expLocals(f);
  const { k, sets } = hoistedConstants(f);
  const g = (n: string) => f.get(n);
  const at = (c: Code) => add(g("row"), shl(c, i32(2)));
  const body = seq(
    forCount(
      f,
      "r",
      "rows",
      f.set("row", add(g("s"), shl(mul(g("r"), g("lds")), i32(2)))),
      f.set("mlr", add(g("ml"), shl(g("r"), i32(3)))),
      f.set("mx", f32x4Splat(NEG_INF)),
      forRange(f, "c", i32(0), g("cols"), i32(4), f.set("mx", f32x4Max(g("mx"), vLoad(at(g("c")))))),
      f.set("mold", f32Load(g("mlr"))),
      f.set("mnew", f32Max(g("mold"), hmax(g("mx")))),
      ifElse(
        f32Eq(g("mnew"), NEG_INF),
        forRange(f, "c", i32(0), g("cols"), i32(4), vStore(at(g("c")), vZero())),
        seq(
          f.set("alpha", f32x4Lane(vexp(f, f32x4Splat(f32Sub(g("mold"), g("mnew"))), madd, k), 0)),
          f.set("mv", f32x4Splat(g("mnew"))),
          f.set("sum", vZero()),
          forRange(
            f,
            "c",
            i32(0),
            g("cols"),
            i32(4),
            f.set("pv", vexp(f, f32x4Sub(vLoad(at(g("c"))), g("mv")), madd, k)),
            vStore(at(g("c")), g("pv")),
            f.set("sum", vAdd(g("sum"), g("pv"))),
          ),
          f32Store(g("mlr"), g("mnew")),
          f32Store(g("mlr"), f32Add(f32Mul(f32Load(g("mlr"), 4), g("alpha")), hsum(g("sum"))), 4),
          ifElse(
            eqz(f32Eq(g("alpha"), f32(1))),
            seq(
              f.set("av", f32x4Splat(g("alpha"))),
              f.set("orow", add(g("o"), shl(mul(g("r"), g("ldo")), i32(2)))),
              f.set("end", add(g("orow"), shl(g("ovecs"), i32(4)))),
              forRange(
                f,
                "c",
                g("orow"),
                g("end"),
                i32(16),
                vStore(g("c"), vMul(vLoad(g("c")), g("av"))),
              ),
            ),
          ),
        ),
      ),
    ),
  );
  f.body = seq(...sets, body);
  return f;
}

/** Code setting local `out` to PCG-RXS-M-XS of the i32 `v` (as `pcgHash` in `tensor/random.ts`); uses local `st`. */
function pcg(f: Fn, v: Code, out: string): Code {
  const g = (n: string) => f.get(n);
  return seq(
    f.set("st", add(mul(v, i32(747796405)), i32(2891336453 | 0))),
    f.set(out, mul(xor(shrU(g("st"), add(shrU(g("st"), i32(28)), i32(4))), g("st")), i32(277803737))),
    f.set(out, xor(shrU(g(out), i32(22)), g(out))),
  );
}

function dropout(): Fn {
  const f = new Fn("attn_dropout", [
    ...i32Params(["src", "dst", "ld", "rows", "cols", "seedh", "lo", "hi", "rowStride", "threshold"]),
    ["keepScale", F32],
  ]);
  f.local(I32, "r", "c", "le", "st", "h", "off", "keyA", "keyB");
  const g = (n: string) => f.get(n);
  f.body = forCount(
    f,
    "r",
    "rows",
    // The hashed high word of this row's counters, and of the next high word for columns past a carry.
    pcg(f, xor(g("seedh"), g("hi")), "keyA"),
    pcg(f, xor(g("seedh"), add(g("hi"), i32(1))), "keyB"),
    forCount(
      f,
      "c",
      "cols",
      f.set("le", add(g("lo"), g("c"))),
      pcg(f, add(select(g("keyB"), g("keyA"), ltU(g("le"), g("lo"))), g("le")), "h"),
      f.set("off", shl(add(mul(g("r"), g("ld")), g("c")), i32(2))),
      f32Store(
        add(g("dst"), g("off")),
        select(
          f32Mul(f32Load(add(g("src"), g("off"))), g("keepScale")),
          f32(0),
          geU(shrU(g("h"), i32(8)), g("threshold")),
        ),
      ),
    ),
    // The next row's counter: lo += rowStride with the carry into hi.
    f.set("le", add(g("lo"), g("rowStride"))),
    f.set("hi", add(g("hi"), ltU(g("le"), g("lo")))),
    f.set("lo", g("le")),
  );
  return f;
}

/** `dst[r, c] = src[r, c] / l[r]` (0 where `l[r]` is 0), `l[r]` the second float of `ml`'s pair `r`. */
function scaleRows(): Fn {
  const f = new Fn("attn_scale_rows", i32Params(["dst", "ldd", "src", "srs", "rows", "cols", "ml"]));
  f.local(I32, "r", "c", "d", "sp");
  f.local(F32, "l", "inv");
  const g = (n: string) => f.get(n);
  f.body = forCount(
    f,
    "r",
    "rows",
    f.set("l", f32Load(add(g("ml"), shl(g("r"), i32(3))), 4)),
    f.set("inv", select(f32Div(f32(1), g("l")), f32(0), f32Gt(g("l"), f32(0)))),
    f.set("d", add(g("dst"), shl(mul(g("r"), g("ldd")), i32(2)))),
    f.set("sp", add(g("src"), shl(mul(g("r"), g("srs")), i32(2)))),
    forCount(
      f,
      "c",
      "cols",
      f32Store(add(g("d"), shl(g("c"), i32(2))), f32Mul(f32Load(add(g("sp"), shl(g("c"), i32(2)))), g("inv"))),
    ),
  );
  return f;
}

/** `out[r] = Σ_c a[r, c]·b[r, c]`. */
function rowDot(): Fn {
  const f = new Fn("attn_rowdot", i32Params(["a", "lda", "b", "ldb", "rows", "cols", "out"]));
  f.local(I32, "r", "c", "pa", "pb");
  f.local(F32, "acc");
  const g = (n: string) => f.get(n);
  f.body = forCount(
    f,
    "r",
    "rows",
    f.set("pa", add(g("a"), shl(mul(g("r"), g("lda")), i32(2)))),
    f.set("pb", add(g("b"), shl(mul(g("r"), g("ldb")), i32(2)))),
    f.set("acc", f32(0)),
    forCount(
      f,
      "c",
      "cols",
      f.set(
        "acc",
        f32Add(
          g("acc"),
          f32Mul(f32Load(add(g("pa"), shl(g("c"), i32(2)))), f32Load(add(g("pb"), shl(g("c"), i32(2))))),
        ),
      ),
    ),
    f32Store(add(g("out"), shl(g("r"), i32(2))), g("acc")),
  );
  return f;
}

function bwdP(madd: Madd): Fn {
  const f = new Fn("attn_bwd_p", i32Params(["s", "lds", "rows", "cols", "lse"]));
  f.local(I32, "r", "c", "row");
  f.local(F32, "l");
  f.local(V128, "lv");
  expLocals(f);
  const { k, sets } = hoistedConstants(f);
  const g = (n: string) => f.get(n);
  const at = (c: Code) => add(g("row"), shl(c, i32(2)));
  const body = forCount(
    f,
    "r",
    "rows",
    f.set("row", add(g("s"), shl(mul(g("r"), g("lds")), i32(2)))),
    f.set("l", f32Load(add(g("lse"), shl(g("r"), i32(2))))),
    ifElse(
      f32Eq(g("l"), NEG_INF),
      forRange(f, "c", i32(0), g("cols"), i32(4), vStore(at(g("c")), vZero())),
      seq(
        f.set("lv", f32x4Splat(g("l"))),
        forRange(
          f,
          "c",
          i32(0),
          g("cols"),
          i32(4),
          vStore(at(g("c")), vexp(f, f32x4Sub(vLoad(at(g("c"))), g("lv")), madd, k)),
        ),
      ),
    ),
  );
  f.body = seq(...sets, body);
  return f;
}

function bwdDs(): Fn {
  const f = new Fn("attn_bwd_ds", i32Params(["p", "dp", "ld", "rows", "cols", "d"]));
  f.local(I32, "r", "c", "off");
  f.local(V128, "dv");
  const g = (n: string) => f.get(n);
  f.body = forCount(
    f,
    "r",
    "rows",
    f.set("dv", vLoadSplat(add(g("d"), shl(g("r"), i32(2))))),
    forRange(
      f,
      "c",
      i32(0),
      g("cols"),
      i32(4),
      f.set("off", shl(add(mul(g("r"), g("ld")), g("c")), i32(2))),
      vStore(
        add(g("dp"), g("off")),
        vMul(vLoad(add(g("p"), g("off"))), f32x4Sub(vLoad(add(g("dp"), g("off"))), g("dv"))),
      ),
    ),
  );
  return f;
}

function copy(): Fn {
  const f = new Fn("attn_copy", i32Params(["dst", "ldd", "src", "srs", "rows", "cols", "padCols", "padRows"]));
  f.local(I32, "r", "d");
  const g = (n: string) => f.get(n);
  f.body = seq(
    forCount(
      f,
      "r",
      "rows",
      f.set("d", add(g("dst"), shl(mul(g("r"), g("ldd")), i32(2)))),
      memCopy(g("d"), add(g("src"), shl(mul(g("r"), g("srs")), i32(2))), shl(g("cols"), i32(2))),
      memFill(add(g("d"), shl(g("cols"), i32(2))), i32(0), shl(sub(g("padCols"), g("cols")), i32(2))),
    ),
    forRange(
      f,
      "r",
      g("rows"),
      g("padRows"),
      i32(1),
      memFill(add(g("dst"), shl(mul(g("r"), g("ldd")), i32(2))), i32(0), shl(g("padCols"), i32(2))),
    ),
  );
  return f;
}

function copyT(): Fn {
  const f = new Fn("attn_copy_t", i32Params(["dst", "ldd", "src", "srs", "rows", "cols"]));
  f.local(I32, "r", "c", "sp", "dp", "lddb");
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("lddb", shl(g("ldd"), i32(2))),
    forCount(
      f,
      "r",
      "rows",
      f.set("sp", add(g("src"), shl(mul(g("r"), g("srs")), i32(2)))),
      f.set("dp", add(g("dst"), shl(g("r"), i32(2)))),
      forCount(
        f,
        "c",
        "cols",
        f32Store(g("dp"), f32Load(g("sp"))),
        f.set("sp", add(g("sp"), i32(4))),
        f.set("dp", add(g("dp"), g("lddb"))),
      ),
    ),
  );
  return f;
}

/** The attention functions (appended to the SGEMM module) and the names they export. */
export function attentionFunctions(relaxed: boolean): { fns: Fn[]; exports: string[] } {
  const madd: Madd = relaxed ? vMadd : (a, b, c) => vAdd(vMul(a, b), c);
  const fns = [mm(madd), fix(), online(madd), dropout(), bwdP(madd), bwdDs(), copy(), copyT(), scaleRows(), rowDot()];
  return { fns, exports: fns.map((f) => f.name) };
}
