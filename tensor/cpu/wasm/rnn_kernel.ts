/**
 * WebAssembly SIMD kernels: recurrent-cell family (generator; see
 * `ops_kernel.ts`) — the pointwise maths of one LSTM, GRU or plain RNN step,
 * forward and backward, over float32 rows (the equations of
 * `Backend.rnnCellForward` and `Backend.rnnCellBackward`). The dispatch is
 * `../rnn_wasm.ts`; the TypeScript reference is `../rnn_cell.ts`.
 *
 * WebAssembly has no `exp`, so it is computed here in float32 lanes the way
 * Cephes' `expf` does (range reduction by ln 2 in two parts, a degree-6
 * polynomial, the exponent added through the integer lanes: within 2 ulp).
 * `σ(x) = 1/(1 + e^{-x})`; `tanh` is Cephes' `tanhf`: an odd polynomial below
 * |x| = 0.625, `1 - 2/(e^{2|x|} + 1)` with the sign above, so small values
 * keep their relative accuracy. Results agree with the float64 reference to a
 * few float32 ulps, not bit for bit.
 *
 * Each kernel walks `n` rows of `H` columns, 4 columns per step and then one
 * at a time (lane loads and stores), with one pointer per operand; an operand
 * holding several gates per row (`[n, kH]`) reads gate `k` at `k·H` floats past
 * its pointer. Signatures (byte addresses, i32):
 *
 * - `rnn_lstm_fwd(n, H, xg, hg, cPrev, h, c, saved)`
 * - `rnn_gru_fwd(n, H, xg, hg, bias, hPrev, h, saved)` (bias: `3H` floats, read for every row)
 * - `rnn_tanh_fwd(n, H, xg, hg, h)`, `rnn_relu_fwd(…)`
 * - `rnn_lstm_bwd(n, H, recRows, gradH, rec, gradC, cRec, saved, cPrev, c, gradX, gradPrev)`
 * - `rnn_gru_bwd(n, H, recRows, gradH, rec0, rec1, saved, hPrev, gradX, gradHG, gradPrev)`
 * - `rnn_tanh_bwd(n, H, recRows, gradH, rec, h, gradX)`, `rnn_relu_bwd(…)`
 *
 * where rows below `recRows` add the recurrent gradients (`rec…`, `cRec`), and
 * `rnn_exp(n, H, src, dst)`, `rnn_tanh(…)` apply the two helpers alone (for tests).
 *
 * @module
 */

import {
  add,
  block,
  br,
  brIf,
  type Code,
  f32x4Abs,
  f32x4Const,
  f32x4Div,
  f32x4Gt,
  f32x4Lt,
  f32x4Max,
  f32x4Min,
  f32x4Nearest,
  f32x4Sub,
  Fn,
  ge,
  I32,
  i32,
  i32x4Add,
  i32x4Const,
  i32x4Shl,
  i32x4TruncSatF32x4S,
  ifElse,
  loop,
  lt,
  mul,
  seq,
  sub,
  V128,
  vAdd,
  vAnd,
  vBitselect,
  vLoad,
  vLoadSplat,
  vMul,
  vOr,
  vStore,
  vStore32Lane,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

const C = f32x4Const;
const SIGN = i32x4Const([-0x80000000, -0x80000000, -0x80000000, -0x80000000]);

/** Locals the math helpers use as scratch. */
const SCRATCH = ["ex", "efx", "ey", "ta", "tb", "tp"];

/** `out = e^x` lane-wise (Cephes `expf`; x clamped to the float32 range). */
function vexp(f: Fn, out: string, x: Code): Code {
  const g = (n: string) => f.get(n);
  const poly = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  let y: Code = C(poly[0]);
  for (const p of poly.slice(1)) y = vAdd(vMul(y, g("ex")), C(p));
  return seq(
    f.set("ex", f32x4Min(f32x4Max(x, C(-87.3)), C(88.3))),
    f.set("efx", f32x4Nearest(vMul(g("ex"), C(Math.LOG2E)))),
    // x - n·ln2 with ln2 split in two so the reduction is exact in float32.
    f.set("ex", f32x4Sub(f32x4Sub(g("ex"), vMul(g("efx"), C(0.693359375))), vMul(g("efx"), C(-2.12194440e-4)))),
    f.set("ey", vAdd(vAdd(vMul(y, vMul(g("ex"), g("ex"))), g("ex")), C(1))),
    // 2^n through the exponent bits: (n + 127) << 23.
    f.set(
      out,
      vMul(g("ey"), i32x4Shl(i32x4Add(i32x4TruncSatF32x4S(g("efx")), i32x4Const([127, 127, 127, 127])), i32(23))),
    ),
  );
}

/** `out = σ(x)`. */
function vsigmoid(f: Fn, out: string, x: Code): Code {
  return seq(vexp(f, "tp", f32x4Sub(C(0), x)), f.set(out, f32x4Div(C(1), vAdd(C(1), f.get("tp")))));
}

/** `out = tanh(x)` (Cephes `tanhf`). */
function vtanh(f: Fn, out: string, x: Code): Code {
  const g = (n: string) => f.get(n);
  const z = vMul(g("ta"), g("ta"));
  let p: Code = C(-5.70498872745e-3);
  for (const k of [2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]) {
    p = vAdd(vMul(p, z), C(k));
  }
  return seq(
    f.set("ta", x),
    f.set("tb", f32x4Abs(g("ta"))),
    vexp(f, "tp", vMul(C(2), f32x4Min(g("tb"), C(9)))),
    // 1 - 2/(e^{2|x|} + 1), given x's sign.
    f.set("tp", vOr(f32x4Sub(C(1), f32x4Div(C(2), vAdd(g("tp"), C(1)))), vAnd(g("ta"), SIGN))),
    f.set(out, vBitselect(vAdd(g("ta"), vMul(vMul(g("ta"), z), p)), g("tp"), f32x4Lt(g("tb"), C(0.625)))),
  );
}

/** An operand: its pointer parameter and how many `H`-wide blocks make one row (0: the same row for every row). */
interface Operand {
  readonly name: string;
  readonly blocks: number;
}

type Width = 4 | 1;

/** Loads and stores of gate `k` of an operand at the current column. */
class Cols {
  constructor(readonly f: Fn, readonly w: Width) {}
  addr(p: string, k: number): Code {
    return k === 0 ? this.f.get(p) : add(this.f.get(p), this.f.get(`o${k}`));
  }
  ld(p: string, k = 0): Code {
    return this.w === 4 ? vLoad(this.addr(p, k)) : vLoadSplat(this.addr(p, k));
  }
  st(p: string, k: number, v: Code): Code {
    return this.w === 4 ? vStore(this.addr(p, k), v) : vStore32Lane(this.addr(p, k), v, 0);
  }
}

/**
 * A kernel over `n` rows of `H` columns: `body(cols, rec)` computes one step
 * of 4 or 1 columns (`rec`: whether this row is below `recRows`, for the
 * backward kernels, which take `recRows` as their third parameter).
 */
function rowKernel(
  name: string,
  ops: Operand[],
  backward: boolean,
  locals: string[],
  body: (c: Cols, rec: boolean) => Code,
): Fn {
  const params: [string, number][] = [["n", I32], ["H", I32]];
  if (backward) params.push(["recRows", I32]);
  for (const o of ops) params.push([o.name, I32]);
  const f = new Fn(name, params);
  f.local(I32, "r", "m", "o1", "o2", "o3");
  f.local(V128, ...SCRATCH, ...locals);
  const g = (n: string) => f.get(n);
  const advance = (bytes: number) =>
    seq(...ops.filter((o) => o.blocks > 0).map((o) => f.set(o.name, add(g(o.name), i32(bytes)))));
  const stepLoop = (w: Width, rec: boolean): Code => {
    const c = new Cols(f, w);
    // The shared-row operands (bias) walk their columns from the row's start: offset them by the column reached.
    return block(loop(
      brIf(1, lt(g("m"), i32(w))),
      body(c, rec),
      advance(4 * w),
      ...ops.filter((o) => o.blocks === 0).map((o) => f.set(o.name, add(g(o.name), i32(4 * w)))),
      f.set("m", sub(g("m"), i32(w))),
      br(0),
    ));
  };
  const columns = (rec: boolean) => seq(f.set("m", g("H")), stepLoop(4, rec), stepLoop(1, rec));
  const rowEnd = seq(
    // Operands of k blocks per row are now 1 block into their row: skip the other k - 1.
    ...ops.filter((o) => o.blocks > 1).map((o) => f.set(o.name, add(g(o.name), mul(g("o1"), i32(o.blocks - 1))))),
    // Shared-row operands go back to their start.
    ...ops.filter((o) => o.blocks === 0).map((o) => f.set(o.name, sub(g(o.name), g("o1")))),
  );
  f.body = seq(
    f.set("o1", mul(g("H"), i32(4))),
    f.set("o2", mul(g("H"), i32(8))),
    f.set("o3", mul(g("H"), i32(12))),
    f.set("r", i32(0)),
    block(loop(
      brIf(1, ge(g("r"), g("n"))),
      backward ? ifElse(lt(g("r"), g("recRows")), columns(true), columns(false)) : columns(false),
      rowEnd,
      f.set("r", add(g("r"), i32(1))),
      br(0),
    )),
  );
  return f;
}

const op = (name: string, blocks = 1): Operand => ({ name, blocks });

function lstmForward(): Fn {
  const ops = [op("xg", 4), op("hg", 4), op("cp"), op("h"), op("c"), op("sv", 4)];
  return rowKernel("rnn_lstm_fwd", ops, false, ["i", "f", "g", "o", "cv", "tc"], (c) => {
    const f = c.f, g = (n: string) => f.get(n);
    const pre = (k: number) => vAdd(c.ld("xg", k), c.ld("hg", k));
    return seq(
      vsigmoid(f, "i", pre(0)),
      vsigmoid(f, "f", pre(1)),
      vtanh(f, "g", pre(2)),
      vsigmoid(f, "o", pre(3)),
      f.set("cv", vAdd(vMul(g("f"), c.ld("cp")), vMul(g("i"), g("g")))),
      vtanh(f, "tc", g("cv")),
      c.st("sv", 0, g("i")),
      c.st("sv", 1, g("f")),
      c.st("sv", 2, g("g")),
      c.st("sv", 3, g("o")),
      c.st("c", 0, g("cv")),
      c.st("h", 0, vMul(g("o"), g("tc"))),
    );
  });
}

function gruForward(): Fn {
  const ops = [op("xg", 3), op("hg", 3), op("b", 0), op("hp"), op("h"), op("sv", 4)];
  return rowKernel("rnn_gru_fwd", ops, false, ["rg", "z", "hn", "nv"], (c) => {
    const f = c.f, g = (n: string) => f.get(n);
    return seq(
      vsigmoid(f, "rg", vAdd(vAdd(c.ld("xg", 0), c.ld("hg", 0)), c.ld("b", 0))),
      vsigmoid(f, "z", vAdd(vAdd(c.ld("xg", 1), c.ld("hg", 1)), c.ld("b", 1))),
      f.set("hn", vAdd(c.ld("hg", 2), c.ld("b", 2))),
      vtanh(f, "nv", vAdd(c.ld("xg", 2), vMul(g("rg"), g("hn")))),
      c.st("sv", 0, g("rg")),
      c.st("sv", 1, g("z")),
      c.st("sv", 2, g("nv")),
      c.st("sv", 3, g("hn")),
      c.st("h", 0, vAdd(vMul(f32x4Sub(C(1), g("z")), g("nv")), vMul(g("z"), c.ld("hp")))),
    );
  });
}

function rnnForward(relu: boolean): Fn {
  const ops = [op("xg"), op("hg"), op("h")];
  return rowKernel(relu ? "rnn_relu_fwd" : "rnn_tanh_fwd", ops, false, ["v"], (c) => {
    const f = c.f, g = (n: string) => f.get(n);
    const pre = vAdd(c.ld("xg"), c.ld("hg"));
    if (relu) return c.st("h", 0, vAnd(pre, f32x4Gt(pre, C(0))));
    return seq(vtanh(f, "v", pre), c.st("h", 0, g("v")));
  });
}

function lstmBackward(): Fn {
  const ops = [
    op("gh"),
    op("rec"),
    op("gc"),
    op("crec"),
    op("sv", 4),
    op("cp"),
    op("c"),
    op("dx", 4),
    op("gp"),
  ];
  return rowKernel("rnn_lstm_bwd", ops, true, ["i", "f", "g", "o", "tc", "dh", "dc"], (c, rec) => {
    const f = c.f, g = (n: string) => f.get(n);
    const one = C(1);
    return seq(
      f.set("i", c.ld("sv", 0)),
      f.set("f", c.ld("sv", 1)),
      f.set("g", c.ld("sv", 2)),
      f.set("o", c.ld("sv", 3)),
      vtanh(f, "tc", c.ld("c")),
      f.set("dh", rec ? vAdd(c.ld("gh"), c.ld("rec")) : c.ld("gh")),
      f.set(
        "dc",
        vAdd(
          rec ? vAdd(c.ld("gc"), c.ld("crec")) : c.ld("gc"),
          vMul(vMul(g("dh"), g("o")), f32x4Sub(one, vMul(g("tc"), g("tc")))),
        ),
      ),
      c.st("dx", 0, vMul(vMul(vMul(g("dc"), g("g")), g("i")), f32x4Sub(one, g("i")))),
      c.st("dx", 1, vMul(vMul(vMul(g("dc"), c.ld("cp")), g("f")), f32x4Sub(one, g("f")))),
      c.st("dx", 2, vMul(vMul(g("dc"), g("i")), f32x4Sub(one, vMul(g("g"), g("g"))))),
      c.st("dx", 3, vMul(vMul(vMul(g("dh"), g("tc")), g("o")), f32x4Sub(one, g("o")))),
      c.st("gp", 0, vMul(g("dc"), g("f"))),
    );
  });
}

function gruBackward(): Fn {
  const ops = [op("gh"), op("rec0"), op("rec1"), op("sv", 4), op("hp"), op("dx", 3), op("dhg", 3), op("gp")];
  return rowKernel("rnn_gru_bwd", ops, true, ["rg", "z", "nv", "hn", "dh", "dn", "dz", "dr"], (c, rec) => {
    const f = c.f, g = (n: string) => f.get(n);
    const one = C(1);
    return seq(
      f.set("rg", c.ld("sv", 0)),
      f.set("z", c.ld("sv", 1)),
      f.set("nv", c.ld("sv", 2)),
      f.set("hn", c.ld("sv", 3)),
      f.set("dh", rec ? vAdd(vAdd(c.ld("gh"), c.ld("rec0")), c.ld("rec1")) : c.ld("gh")),
      f.set("dn", vMul(vMul(g("dh"), f32x4Sub(one, g("z"))), f32x4Sub(one, vMul(g("nv"), g("nv"))))),
      f.set("dz", vMul(vMul(vMul(g("dh"), f32x4Sub(c.ld("hp"), g("nv"))), g("z")), f32x4Sub(one, g("z")))),
      f.set("dr", vMul(vMul(vMul(g("dn"), g("hn")), g("rg")), f32x4Sub(one, g("rg")))),
      c.st("dx", 0, g("dr")),
      c.st("dx", 1, g("dz")),
      c.st("dx", 2, g("dn")),
      c.st("dhg", 0, g("dr")),
      c.st("dhg", 1, g("dz")),
      c.st("dhg", 2, vMul(g("dn"), g("rg"))),
      c.st("gp", 0, vMul(g("dh"), g("z"))),
    );
  });
}

function rnnBackward(relu: boolean): Fn {
  const ops = [op("gh"), op("rec"), op("h"), op("dx")];
  return rowKernel(relu ? "rnn_relu_bwd" : "rnn_tanh_bwd", ops, true, ["dh", "hv"], (c, rec) => {
    const f = c.f, g = (n: string) => f.get(n);
    return seq(
      f.set("dh", rec ? vAdd(c.ld("gh"), c.ld("rec")) : c.ld("gh")),
      f.set("hv", c.ld("h")),
      c.st(
        "dx",
        0,
        relu ? vAnd(g("dh"), f32x4Gt(g("hv"), C(0))) : vMul(g("dh"), f32x4Sub(C(1), vMul(g("hv"), g("hv")))),
      ),
    );
  });
}

/** `rnn_exp(n, H, src, dst)`: `dst = e^{src}` over `n` rows of `H` with this file's `exp`, so tests can check it alone. */
function expKernel(): Fn {
  return rowKernel("rnn_exp", [op("src"), op("dst")], false, ["v"], (c) => {
    return seq(vexp(c.f, "v", c.ld("src")), c.st("dst", 0, c.f.get("v")));
  });
}

/** `rnn_tanh(n, H, src, dst)`: `dst = tanh(src)` over `n` rows of `H`, for the same reason. */
function tanhKernel(): Fn {
  return rowKernel("rnn_tanh", [op("src"), op("dst")], false, ["v"], (c) => {
    return seq(vtanh(c.f, "v", c.ld("src")), c.st("dst", 0, c.f.get("v")));
  });
}

/** The recurrent-cell kernels' functions and exports; `base` is the module index of the first function. */
export function rnnKernels(_base: number): KernelFamily {
  const fns = [
    lstmForward(),
    gruForward(),
    rnnForward(false),
    rnnForward(true),
    lstmBackward(),
    gruBackward(),
    rnnBackward(false),
    rnnBackward(true),
    expKernel(),
    tanhKernel(),
  ];
  return { fns, exports: fns.map((f) => f.name) };
}
