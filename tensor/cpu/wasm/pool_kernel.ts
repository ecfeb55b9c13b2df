/**
 * WebAssembly SIMD kernels: pool family (generator; see `ops_kernel.ts`).
 *
 * Every function works on contiguous NCHW float32 planes given by byte
 * address, and mirrors `../pool.ts` exactly: the same argmax (the first of
 * equal maxima in row-major window order; the first NaN wins and sticks),
 * the same average (summed in float64 in row-major order, divided in float64,
 * rounded once) and the same order of additions in the backward passes, so a
 * tensor gives the same bits whether or not its storage lives in the heap.
 *
 * Forward kernels vectorise four adjacent outputs of a row whose windows lie
 * inside the input horizontally (`[owLo, owHi)`, computed by the caller);
 * rows are clipped per output row, and every other output goes through a
 * scalar path with the reference's bounds checks.
 *
 * @module
 */

import {
  add,
  and,
  block,
  br,
  call,
  type Code,
  F32,
  f32,
  f32Add,
  f32Demote,
  f32Gt,
  f32Load,
  f32Ne,
  f32Store,
  f32x4DemoteJoin,
  f32x4Eq,
  f32x4Le,
  F64,
  f64,
  f64Add,
  f64Div,
  f64OfI32,
  f64Promote,
  f64x2Add,
  f64x2Div,
  f64x2Promote,
  f64x2PromoteHigh,
  f64x2Splat,
  Fn,
  forCount,
  ge,
  gt,
  I32,
  i32,
  i32Load,
  i32Params,
  i32Store,
  i32x4Add,
  i32x4Const,
  i32x4Splat,
  ifElse,
  lt,
  ltU,
  max,
  min,
  mul,
  select,
  seq,
  shl,
  shuffle32,
  sub,
  V128,
  vAndNot,
  vBitselect,
  vLoad,
  vStore,
  whileLoop,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

// ---- runs of four outputs ---------------------------------------------------------

/**
 * `vLo`: where vector runs start — `owLo` when `[owLo, owHi)` holds at least
 * four outputs, else past every output (all scalar).
 */
function vRange(f: Fn): Code {
  const g = (n: string) => f.get(n);
  return f.set("vLo", select(g("owLo"), i32(0x3fffffff), ge(sub(g("owHi"), g("owLo")), i32(4))));
}

/**
 * Moves a run that would pass `owHi` back to end there (`ow`, `o` and, for max
 * pooling, `oi`), so a row's last inside outputs are a vector run too: the
 * overlapped outputs are computed again to the same values.
 */
function backUp(f: Fn): Code {
  const g = (n: string) => f.get(n);
  const hasIdx = f.name.startsWith("pool_max");
  return seq(
    f.set("t", sub(g("ow"), min(g("ow"), sub(g("owHi"), i32(4))))), // outputs to step back
    f.set("ow", sub(g("ow"), g("t"))),
    f.set("o", sub(g("o"), shl(g("t"), i32(2)))),
    hasIdx ? f.set("oi", sub(g("oi"), shl(g("t"), i32(2)))) : [],
  );
}

/**
 * Every output of every plane, row by row: per output row `oh`, `rowSetup`,
 * then `output` left to right (it advances `ow`: by four for a vector run, by
 * one for a scalar output); after each plane the `plane` pointer (input or
 * input gradient) moves on by `h·w` floats.
 */
function eachOutput(f: Fn, plane: string, rowSetup: Code[], output: Code): Code {
  const g = (n: string) => f.get(n);
  return forCount(
    f,
    "p",
    "planes",
    forCount(f, "oh", "outH", ...rowSetup, f.set("ow", i32(0)), whileLoop(lt(g("ow"), g("outW")), output)),
    f.set(plane, add(g(plane), shl(mul(g("h"), g("w")), i32(2)))),
  );
}

/** `vector` where a run of four outputs starts at `ow` (`rowHasRun` and `vLo <= ow < runEnd`), else `scalar`. */
function runOrOne(f: Fn, rowHasRun: Code, runEnd: string, vector: Code, scalar: Code): Code {
  const ow = f.get("ow");
  return ifElse(and(and(rowHasRun, ge(ow, f.get("vLo"))), lt(ow, f.get(runEnd))), vector, scalar);
}

// ---- max pooling forward ----------------------------------------------------------

/**
 * One output of max pooling with bounds checks, the reference's rule
 * verbatim: `best` starts at −∞ with no index; a tap wins when it is greater
 * or NaN (and a NaN ends the search); the first in-bounds tap takes the index
 * even when it equals −∞.
 */
function maxOne(): Fn {
  const names = ["xp", "h", "w", "ih0", "iw0", "kh", "kw", "dh", "dw", "o", "oi"];
  const f = new Fn("pool_max_one", i32Params(names));
  f.local(I32, "ki", "kj", "ih", "iw", "at", "bestAt");
  f.local(F32, "best", "v");
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("best", f32(-Infinity)),
    f.set("bestAt", i32(-1)),
    block( // $done
      forCount(
        f,
        "ki",
        "kh",
        f.set("ih", add(g("ih0"), mul(g("ki"), g("dh")))),
        ifElse(
          ltU(g("ih"), g("h")),
          seq(
            forCount(
              f,
              "kj",
              "kw",
              f.set("iw", add(g("iw0"), mul(g("kj"), g("dw")))),
              ifElse(
                ltU(g("iw"), g("w")),
                seq(
                  f.set("at", add(mul(g("ih"), g("w")), g("iw"))),
                  f.set("v", f32Load(add(g("xp"), shl(g("at"), i32(2))))),
                  // A NaN wins and ends the search: out of if, loop, block, if, loop, block to $done.
                  ifElse(
                    f32Ne(g("v"), g("v")),
                    seq(f.set("best", g("v")), f.set("bestAt", g("at")), br(7)),
                  ),
                  ifElse(
                    f32Gt(g("v"), g("best")),
                    seq(f.set("best", g("v")), f.set("bestAt", g("at"))),
                    f.set("bestAt", select(g("at"), g("bestAt"), lt(g("bestAt"), i32(0)))),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
    f32Store(g("o"), g("best")),
    i32Store(g("oi"), g("bestAt")),
  );
  return f;
}

/**
 * Max pooling over all planes. With `sw` and `kw` fixed at generation
 * (`kw` null: read at run time, any dilation), runs of four outputs in
 * `[owLo, owHi)` are vectorised; `owLo = owHi` makes it all scalar.
 */
function maxForward(name: string, sw: 1 | 2, kwFixed: number | null, oneIndex: number): Fn {
  const names = ["x", "out", "idx", "planes", "h", "w", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "outH", "outW"];
  names.push("owLo", "owHi");
  const f = new Fn(name, i32Params(names));
  f.local(I32, "p", "xp", "oh", "ow", "ih0", "kiLo", "kiHi", "ki", "kj", "o", "oi", "row", "a", "vLo", "rowStep", "t");
  f.local(V128, "best", "bestI", "lane", "v", "c", "l0", "l1");
  const g = (n: string) => f.get(n);

  // The four lanes' values of the tap `byteOff` bytes right of the first tap's cell `a` (lane i reads `a + byteOff
  // + 4·sw·i`).
  const tapAt = (byteOff: Code | number): Code => {
    // A constant offset goes into the load's immediate.
    const addr = typeof byteOff === "number" ? g("a") : add(g("a"), byteOff);
    const off = typeof byteOff === "number" ? byteOff : 0;
    // Stride 2: lanes are the even elements of 7 floats, read exactly (no float past the last needed).
    return sw === 1 ? vLoad(addr, off) : shuffle32(vLoad(addr, off), vLoad(addr, off + 12), [0, 2, 5, 7]);
  };
  // The index vector of the tap `col` cells right of the first tap's index `row`.
  const idxAt = (col: Code): Code => i32x4Add(i32x4Splat(add(g("row"), col)), g("lane"));
  /** Takes `v` (index `ix`) where it beats `best`: greater or NaN, unless best is already NaN. */
  const update = (v: Code, ix: Code): Code =>
    seq(
      f.set("v", v),
      f.set("c", vAndNot(f32x4Eq(g("best"), g("best")), f32x4Le(g("v"), g("best")))),
      f.set("best", vBitselect(g("v"), g("best"), g("c"))),
      f.set("bestI", vBitselect(ix, g("bestI"), g("c"))),
    );

  // One window row's taps; `first` starts best at the row's first tap instead of comparing.
  const rowTaps = (first: boolean): Code => {
    if (kwFixed === null) {
      return seq(
        forCount(
          f,
          "kj",
          "kw",
          update(tapAt(shl(mul(g("kj"), g("dw")), i32(2))), idxAt(mul(g("kj"), g("dw")))),
        ),
      );
    }
    const code: Code[] = [];
    const put = (kj: number, v: Code) => {
      if (first && kj === 0) code.push(f.set("best", v), f.set("bestI", idxAt(i32(0))));
      else code.push(update(v, idxAt(i32(kj))));
    };
    let kj = 0;
    if (sw === 2) {
      // Two neighbouring taps are the even and odd lanes of the same 8 floats.
      for (; kj + 1 < kwFixed; kj += 2) {
        code.push(f.set("l0", vLoad(g("a"), 4 * kj)), f.set("l1", vLoad(g("a"), 4 * kj + 16)));
        put(kj, shuffle32(g("l0"), g("l1"), [0, 2, 4, 6]));
        put(kj + 1, shuffle32(g("l0"), g("l1"), [1, 3, 5, 7]));
      }
    }
    for (; kj < kwFixed; kj++) put(kj, tapAt(4 * kj));
    return seq(...code);
  };

  const vector = seq(
    backUp(f),
    f.set("row", add(mul(add(g("ih0"), mul(g("kiLo"), g("dh"))), g("w")), sub(mul(g("ow"), g("sw")), g("pw")))),
    f.set("a", add(g("xp"), shl(g("row"), i32(2)))),
    kwFixed === null ? seq(f.set("best", tapAt(0)), f.set("bestI", idxAt(i32(0))), rowTaps(false)) : rowTaps(true),
    f.set("ki", add(g("kiLo"), i32(1))),
    whileLoop(
      lt(g("ki"), g("kiHi")),
      f.set("row", add(g("row"), g("rowStep"))),
      f.set("a", add(g("a"), shl(g("rowStep"), i32(2)))),
      rowTaps(false),
      f.set("ki", add(g("ki"), i32(1))),
    ),
    vStore(g("o"), g("best")),
    vStore(g("oi"), g("bestI")),
    f.set("ow", add(g("ow"), i32(4))),
    f.set("o", add(g("o"), i32(16))),
    f.set("oi", add(g("oi"), i32(16))),
  );
  const scalar = seq(
    call(
      oneIndex,
      g("xp"),
      g("h"),
      g("w"),
      g("ih0"),
      sub(mul(g("ow"), g("sw")), g("pw")),
      g("kh"),
      g("kw"),
      g("dh"),
      g("dw"),
      g("o"),
      g("oi"),
    ),
    f.set("ow", add(g("ow"), i32(1))),
    f.set("o", add(g("o"), i32(4))),
    f.set("oi", add(g("oi"), i32(4))),
  );

  f.body = seq(
    f.set("lane", i32x4Const([0, sw, 2 * sw, 3 * sw])),
    f.set("o", g("out")),
    f.set("oi", g("idx")),
    f.set("xp", g("x")),
    vRange(f),
    f.set("rowStep", mul(g("dh"), g("w"))),
    eachOutput(f, "xp", [
      f.set("ih0", sub(mul(g("oh"), g("sh")), g("ph"))),
      // The window rows inside the input: [kiLo, kiHi).
      f.set("kiLo", i32(0)),
      whileLoop(
        and(lt(g("kiLo"), g("kh")), lt(add(g("ih0"), mul(g("kiLo"), g("dh"))), i32(0))),
        f.set("kiLo", add(g("kiLo"), i32(1))),
      ),
      f.set("kiHi", g("kiLo")),
      whileLoop(
        and(lt(g("kiHi"), g("kh")), lt(add(g("ih0"), mul(g("kiHi"), g("dh"))), g("h"))),
        f.set("kiHi", add(g("kiHi"), i32(1))),
      ),
    ], runOrOne(f, lt(g("kiLo"), g("kiHi")), "owHi", vector, scalar)),
  );
  return f;
}

// ---- max pooling backward ---------------------------------------------------------

/**
 * Adds output gradient `k` of the current four (at `gp`, index at `ip`) at
 * its argmax when the index falls inside `out` from this plane on (`lim`),
 * as the reference's typed-array `+=` does (writes past the end are lost).
 */
function scatterOne(f: Fn, k: number): Code {
  const g = (n: string) => f.get(n);
  return seq(
    f.set("at", i32Load(g("ip"), 4 * k)),
    ifElse(
      ltU(g("at"), g("lim")),
      seq(
        f.set("a", add(g("op"), shl(g("at"), i32(2)))),
        f32Store(g("a"), f32Add(f32Load(g("a")), f32Load(g("gp"), 4 * k))),
      ),
    ),
  );
}

/** Max pooling backward: a scatter through the indices, in the reference's order (four at a time). */
function maxBackward(): Fn {
  const names = ["go", "idx", "out", "planes", "plane", "P"];
  const f = new Fn("pool_max_bwd", i32Params(names));
  f.local(I32, "p", "i", "at", "a", "lim", "op", "ip", "gp", "end4");
  const g = (n: string) => f.get(n);
  const step = (n: number) => seq(f.set("ip", add(g("ip"), i32(4 * n))), f.set("gp", add(g("gp"), i32(4 * n))));
  f.body = seq(
    f.set("ip", g("idx")),
    f.set("gp", g("go")),
    f.set("op", g("out")),
    f.set("lim", mul(g("planes"), g("plane"))),
    f.set("end4", sub(g("P"), i32(3))),
    forCount(
      f,
      "p",
      "planes",
      f.set("i", i32(0)),
      whileLoop(
        lt(g("i"), g("end4")),
        scatterOne(f, 0),
        scatterOne(f, 1),
        scatterOne(f, 2),
        scatterOne(f, 3),
        step(4),
        f.set("i", add(g("i"), i32(4))),
      ),
      whileLoop(lt(g("i"), g("P")), scatterOne(f, 0), step(1), f.set("i", add(g("i"), i32(1)))),
      // `lim` is what is left of `out` from this plane on.
      f.set("op", add(g("op"), shl(g("plane"), i32(2)))),
      f.set("lim", sub(g("lim"), g("plane"))),
    ),
  );
  return f;
}

// ---- average pooling ----------------------------------------------------------------

const AVG_PARAMS = ["planes", "h", "w", "kh", "kw", "sh", "sw", "ph", "pw", "cip", "outH", "outW"];

/**
 * The reference's window for output row `oh` (`h0c`, `h1c`: the rows inside
 * the input; `hc`: the divisor's row count, clipped to the padded input with
 * `cip`, else to the input). `axis` "w" does the same for column `ow`.
 */
function window(f: Fn, axis: "h" | "w"): Code {
  const g = (n: string) => f.get(n);
  const [o, s, k, pad, n] = axis === "h" ? ["oh", "sh", "kh", "ph", "h"] : ["ow", "sw", "kw", "pw", "w"];
  const lo = `${axis}0`, hi = `${axis}1`, c = `${axis}c`;
  return seq(
    f.set(lo, sub(mul(g(o), g(s)), g(pad))),
    f.set(hi, add(g(lo), g(k))),
    f.set(hi, min(g(hi), add(g(n), g(pad)))),
    f.set(c, sub(g(hi), g(lo))),
    f.set(lo, max(g(lo), i32(0))),
    f.set(hi, min(g(hi), g(n))),
    f.set(c, select(g(c), sub(g(hi), g(lo)), g("cip"))),
  );
}

/**
 * Average pooling forward. Runs of four outputs in `[owLo, owHi)` (windows
 * inside the input horizontally) are vectorised for stride `sw`; sums are
 * float64 in both paths, as in the reference.
 */
function avgForward(name: string, sw: 1 | 2): Fn {
  const names = ["x", "out", ...AVG_PARAMS, "owLo", "owHi"];
  const f = new Fn(name, i32Params(names));
  f.local(
    I32,
    "p",
    "xp",
    "oh",
    "ow",
    "h0",
    "h1",
    "hc",
    "w0",
    "w1",
    "wc",
    "div",
    "ih",
    "iw",
    "kj",
    "o",
    "vLo",
    "a",
    "t",
  );
  f.local(F64, "s");
  f.local(V128, "lo", "hi", "v", "dv");
  const g = (n: string) => f.get(n);
  const tap = (addr: Code): Code => sw === 1 ? vLoad(addr) : shuffle32(vLoad(addr), vLoad(addr, 12), [0, 2, 5, 7]);
  const vector = seq(
    backUp(f),
    f.set("lo", f64x2Splat(f64(0))),
    f.set("hi", g("lo")),
    f.set("ih", g("h0")),
    whileLoop(
      lt(g("ih"), g("h1")),
      f.set("a", add(g("xp"), shl(add(mul(g("ih"), g("w")), sub(mul(g("ow"), g("sw")), g("pw"))), i32(2)))),
      forCount(
        f,
        "kj",
        "kw",
        f.set("v", tap(g("a"))),
        f.set("lo", f64x2Add(g("lo"), f64x2Promote(g("v")))),
        f.set("hi", f64x2Add(g("hi"), f64x2PromoteHigh(g("v")))),
        f.set("a", add(g("a"), i32(4))),
      ),
      f.set("ih", add(g("ih"), i32(1))),
    ),
    f.set("dv", f64x2Splat(f64OfI32(mul(g("hc"), g("kw"))))),
    vStore(g("o"), f32x4DemoteJoin(f64x2Div(g("lo"), g("dv")), f64x2Div(g("hi"), g("dv")))),
    f.set("ow", add(g("ow"), i32(4))),
    f.set("o", add(g("o"), i32(16))),
  );
  const scalar = seq(
    window(f, "w"),
    f.set("div", mul(g("hc"), g("wc"))),
    f.set("s", f64(0)),
    f.set("ih", g("h0")),
    whileLoop(
      lt(g("ih"), g("h1")),
      f.set("iw", g("w0")),
      whileLoop(
        lt(g("iw"), g("w1")),
        f.set("s", f64Add(g("s"), f64Promote(f32Load(add(g("xp"), shl(add(mul(g("ih"), g("w")), g("iw")), i32(2))))))),
        f.set("iw", add(g("iw"), i32(1))),
      ),
      f.set("ih", add(g("ih"), i32(1))),
    ),
    f32Store(g("o"), select(f32Demote(f64Div(g("s"), f64OfI32(g("div")))), f32(0), gt(g("div"), i32(0)))),
    f.set("ow", add(g("ow"), i32(1))),
    f.set("o", add(g("o"), i32(4))),
  );
  f.body = seq(
    f.set("o", g("out")),
    f.set("xp", g("x")),
    vRange(f),
    // Inside columns the divisor is hc·kw in both divisor modes; hc ≤ 0 (no rows) takes the scalar rule.
    eachOutput(f, "xp", [window(f, "h")], runOrOne(f, gt(g("hc"), i32(0)), "owHi", vector, scalar)),
  );
  return f;
}

/**
 * Average pooling backward: each output gradient divided (float64) by its
 * divisor and added to its window's cells, each sum rounded to float32 as
 * the reference's typed-array `+=` does, windows in row-major order.
 *
 * `w2s2` adds a vector path for windows 2 wide at column stride 2 (any
 * height, row stride or padding): a row's windows then never share a cell,
 * so four outputs' 8 cells per window row take their one addition each with
 * vectors (float64 lanes), the rows' overlaps still in output-row order.
 * Runs of four outputs in `[owLo, owHi)` take it.
 */
function avgBackward(name: string, w2s2: boolean): Fn {
  const names = ["go", "out", ...AVG_PARAMS, "owLo", "owHi"];
  const f = new Fn(name, i32Params(names));
  f.local(I32, "p", "op", "gp", "oh", "ow", "h0", "h1", "hc", "w0", "w1", "wc", "div", "ih", "iw", "a", "vLo", "vEnd");
  f.local(F64, "v");
  f.local(V128, "G", "dv", "v01", "v23", "c0", "c1", "c2", "c3", "x");
  const g = (n: string) => f.get(n);
  // Four cells at `a + off` plus the float64 pairs `lo` (cells 0, 1) and `hi` (cells 2, 3), each rounded once.
  const addCells = (off: number, lo: string, hi: string): Code =>
    seq(
      f.set("x", vLoad(g("a"), off)),
      vStore(
        g("a"),
        f32x4DemoteJoin(f64x2Add(f64x2Promote(g("x")), g(lo)), f64x2Add(f64x2PromoteHigh(g("x")), g(hi))),
        off,
      ),
    );
  const vector = seq(
    f.set("G", vLoad(g("gp"))),
    f.set("dv", f64x2Splat(f64OfI32(shl(g("hc"), i32(1))))),
    f.set("v01", f64x2Div(f64x2Promote(g("G")), g("dv"))),
    f.set("v23", f64x2Div(f64x2PromoteHigh(g("G")), g("dv"))),
    // Each output's quotient twice: the two cells of its window row.
    f.set("c0", shuffle32(g("v01"), g("v01"), [0, 1, 0, 1])),
    f.set("c1", shuffle32(g("v01"), g("v01"), [2, 3, 2, 3])),
    f.set("c2", shuffle32(g("v23"), g("v23"), [0, 1, 0, 1])),
    f.set("c3", shuffle32(g("v23"), g("v23"), [2, 3, 2, 3])),
    f.set("ih", g("h0")),
    whileLoop(
      lt(g("ih"), g("h1")),
      f.set("a", add(g("op"), shl(add(mul(g("ih"), g("w")), sub(shl(g("ow"), i32(1)), g("pw"))), i32(2)))),
      addCells(0, "c0", "c1"),
      addCells(16, "c2", "c3"),
      f.set("ih", add(g("ih"), i32(1))),
    ),
    f.set("gp", add(g("gp"), i32(16))),
    f.set("ow", add(g("ow"), i32(4))),
  );
  const scalar = seq(
    window(f, "w"),
    f.set("div", mul(g("hc"), g("wc"))),
    ifElse(
      gt(g("div"), i32(0)),
      seq(
        f.set("v", f64Div(f64Promote(f32Load(g("gp"))), f64OfI32(g("div")))),
        f.set("ih", g("h0")),
        whileLoop(
          lt(g("ih"), g("h1")),
          f.set("a", add(g("op"), shl(add(mul(g("ih"), g("w")), g("w0")), i32(2)))),
          f.set("iw", g("w0")),
          whileLoop(
            lt(g("iw"), g("w1")),
            f32Store(g("a"), f32Demote(f64Add(f64Promote(f32Load(g("a"))), g("v")))),
            f.set("a", add(g("a"), i32(4))),
            f.set("iw", add(g("iw"), i32(1))),
          ),
          f.set("ih", add(g("ih"), i32(1))),
        ),
      ),
    ),
    f.set("gp", add(g("gp"), i32(4))),
    f.set("ow", add(g("ow"), i32(1))),
  );
  f.body = seq(
    f.set("gp", g("go")),
    f.set("op", g("out")),
    // No backing up here (adding twice is not idempotent): runs end before owHi, the rest are scalar.
    f.set("vLo", w2s2 ? g("owLo") : i32(0x3fffffff)),
    f.set("vEnd", sub(g("owHi"), i32(3))),
    eachOutput(
      f,
      "op",
      [window(f, "h")],
      w2s2 ? runOrOne(f, gt(g("hc"), i32(0)), "vEnd", vector, scalar) : scalar,
    ),
  );
  return f;
}

/**
 * The pool kernels' functions and exports; `base` is the module index of the first function.
 *
 * Exports (all arguments i32; pointers are byte addresses; see `../pool_wasm.ts` for the dispatch):
 * - `pool_max_k2s2`, `pool_max_k3s2`, `pool_max_k3s1` (unrolled 2- or 3-wide windows, dilation 1),
 *   `pool_max_s2`, `pool_max_s1` (any width and dilation) `(x, out, idx, planes, h, w, kh, kw, sh, sw, ph, pw,
 *   dh, dw, outH, outW, owLo, owHi)`: max pooling forward, vectorised at the stride in the name.
 * - `pool_max_bwd(go, idx, out, planes, plane, P)`: the scatter through the indices (any geometry).
 * - `pool_avg_s1`, `pool_avg_s2 (x, out, planes, h, w, kh, kw, sh, sw, ph, pw, cip, outH, outW, owLo, owHi)`,
 *   `pool_avg_bwd`, `pool_avg_bwd_w2s2` (windows 2 wide at column stride 2) `(go, out, planes, h, w, kh, kw, sh,
 *   sw, ph, pw, cip, outH, outW, owLo, owHi)`: average pooling forward and backward.
 */
export function poolKernels(base: number): KernelFamily {
  const one = base; // pool_max_one is the family's first function
  const fns = [
    maxOne(),
    maxForward("pool_max_k2s2", 2, 2, one),
    maxForward("pool_max_k3s2", 2, 3, one),
    maxForward("pool_max_k3s1", 1, 3, one),
    maxForward("pool_max_s2", 2, null, one),
    maxForward("pool_max_s1", 1, null, one),
    maxBackward(),
    avgForward("pool_avg_s1", 1),
    avgForward("pool_avg_s2", 2),
    avgBackward("pool_avg_bwd", false),
    avgBackward("pool_avg_bwd_w2s2", true),
  ];
  return { fns, exports: fns.slice(1).map((f) => f.name) };
}
