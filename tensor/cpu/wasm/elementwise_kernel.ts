/**
 * WebAssembly SIMD kernels: elementwise family (generator; see `ops_kernel.ts`).
 *
 * Every kernel walks a 2-D block: `rows` rows of `cols` elements, the output
 * contiguous, each input either a vector along the row (inner stride 1, mode
 * `v`) or one value per row splatted across it (inner stride 0, mode `s`; a
 * scalar operand is a splat whose row stride is 0). Mode `d` is a float64
 * scalar: arithmetic with a scalar that float32 cannot hold exactly runs in
 * float64 and rounds once, as the TypeScript loop does (`x + 0.1` computes
 * `f32(x) + 0.1` in double, then stores). Signature, all i32:
 *
 * `ew_<op>_<modes>(rows, cols, in0, in0RowBytes, [in1, in1RowBytes, [in2, in2RowBytes]], out)`
 *
 * with byte addresses; the dispatcher (`../elementwise_wasm.ts`) collapses the
 * dimensions, loops over the ones beyond the last two, and picks the export by
 * {@link ewName}. Rows run 16 elements per iteration (4 vectors), then 4, then
 * one at a time through lane loads and stores, so the same vector expression
 * serves the tail and nothing is read or written past a row.
 *
 * Results equal the table's JavaScript expressions rounded to float32 bit for
 * bit (NaN payloads aside): add/sub/mul/div/sqrt of float32 values rounded
 * once are exact in float32; ReLU as `x & (x > 0)` gives +0 for NaN and −0;
 * maximum/minimum use `pmax`/`pmin` (`x >= y ? x : y` keeps the first of ±0)
 * and take `y` where `y` is NaN (`pmax` already returns a NaN `x`).
 *
 * @module
 */

import {
  add,
  block,
  br,
  brIf,
  type Code,
  Fn,
  ge,
  I32,
  i32,
  loop,
  lt,
  seq,
  simd,
  sub,
  uleb,
  V128,
  vLoad,
  vStore,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

// ---- SIMD opcodes the assembler does not define ------------------------------

const op1 = (opc: number) => (a: Code): Code => seq(a, simd(opc));
const op2 = (opc: number) => (a: Code, b: Code): Code => seq(a, b, simd(opc));
const mem = (opc: number, align: number) => (addr: Code, offset = 0): Code => seq(addr, simd(opc), align, uleb(offset));
const memLane = (opc: number, align: number) => (addr: Code, value: Code): Code =>
  seq(addr, value, simd(opc), align, 0, 0);

const load8Splat = mem(0x07, 0);
const load32Splat = mem(0x09, 2);
const load64Splat = mem(0x0a, 3);
const load32Zero = mem(0x5c, 2);
/** Stores lane 0 (a byte, a float). */
const store8Lane = memLane(0x58, 0);
const store32Lane = memLane(0x5a, 2);
const i8Ne = op2(0x24);
const f32Eq = op2(0x41);
const f32Ne = op2(0x42);
const f32Lt = op2(0x43);
const f32Gt = op2(0x44);
const f32Le = op2(0x45);
const f32Ge = op2(0x46);
const vAnd = op2(0x4e);
const vOr = op2(0x50);
/** `v128.bitselect(a, b, mask)`: bits of `a` where the mask is set, else of `b`. */
const bitselect = (a: Code, b: Code, m: Code): Code => seq(a, b, m, simd(0x52));
const demote = op1(0x5e);
const promoteLow = op1(0x5f);
const i8NarrowS = op2(0x65);
const i16NarrowS = op2(0x85);
const i16ExtLowS = op1(0x87);
const i16ExtHighS = op1(0x88);
const i32ExtLowS = op1(0xa7);
const i32ExtHighS = op1(0xa8);
const shuffle = (a: Code, b: Code, lanes: number[]): Code => seq(a, b, simd(0x0d), lanes);

function vConst(bytes: ArrayLike<number>): Code {
  return seq(simd(0x0c), Array.from(bytes));
}
const f32x4 = (v: number): Code => vConst(new Uint8Array(new Float32Array([v, v, v, v]).buffer));
const ZERO = vConst(new Uint8Array(16));
const BYTE_ONES = vConst(new Uint8Array(16).fill(1));
/** Lanes 2 and 3 of a float32 vector moved to lanes 0 and 1 (for the high float64 half). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** The low halves of two vectors side by side (joins two `demote` results). */
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

// ---- the kernels ----------------------------------------------------------------

/** How an input is read along a row: vector, float32 splat, float64 scalar. */
export type Mode = "v" | "s" | "d";

/** The export name of elementwise kernel `op` for input modes `modes` (one letter per input). */
export function ewName(op: string, modes: string): string {
  return `ew_${op}_${modes}`;
}

interface Input {
  readonly mode: Mode;
  /** Bool (one byte, read as an all-ones lane mask where nonzero) rather than float32. */
  readonly bool: boolean;
}

/**
 * One vector of results from the inputs' vectors: f32x4 values (f64x2 for a
 * `d` input), lane masks for bool inputs; returns f32x4, or lane masks for a
 * bool output. The codes are `local.get`s, free to use more than once.
 */
type Compute = (x: Code[]) => Code;

interface Spec {
  readonly name: string;
  readonly ins: readonly Input[];
  readonly boolOut: boolean;
  readonly compute: Compute;
}

/** Unary ops: `x` to the table's value. */
const UNARY: Record<string, (x: Code) => Code> = {
  // x & (x > 0): +0 for NaN, −0 and negatives, as `(x > 0 ? x : 0)`.
  relu: (x) => vAnd(x, f32Gt(x, ZERO)),
  neg: op1(0xe1),
  abs: op1(0xe0),
  sqrt: op1(0xe3),
  floor: op1(0x68),
  ceil: op1(0x67),
  // Ties to even, as roundHalfEven.
  round: op1(0x6a),
  reciprocal: (x) => op2(0xe7)(f32x4(1), x),
  // (x > 0 ? 1 : x < 0 ? -1 : 0): NaN and ±0 give +0.
  sign: (x) => vOr(vAnd(f32Gt(x, ZERO), f32x4(1)), vAnd(f32Lt(x, ZERO), f32x4(-1))),
};

/** Binary float32 ops. */
const ARITH: Record<string, { f32: number; f64: number }> = {
  add: { f32: 0xe4, f64: 0xf0 },
  sub: { f32: 0xe5, f64: 0xf1 },
  mul: { f32: 0xe6, f64: 0xf2 },
  div: { f32: 0xe7, f64: 0xf3 },
};

const MINMAX: Record<string, number> = {
  // pmax(x, y) = x < y ? y : x, which is (x >= y ? x : y) but for a NaN y.
  maximum: 0xeb,
  // pmin(x, y) = y < x ? y : x, which is (x <= y ? x : y) but for a NaN y.
  minimum: 0xea,
};

const COMPARE: Record<string, (a: Code, b: Code) => Code> = {
  eq: f32Eq,
  ne: f32Ne,
  lt: f32Lt,
  le: f32Le,
  gt: f32Gt,
  ge: f32Ge,
};

const vIn = (mode: Mode): Input => ({ mode, bool: false });

/** `op(x, S)` or `op(S, x)` with x float32 lanes and S a float64 splat: each half promoted, then demoted once. */
function f64Arith(opc: number, x: Code, s: Code, scalarFirst: boolean): Code {
  const half = (v: Code) => demote(scalarFirst ? seq(s, v, simd(opc)) : seq(v, s, simd(opc)));
  return shuffle(half(promoteLow(x)), half(promoteLow(shuffle(x, x, HIGH_HALF))), JOIN_LOW);
}

function specs(): Spec[] {
  const out: Spec[] = [];
  for (const [name, f] of Object.entries(UNARY)) {
    out.push({ name: ewName(name, "v"), ins: [vIn("v")], boolOut: false, compute: ([x]) => f(x) });
  }
  for (const [name, { f32, f64 }] of Object.entries(ARITH)) {
    for (const m of ["vv", "vs", "sv"]) {
      out.push({
        name: ewName(name, m),
        ins: [vIn(m[0] as Mode), vIn(m[1] as Mode)],
        boolOut: false,
        compute: ([x, y]) => seq(x, y, simd(f32)),
      });
    }
    out.push({
      name: ewName(name, "vd"),
      ins: [vIn("v"), vIn("d")],
      boolOut: false,
      compute: ([x, s]) => f64Arith(f64, x, s, false),
    });
    out.push({
      name: ewName(name, "dv"),
      ins: [vIn("d"), vIn("v")],
      boolOut: false,
      compute: ([s, x]) => f64Arith(f64, x, s, true),
    });
  }
  for (const [name, opc] of Object.entries(MINMAX)) {
    for (const m of ["vv", "vs", "sv"]) {
      out.push({
        name: ewName(name, m),
        ins: [vIn(m[0] as Mode), vIn(m[1] as Mode)],
        boolOut: false,
        compute: ([x, y]) => bitselect(y, seq(x, y, simd(opc)), f32Ne(y, y)),
      });
    }
  }
  // Comparisons with a splat first operand are mirrored by the dispatcher (x < s is s > x).
  for (const [name, f] of Object.entries(COMPARE)) {
    for (const m of ["vv", "vs"]) {
      out.push({
        name: ewName(name, m),
        ins: [vIn(m[0] as Mode), vIn(m[1] as Mode)],
        boolOut: true,
        compute: ([x, y]) => f(x, y),
      });
    }
  }
  // ReLU's gradient: x > 0 ? g : 0.
  for (const m of ["vv", "vs"]) {
    out.push({
      name: ewName("relu_backward", m),
      ins: [vIn("v"), vIn(m[1] as Mode)],
      boolOut: false,
      compute: ([x, g]) => vAnd(g, f32Gt(x, ZERO)),
    });
  }
  // where(cond, a, b): every mix of vector and splat inputs but all three splat (then nothing spans the row).
  for (const m of ["vvv", "vvs", "vsv", "vss", "svv", "svs", "ssv"]) {
    out.push({
      name: ewName("where", m),
      ins: [{ mode: m[0] as Mode, bool: true }, vIn(m[1] as Mode), vIn(m[2] as Mode)],
      boolOut: false,
      compute: ([c, a, b]) => bitselect(a, b, c),
    });
  }
  return out;
}

/** Elements per iteration of the three loops: 4 vectors, one vector, one lane. */
type Width = 16 | 4 | 1;

function kernel(spec: Spec): Fn {
  const { ins, boolOut } = spec;
  const params: [string, number][] = [["rows", I32], ["cols", I32]];
  ins.forEach((_, k) => params.push([`p${k}`, I32], [`r${k}`, I32]));
  params.push(["out", I32]);
  const f = new Fn(spec.name, params);
  f.local(I32, "row", "n", "o");
  ins.forEach((_, k) => f.local(I32, `q${k}`));
  ins.forEach((_, k) => f.local(V128, `s${k}`, `t${k}`));
  f.local(V128, "m0", "m1", "m2", "m3", "h", "y0", "y1", "y2", "y3");
  const g = (n: string) => f.get(n);

  /** Code computing group `j`'s result (of a `width`-element step) from the inputs. */
  const group = (width: Width, j: number): Code => {
    const setup: Code[] = [];
    const vals = ins.map((inp, k) => {
      if (inp.mode !== "v") return g(`s${k}`);
      if (inp.bool) return width === 16 ? g(`m${j}`) : g("m0");
      const at = g(`q${k}`);
      setup.push(f.set(`t${k}`, width === 1 ? load32Splat(at) : vLoad(at, 16 * j)));
      return g(`t${k}`);
    });
    return seq(...setup, spec.compute(vals));
  };

  /** Lane masks of the bool vector input for this step (`m0..m3` for 16 elements, `m0` else). */
  const boolMasks = (width: Width): Code => {
    const k = ins.findIndex((i) => i.bool && i.mode === "v");
    if (k < 0) return [];
    const at = g(`q${k}`);
    if (width === 1) return f.set("m0", i8Ne(load8Splat(at), ZERO));
    if (width === 4) return f.set("m0", i32ExtLowS(i16ExtLowS(i8Ne(load32Zero(at), ZERO))));
    return seq(
      f.set("h", i8Ne(vLoad(at), ZERO)),
      f.set("m0", i32ExtLowS(i16ExtLowS(g("h")))),
      f.set("m1", i32ExtHighS(i16ExtLowS(g("h")))),
      f.set("m2", i32ExtLowS(i16ExtHighS(g("h")))),
      f.set("m3", i32ExtHighS(i16ExtHighS(g("h")))),
    );
  };

  const stepBody = (width: Width): Code => {
    const parts: Code[] = [boolMasks(width)];
    if (!boolOut) {
      for (let j = 0; j < Math.max(1, width / 4); j++) {
        const r = group(width, j);
        parts.push(width === 1 ? store32Lane(g("o"), r) : vStore(g("o"), r, 16 * j));
      }
    } else if (width === 16) {
      for (let j = 0; j < 4; j++) parts.push(f.set(`y${j}`, group(16, j)));
      const bytes = i8NarrowS(i16NarrowS(g("y0"), g("y1")), i16NarrowS(g("y2"), g("y3")));
      parts.push(vStore(g("o"), vAnd(bytes, BYTE_ONES)));
    } else if (width === 4) {
      parts.push(f.set("y0", group(4, 0)));
      const narrow = i16NarrowS(g("y0"), g("y0"));
      parts.push(store32Lane(g("o"), vAnd(i8NarrowS(narrow, narrow), BYTE_ONES)));
    } else {
      parts.push(store8Lane(g("o"), vAnd(group(1, 0), BYTE_ONES)));
    }
    ins.forEach((inp, k) => {
      if (inp.mode === "v") parts.push(f.set(`q${k}`, add(g(`q${k}`), i32(width * (inp.bool ? 1 : 4)))));
    });
    parts.push(f.set("o", add(g("o"), i32(width * (boolOut ? 1 : 4)))));
    parts.push(f.set("n", sub(g("n"), i32(width))));
    return seq(...parts);
  };

  const stepLoop = (width: Width): Code => block(loop(brIf(1, lt(g("n"), i32(width))), stepBody(width), br(0)));

  const rowStart = ins.map((inp, k) => {
    const p = g(`p${k}`);
    if (inp.mode === "v") return f.set(`q${k}`, p);
    if (inp.mode === "d") return f.set(`s${k}`, load64Splat(p));
    return f.set(`s${k}`, inp.bool ? i8Ne(load8Splat(p), ZERO) : load32Splat(p));
  });
  const rowEnd = ins.map((_, k) => f.set(`p${k}`, add(g(`p${k}`), g(`r${k}`))));

  f.body = seq(
    f.set("o", g("out")),
    f.set("row", i32(0)),
    block(loop(
      brIf(1, ge(g("row"), g("rows"))),
      ...rowStart,
      f.set("n", g("cols")),
      stepLoop(16),
      stepLoop(4),
      stepLoop(1),
      ...rowEnd,
      f.set("row", add(g("row"), i32(1))),
      br(0),
    )),
  );
  return f;
}

/** The elementwise kernels' functions and exports; `base` is the module index of the first function. */
export function elementwiseKernels(_base: number): KernelFamily {
  const fns = specs().map(kernel);
  return { fns, exports: fns.map((f) => f.name) };
}
