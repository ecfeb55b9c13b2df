/**
 * The source of the WebAssembly SGEMM: a generator that emits the module's
 * bytecode with the {@link Fn} writer from `assembler.ts`.
 *
 * Structure (Goto/BLIS): `C[M,N] (+)= A[M,K]·B[K,N]`, blocked over N (NC),
 * K (KC) and M (MC); each KC×NC block of B is packed into column panels of NR
 * floats, each MC×KC block of A into row panels of MR floats, and a
 * register-blocked MR×NR micro-kernel keeps MR·NR/4 f32x4 accumulators in
 * registers while it streams both panels. Edge tiles run the same
 * micro-kernel into a scratch tile and copy the valid part out. Operands are
 * read with arbitrary element strides (the packing copies them anyway).
 *
 * Two builds come from this source: one whose multiply-add is
 * `f32x4.relaxed_madd` (a fused FMA on hardware that has one) and one with a
 * plain `f32x4.mul` + `f32x4.add`, for engines without relaxed SIMD.
 *
 * Exported functions (all arguments i32; pointers are byte addresses in the
 * imported memory, strides are in elements):
 * - `gemm(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, ldc, packA, packB, accumulate)`;
 *   `packA` needs {@link PACK_A_BYTES}, `packB` needs {@link PACK_B_BYTES};
 * - `unfold(dst, plane, channels, h, w, outH, outW, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW,
 *   rowBytes)`: a convolution's im2col matrix for one image (see `im2colHeap` in `../im2col.ts`);
 * - `fold(src, …same…)`: the reverse, summing the im2col matrix back into the image (col2im);
 * - `copy_rows(dst, dstStride, src, srcStride, rows, n)`: a block of rows of `n` floats (strides in bytes);
 * - `heap_bytes()`: the memory's size in bytes;
 * - `unfold_padded(dst, …, pad)`: `unfold` through a zero-padded copy of each channel in scratch at `pad`, for
 *   stride-1 convolutions whose output rows are short.
 *
 * @module
 */

import {
  add,
  and,
  block,
  br,
  brIf,
  call,
  type Code,
  encodeModule,
  eq,
  eqz,
  f32,
  f32Add,
  f32Load,
  f32Store,
  Fn,
  forRange,
  ge,
  geU,
  gt,
  I32,
  i32,
  i32Params,
  ifElse,
  loop,
  lt,
  ltU,
  min,
  mul,
  seq,
  shl,
  sub,
  V128,
  vAdd,
  vLoad,
  vLoadSplat,
  vMadd,
  vMul,
  vStore,
  vZero,
} from "./assembler.ts";
import { attentionFunctions } from "./attention_kernel.ts";

/** Rows of the micro-tile. */
export const MR = 6;
/** f32x4 vectors per micro-tile row (NR = 4·NV columns). */
export const NV = 2;
/** Columns of the micro-tile. */
export const NR = 4 * NV;
/** Depth of a packed block (A panel rows and B panel columns hold this many k). */
export const KC = 256;
/** Rows of A packed at once (a multiple of MR). */
export const MC = 120;
/** Columns of B packed at once (a multiple of NR). */
export const NC = 2040;
/** Steps of the k loop per iteration of the micro-kernel's main loop. */
const UNROLL = 2;

if (MC % MR !== 0 || NC % NR !== 0) throw new Error("gemm_kernel: MC must be a multiple of MR and NC of NR");

/** Bytes of the packed-A buffer (plus one scratch micro-tile for edges). */
export const PACK_A_BYTES = (MC * KC + MR * NR) * 4;
/** Bytes of the packed-B buffer. */
export const PACK_B_BYTES = KC * NC * 4;

/** Function indices in the module. */
const MICRO = 0, PACK_A = 1, PACK_B = 2, MACRO = 3;

function micro(relaxed: boolean): Fn {
  const f = new Fn("micro", [["kc", I32], ["pa", I32], ["pb", I32], ["c", I32], ["ldc", I32], ["first", I32]]);
  f.local(I32, "p", "cr", "ldcb");
  const acc = (i: number, j: number) => `acc${i}_${j}`;
  for (let i = 0; i < MR; i++) for (let j = 0; j < NV; j++) f.local(V128, acc(i, j));
  for (let j = 0; j < NV; j++) f.local(V128, `b${j}`);
  f.local(V128, "a");
  const madd = (a: Code, b: Code, c: Code) => relaxed ? vMadd(a, b, c) : vAdd(vMul(a, b), c);
  const step = (offA: number, offB: number): Code => {
    const out: Code[] = [];
    for (let j = 0; j < NV; j++) out.push(f.set(`b${j}`, vLoad(f.get("pb"), offB + 16 * j)));
    for (let i = 0; i < MR; i++) {
      out.push(f.set("a", vLoadSplat(f.get("pa"), offA + 4 * i)));
      for (let j = 0; j < NV; j++) out.push(f.set(acc(i, j), madd(f.get("a"), f.get(`b${j}`), f.get(acc(i, j)))));
    }
    return seq(...out);
  };
  const body: Code[] = [];
  for (let i = 0; i < MR; i++) for (let j = 0; j < NV; j++) body.push(f.set(acc(i, j), vZero()));
  const unrolled: Code[] = [];
  for (let u = 0; u < UNROLL; u++) unrolled.push(step(u * MR * 4, u * NR * 4));
  body.push(
    f.set("p", i32(0)),
    // Main loop: UNROLL steps while p + UNROLL <= kc.
    block(loop(
      brIf(1, ge(add(f.get("p"), i32(UNROLL - 1)), f.get("kc"))),
      ...unrolled,
      f.set("pa", add(f.get("pa"), i32(UNROLL * MR * 4))),
      f.set("pb", add(f.get("pb"), i32(UNROLL * NR * 4))),
      f.set("p", add(f.get("p"), i32(UNROLL))),
      br(0),
    )),
    block(loop(
      brIf(1, ge(f.get("p"), f.get("kc"))),
      step(0, 0),
      f.set("pa", add(f.get("pa"), i32(MR * 4))),
      f.set("pb", add(f.get("pb"), i32(NR * 4))),
      f.set("p", add(f.get("p"), i32(1))),
      br(0),
    )),
    f.set("ldcb", shl(f.get("ldc"), i32(2))),
  );
  const store = (accumulate: boolean): Code => {
    const out: Code[] = [f.set("cr", f.get("c"))];
    for (let i = 0; i < MR; i++) {
      for (let j = 0; j < NV; j++) {
        const v = accumulate ? vAdd(vLoad(f.get("cr"), 16 * j), f.get(acc(i, j))) : f.get(acc(i, j));
        out.push(vStore(f.get("cr"), v, 16 * j));
      }
      out.push(f.set("cr", add(f.get("cr"), f.get("ldcb"))));
    }
    return seq(...out);
  };
  body.push(ifElse(f.get("first"), store(false), store(true)));
  f.body = seq(...body);
  return f;
}

function packA(): Fn {
  const f = new Fn("pack_a", [["mc", I32], ["kc", I32], ["src", I32], ["rs", I32], ["cs", I32], ["dst", I32]]);
  f.local(I32, "i0", "p", "rows", "rsb", "csb");
  const r = (i: number) => `r${i}`;
  for (let i = 0; i < MR; i++) f.local(I32, r(i));
  const full: Code[] = [], part: Code[] = [];
  for (let i = 0; i < MR; i++) {
    full.push(f32Store(f.get("dst"), f32Load(f.get(r(i))), 4 * i));
    part.push(ifElse(
      lt(i32(i), f.get("rows")),
      f32Store(f.get("dst"), f32Load(f.get(r(i))), 4 * i),
      f32Store(f.get("dst"), f32(0), 4 * i),
    ));
  }
  const advance: Code[] = [];
  for (let i = 0; i < MR; i++) advance.push(f.set(r(i), add(f.get(r(i)), f.get("csb"))));
  advance.push(f.set("dst", add(f.get("dst"), i32(MR * 4))));
  const rowPtrs: Code[] = [];
  for (let i = 0; i < MR; i++) {
    rowPtrs.push(f.set(r(i), add(f.get("src"), mul(add(f.get("i0"), i32(i)), f.get("rsb")))));
  }
  f.body = seq(
    f.set("rsb", shl(f.get("rs"), i32(2))),
    f.set("csb", shl(f.get("cs"), i32(2))),
    forRange(
      f,
      "i0",
      i32(0),
      f.get("mc"),
      i32(MR),
      f.set("rows", sub(f.get("mc"), f.get("i0"))),
      ...rowPtrs,
      ifElse(
        ge(f.get("rows"), i32(MR)),
        forRange(f, "p", i32(0), f.get("kc"), i32(1), ...full, ...advance),
        forRange(f, "p", i32(0), f.get("kc"), i32(1), ...part, ...advance),
      ),
    ),
  );
  return f;
}

function packB(): Fn {
  const f = new Fn("pack_b", [["kc", I32], ["nc", I32], ["src", I32], ["rs", I32], ["cs", I32], ["dst", I32]]);
  f.local(I32, "j0", "p", "cols", "rsb", "csb", "s", "q");
  const vecCopy: Code[] = [];
  for (let v = 0; v < NV; v++) vecCopy.push(vStore(f.get("dst"), vLoad(f.get("s"), 16 * v), 16 * v));
  const scalar: Code[] = [f.set("q", f.get("s"))];
  for (let j = 0; j < NR; j++) {
    scalar.push(
      ifElse(
        lt(i32(j), f.get("cols")),
        f32Store(f.get("dst"), f32Load(f.get("q")), 4 * j),
        f32Store(f.get("dst"), f32(0), 4 * j),
      ),
      f.set("q", add(f.get("q"), f.get("csb"))),
    );
  }
  const advance = seq(
    f.set("s", add(f.get("s"), f.get("rsb"))),
    f.set("dst", add(f.get("dst"), i32(NR * 4))),
  );
  f.body = seq(
    f.set("rsb", shl(f.get("rs"), i32(2))),
    f.set("csb", shl(f.get("cs"), i32(2))),
    forRange(
      f,
      "j0",
      i32(0),
      f.get("nc"),
      i32(NR),
      f.set("cols", sub(f.get("nc"), f.get("j0"))),
      f.set("s", add(f.get("src"), mul(f.get("j0"), f.get("csb")))),
      ifElse(
        and(ge(f.get("cols"), i32(NR)), eq(f.get("cs"), i32(1))),
        forRange(f, "p", i32(0), f.get("kc"), i32(1), ...vecCopy, advance),
        forRange(f, "p", i32(0), f.get("kc"), i32(1), ...scalar, advance),
      ),
    ),
  );
  return f;
}

function macro(): Fn {
  const f = new Fn("macro", [
    ["mc", I32],
    ["nc", I32],
    ["kc", I32],
    ["pa", I32],
    ["pb", I32],
    ["c", I32],
    ["ldc", I32],
    ["first", I32],
    ["tmp", I32],
  ]);
  f.local(I32, "j0", "i0", "rows", "cols", "pbj", "ct", "ldcb", "ii", "jj", "at", "rmax", "cmax");
  const at = f.get("at");
  const tv = f32Load(add(f.get("tmp"), shl(add(mul(f.get("ii"), i32(NR)), f.get("jj")), i32(2))));
  const edgeCopy = seq(
    f.set("rmax", min(f.get("rows"), i32(MR))),
    f.set("cmax", min(f.get("cols"), i32(NR))),
    forRange(
      f,
      "ii",
      i32(0),
      f.get("rmax"),
      i32(1),
      forRange(
        f,
        "jj",
        i32(0),
        f.get("cmax"),
        i32(1),
        f.set("at", add(add(f.get("ct"), mul(f.get("ii"), f.get("ldcb"))), shl(f.get("jj"), i32(2)))),
        ifElse(f.get("first"), f32Store(at, tv), f32Store(at, f32Add(f32Load(at), tv))),
      ),
    ),
  );
  f.body = seq(
    f.set("ldcb", shl(f.get("ldc"), i32(2))),
    forRange(
      f,
      "j0",
      i32(0),
      f.get("nc"),
      i32(NR),
      f.set("cols", sub(f.get("nc"), f.get("j0"))),
      f.set("pbj", add(f.get("pb"), shl(mul(f.get("j0"), f.get("kc")), i32(2)))),
      forRange(
        f,
        "i0",
        i32(0),
        f.get("mc"),
        i32(MR),
        f.set("rows", sub(f.get("mc"), f.get("i0"))),
        f.set("ct", add(add(f.get("c"), mul(f.get("i0"), f.get("ldcb"))), shl(f.get("j0"), i32(2)))),
        ifElse(
          and(ge(f.get("rows"), i32(MR)), ge(f.get("cols"), i32(NR))),
          call(
            MICRO,
            f.get("kc"),
            add(f.get("pa"), shl(mul(f.get("i0"), f.get("kc")), i32(2))),
            f.get("pbj"),
            f.get("ct"),
            f.get("ldc"),
            f.get("first"),
          ),
          seq(
            call(
              MICRO,
              f.get("kc"),
              add(f.get("pa"), shl(mul(f.get("i0"), f.get("kc")), i32(2))),
              f.get("pbj"),
              f.get("tmp"),
              i32(NR),
              i32(1),
            ),
            edgeCopy,
          ),
        ),
      ),
    ),
  );
  return f;
}

function gemm(): Fn {
  const names = ["m", "n", "k", "a", "ars", "acs", "b", "brs", "bcs", "c", "ldc", "pa", "pb", "acc"];
  const f = new Fn("gemm", i32Params(names));
  f.local(I32, "jc", "pc", "ic", "nc", "kc", "mc", "first");
  const g = (n: string) => f.get(n);
  f.body = forRange(
    f,
    "jc",
    i32(0),
    g("n"),
    i32(NC),
    f.set("nc", min(sub(g("n"), g("jc")), i32(NC))),
    forRange(
      f,
      "pc",
      i32(0),
      g("k"),
      i32(KC),
      f.set("kc", min(sub(g("k"), g("pc")), i32(KC))),
      call(
        PACK_B,
        g("kc"),
        g("nc"),
        add(g("b"), shl(add(mul(g("pc"), g("brs")), mul(g("jc"), g("bcs"))), i32(2))),
        g("brs"),
        g("bcs"),
        g("pb"),
      ),
      f.set("first", and(eqz(g("pc")), eqz(g("acc")))),
      forRange(
        f,
        "ic",
        i32(0),
        g("m"),
        i32(MC),
        f.set("mc", min(sub(g("m"), g("ic")), i32(MC))),
        call(
          PACK_A,
          g("mc"),
          g("kc"),
          add(g("a"), shl(add(mul(g("ic"), g("ars")), mul(g("pc"), g("acs"))), i32(2))),
          g("ars"),
          g("acs"),
          g("pa"),
        ),
        call(
          MACRO,
          g("mc"),
          g("nc"),
          g("kc"),
          g("pa"),
          g("pb"),
          add(g("c"), shl(add(mul(g("ic"), g("ldc")), g("jc")), i32(2))),
          g("ldc"),
          g("first"),
          add(g("pa"), i32(MC * KC * 4)),
        ),
      ),
    ),
  );
  return f;
}

/** The parameters of {@link unfold} and {@link fold} after the im2col matrix's address: the geometry of one image. */
const IM2COL_IMAGE = [
  "plane",
  "channels",
  "h",
  "w",
  "outH",
  "outW",
  "kh",
  "kw",
  "sh",
  "sw",
  "ph",
  "pw",
  "dh",
  "dw",
  "rowBytes",
];

/**
 * The loops over an image's unfolded rows `(c, ki, kj)` and, in each, its
 * output rows `oh`: sets `row` (the unfolded row's byte address, `rowBytes`
 * apart), `src` (channel `c`'s plane), `colOff` (input column of output column
 * 0), `[owLo, owHi)` (the output columns whose input column lies inside the
 * image, found by stepping: at most `pad/stride` steps each side), `ih` (the
 * input row) and `at` (the output row's address in the unfolded row).
 */
function eachUnfoldedRow(f: Fn, base: string, ...body: Code[]): Code {
  const g = (n: string) => f.get(n);
  return seq(
    f.set("row", g(base)),
    forRange(
      f,
      "c",
      i32(0),
      g("channels"),
      i32(1),
      f.set("src", add(g("plane"), shl(mul(g("c"), mul(g("h"), g("w"))), i32(2)))),
      forRange(
        f,
        "ki",
        i32(0),
        g("kh"),
        i32(1),
        forRange(
          f,
          "kj",
          i32(0),
          g("kw"),
          i32(1),
          f.set("colOff", sub(mul(g("kj"), g("dw")), g("pw"))),
          f.set("owLo", i32(0)),
          block(loop(
            brIf(1, ge(g("owLo"), g("outW"))),
            brIf(1, ge(add(mul(g("owLo"), g("sw")), g("colOff")), i32(0))),
            f.set("owLo", add(g("owLo"), i32(1))),
            br(0),
          )),
          f.set("owHi", g("outW")),
          block(loop(
            brIf(1, ge(g("owLo"), g("owHi"))),
            brIf(1, lt(add(mul(sub(g("owHi"), i32(1)), g("sw")), g("colOff")), g("w"))),
            f.set("owHi", sub(g("owHi"), i32(1))),
            br(0),
          )),
          forRange(
            f,
            "oh",
            i32(0),
            g("outH"),
            i32(1),
            f.set("ih", add(sub(mul(g("oh"), g("sh")), g("ph")), mul(g("ki"), g("dh")))),
            f.set("at", add(g("row"), shl(mul(g("oh"), g("outW")), i32(2)))),
            ...body,
          ),
          f.set("row", add(g("row"), g("rowBytes"))),
        ),
      ),
    ),
  );
}

/** `n` floats of zeros at byte address `at` (local names: `at`, `n`, `i`), four at a time. */
function zeroFloats(f: Fn, at: Code, n: Code): Code {
  const g = (v: string) => f.get(v);
  return seq(
    f.set("z", at),
    f.set("zn", n),
    f.set("i", i32(0)),
    block(loop(
      brIf(1, gt(add(g("i"), i32(4)), g("zn"))),
      vStore(add(g("z"), shl(g("i"), i32(2))), vZero()),
      f.set("i", add(g("i"), i32(4))),
      br(0),
    )),
    block(loop(
      brIf(1, ge(g("i"), g("zn"))),
      f32Store(add(g("z"), shl(g("i"), i32(2))), f32(0)),
      f.set("i", add(g("i"), i32(1))),
      br(0),
    )),
  );
}

/**
 * im2col of one image: channels `c` of the plane at `plane` unfold into rows
 * `(c, ki, kj)` of `col[K][P]` at `dst` (rows `rowBytes` apart). Output row
 * `oh` of row `(c, ki, kj)` reads input row `ih = oh·sh - ph + ki·dh`; its
 * columns `[owLo, owHi)` read input column `ow·sw + colOff`, the rest (and
 * rows outside the image) are zero. Four floats at a time at unit stride: a
 * `memory.copy` per output row cost several times more on the small planes
 * of a CNN's deep layers.
 */
function unfold(): Fn {
  const f = new Fn("unfold", i32Params(["dst", ...IM2COL_IMAGE]));
  f.local(I32, "row", "src", "c", "ki", "kj", "oh", "ih", "at", "s", "colOff", "owLo", "owHi", "i", "z", "zn", "n");
  const g = (n: string) => f.get(n);
  f.body = eachUnfoldedRow(
    f,
    "dst",
    ifElse(
      geU(g("ih"), g("h")),
      zeroFloats(f, g("at"), g("outW")),
      seq(
        zeroFloats(f, g("at"), g("owLo")),
        f.set("s", add(g("src"), shl(add(mul(g("ih"), g("w")), g("colOff")), i32(2)))),
        ifElse(
          eq(g("sw"), i32(1)),
          seq(
            // Columns [owLo, owHi) of the output row come from the same columns of the input row, shifted by colOff.
            f.set("i", g("owLo")),
            block(loop(
              brIf(1, gt(add(g("i"), i32(4)), g("owHi"))),
              vStore(add(g("at"), shl(g("i"), i32(2))), vLoad(add(g("s"), shl(g("i"), i32(2))))),
              f.set("i", add(g("i"), i32(4))),
              br(0),
            )),
            block(loop(
              brIf(1, ge(g("i"), g("owHi"))),
              f32Store(add(g("at"), shl(g("i"), i32(2))), f32Load(add(g("s"), shl(g("i"), i32(2))))),
              f.set("i", add(g("i"), i32(1))),
              br(0),
            )),
          ),
          forRange(
            f,
            "i",
            g("owLo"),
            g("owHi"),
            i32(1),
            f32Store(add(g("at"), shl(g("i"), i32(2))), f32Load(add(g("s"), shl(mul(g("i"), g("sw")), i32(2))))),
          ),
        ),
        zeroFloats(f, add(g("at"), shl(g("owHi"), i32(2))), sub(g("outW"), g("owHi"))),
      ),
    ),
  );
  return f;
}

/** col2im of one image: adds every row `(c, ki, kj)` of the unfolded matrix at `src` back onto the input it was read from. */
function fold(): Fn {
  const f = new Fn("fold", i32Params(["src0", ...IM2COL_IMAGE]));
  f.local(I32, "row", "src", "c", "ki", "kj", "oh", "ih", "at", "d", "colOff", "owLo", "owHi", "ow", "p");
  const g = (n: string) => f.get(n);
  const p = g("p");
  f.body = eachUnfoldedRow(
    f,
    "src0",
    ifElse(
      ltU(g("ih"), g("h")),
      seq(
        f.set("d", add(g("src"), shl(add(mul(g("ih"), g("w")), g("colOff")), i32(2)))),
        ifElse(
          eq(g("sw"), i32(1)),
          seq(
            f.set("ow", g("owLo")),
            // Four columns at a time, then the rest one by one.
            block(loop(
              brIf(1, gt(add(g("ow"), i32(4)), g("owHi"))),
              f.set("p", add(g("d"), shl(g("ow"), i32(2)))),
              vStore(p, vAdd(vLoad(p), vLoad(add(g("at"), shl(g("ow"), i32(2)))))),
              f.set("ow", add(g("ow"), i32(4))),
              br(0),
            )),
            block(loop(
              brIf(1, ge(g("ow"), g("owHi"))),
              f.set("p", add(g("d"), shl(g("ow"), i32(2)))),
              f32Store(p, f32Add(f32Load(p), f32Load(add(g("at"), shl(g("ow"), i32(2)))))),
              f.set("ow", add(g("ow"), i32(1))),
              br(0),
            )),
          ),
          forRange(
            f,
            "ow",
            g("owLo"),
            g("owHi"),
            i32(1),
            f.set("p", add(g("d"), shl(mul(g("ow"), g("sw")), i32(2)))),
            f32Store(p, f32Add(f32Load(p), f32Load(add(g("at"), shl(g("ow"), i32(2)))))),
          ),
        ),
      ),
    ),
  );
  return f;
}

/**
 * `n` floats from `src` to `dst` (or added onto `dst` when `sum`), four at a
 * time, then one by one; `d`, `s`, `n` are expressions re-evaluated each step
 * (pass locals), `i` the loop local.
 */
function floatLoop(f: Fn, d: Code, s: Code, n: Code, sum: boolean): Code {
  const g = (v: string) => f.get(v);
  const at = (base: Code) => add(base, shl(g("i"), i32(2)));
  const store4 = sum ? vStore(at(d), vAdd(vLoad(at(d)), vLoad(at(s)))) : vStore(at(d), vLoad(at(s)));
  const store1 = sum ? f32Store(at(d), f32Add(f32Load(at(d)), f32Load(at(s)))) : f32Store(at(d), f32Load(at(s)));
  return seq(
    f.set("i", i32(0)),
    block(loop(brIf(1, gt(add(g("i"), i32(4)), n)), store4, f.set("i", add(g("i"), i32(4))), br(0))),
    block(loop(brIf(1, ge(g("i"), n)), store1, f.set("i", add(g("i"), i32(1))), br(0))),
  );
}

/** The parameters of {@link unfoldPadded}: {@link unfold}'s, then the scratch address. */
const PADDED_IMAGE = [...IM2COL_IMAGE, "pad"];

/**
 * The loops of {@link unfoldPadded} over one channel's
 * unfolded rows `(ki, kj)` and output rows `oh`: sets `at` (the output row's
 * address in the unfolded row at `row`) and `p` (where it starts in the padded
 * plane at `pad`, `wp` floats wide), advancing `row` by `rowBytes` per row.
 */
function eachPaddedRow(f: Fn, ...body: Code[]): Code {
  const g = (v: string) => f.get(v);
  return forRange(
    f,
    "ki",
    i32(0),
    g("kh"),
    i32(1),
    forRange(
      f,
      "kj",
      i32(0),
      g("kw"),
      i32(1),
      forRange(
        f,
        "oh",
        i32(0),
        g("outH"),
        i32(1),
        f.set("at", add(g("row"), shl(mul(g("oh"), g("outW")), i32(2)))),
        f.set(
          "p",
          add(
            g("pad"),
            shl(add(mul(add(mul(g("oh"), g("sh")), mul(g("ki"), g("dh"))), g("wp")), mul(g("kj"), g("dw"))), i32(2)),
          ),
        ),
        ...body,
      ),
      f.set("row", add(g("row"), g("rowBytes"))),
    ),
  );
}

/** `n` floats of zeros at local `z` (loop local `i`). */
function zeroAt(f: Fn, n: Code): Code {
  const g = (v: string) => f.get(v);
  return seq(
    f.set("i", i32(0)),
    block(loop(
      brIf(1, gt(add(g("i"), i32(4)), n)),
      vStore(add(g("z"), shl(g("i"), i32(2))), vZero()),
      f.set("i", add(g("i"), i32(4))),
      br(0),
    )),
    block(loop(
      brIf(1, ge(g("i"), n)),
      f32Store(add(g("z"), shl(g("i"), i32(2))), f32(0)),
      f.set("i", add(g("i"), i32(1))),
      br(0),
    )),
  );
}

/** Sets `hp`, `wp` (the padded plane's size) and `plen` (its floats). */
function paddedSize(f: Fn): Code {
  const g = (v: string) => f.get(v);
  return seq(
    f.set("hp", add(g("h"), shl(g("ph"), i32(1)))),
    f.set("wp", add(g("w"), shl(g("pw"), i32(1)))),
    f.set("plen", mul(g("hp"), g("wp"))),
  );
}

/** For each of the plane's `h` rows, `y`: `d` its place inside the padded plane, `s` the image row. */
function eachInteriorRow(f: Fn, ...body: Code[]): Code {
  const g = (v: string) => f.get(v);
  return forRange(
    f,
    "y",
    i32(0),
    g("h"),
    i32(1),
    f.set("d", add(g("pad"), shl(add(mul(add(g("y"), g("ph")), g("wp")), g("pw")), i32(2)))),
    f.set("s", add(g("src"), shl(mul(g("y"), g("w")), i32(2)))),
    ...body,
  );
}

/**
 * {@link unfold} for stride-1 convolutions with short output rows (a CNN's
 * deep layers: 14×14 down to 2×2), through a zero-padded copy of each channel
 * at `pad` (scratch of `(h + 2·ph)·(w + 2·pw)` floats): every output row is
 * then a plain copy of `outW` floats, with no bounds to work out and no zeros
 * to write, which on rows of 2–16 floats cost more than the copy itself
 * (the copy of the plane costs less than the `kh·kw` rows read from it; with
 * a stride it can cost more, and `unfold` runs instead).
 */
function unfoldPadded(): Fn {
  const f = new Fn("unfold_padded", i32Params(["dst", ...PADDED_IMAGE]));
  f.local(I32, "row", "src", "c", "ki", "kj", "oh", "at", "p", "i", "z", "d", "s", "y", "hp", "wp", "plen", "ow");
  const g = (v: string) => f.get(v);
  f.body = seq(
    paddedSize(f),
    // The border stays zero: each channel's copy writes the interior only.
    f.set("z", g("pad")),
    zeroAt(f, g("plen")),
    f.set("row", g("dst")),
    forRange(
      f,
      "c",
      i32(0),
      g("channels"),
      i32(1),
      f.set("src", add(g("plane"), shl(mul(g("c"), mul(g("h"), g("w"))), i32(2)))),
      eachInteriorRow(f, floatLoop(f, g("d"), g("s"), g("w"), false)),
      eachPaddedRow(
        f,
        ifElse(
          eq(g("sw"), i32(1)),
          floatLoop(f, g("at"), g("p"), g("outW"), false),
          forRange(
            f,
            "ow",
            i32(0),
            g("outW"),
            i32(1),
            f32Store(add(g("at"), shl(g("ow"), i32(2))), f32Load(add(g("p"), shl(mul(g("ow"), g("sw")), i32(2))))),
          ),
        ),
      ),
    ),
  );
  return f;
}

/**
 * `rows` rows of `n` floats from `src` to `dst`, rows `srcStride` and
 * `dstStride` bytes apart, four floats at a time: the gathers and scatters
 * between an NCHW tensor and a GEMM operand of several images side by side,
 * whose rows (an image's plane) can be as short as 4 floats.
 */
function copyRows(): Fn {
  const f = new Fn("copy_rows", i32Params(["dst", "dstStride", "src", "srcStride", "rows", "n"]));
  f.local(I32, "r", "i", "d", "s");
  const g = (v: string) => f.get(v);
  f.body = forRange(
    f,
    "r",
    i32(0),
    g("rows"),
    i32(1),
    f.set("d", add(g("dst"), mul(g("r"), g("dstStride")))),
    f.set("s", add(g("src"), mul(g("r"), g("srcStride")))),
    f.set("i", i32(0)),
    block(loop(
      brIf(1, gt(add(g("i"), i32(4)), g("n"))),
      vStore(add(g("d"), shl(g("i"), i32(2))), vLoad(add(g("s"), shl(g("i"), i32(2))))),
      f.set("i", add(g("i"), i32(4))),
      br(0),
    )),
    block(loop(
      brIf(1, ge(g("i"), g("n"))),
      f32Store(add(g("d"), shl(g("i"), i32(2))), f32Load(add(g("s"), shl(g("i"), i32(2))))),
      f.set("i", add(g("i"), i32(1))),
      br(0),
    )),
  );
  return f;
}

/**
 * The memory's size in bytes (`memory.size`), as every thread sees it at
 * once: a worker's `memory.buffer` can lag behind a growth made by another
 * thread, and the native BLAS's bounds checks must not.
 */
function heapBytes(): Fn {
  const f = new Fn("heap_bytes", [], [I32]);
  f.body = shl(seq(0x3f, 0x00), i32(16));
  return f;
}

/** Builds the SGEMM module; `relaxed` selects `f32x4.relaxed_madd` over mul + add. */
export function buildGemmModule(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const attention = attentionFunctions(relaxed);
  const fns = [
    micro(relaxed),
    packA(),
    packB(),
    macro(),
    gemm(),
    unfold(),
    fold(),
    copyRows(),
    heapBytes(),
    unfoldPadded(),
    ...attention.fns,
  ];
  return encodeModule({ min: 1, max: 65536, shared: true }, fns, [
    "gemm",
    "unfold",
    "fold",
    "copy_rows",
    "heap_bytes",
    "unfold_padded",
    ...attention.exports,
  ]);
}

/** A tiny module that validates only where relaxed SIMD is supported (start-up feature test). */
export function relaxedProbe(): Uint8Array<ArrayBuffer> {
  const f = new Fn("probe", [], [V128]);
  f.body = vMadd(vZero(), vZero(), vZero());
  return encodeModule({ min: 1, max: 1, shared: false }, [f], ["probe"]);
}
