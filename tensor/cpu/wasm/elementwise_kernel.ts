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
 * and take `y` where `y` is NaN (`pmax` already returns a NaN `x`). The exception: exact GELU and its gradient
 * (`ew_gelu_v`, `ew_gelu_backward_*`: the table's erf fit with Cephes' vector `exp`, in float32) and SiLU and its
 * gradient (`ew_silu_v`, `ew_silu_backward_*`, the same `exp`) agree with the float64 loops within float32 rounding,
 * not bit for bit.
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
  f32x4Ceil,
  f32x4Const,
  f32x4DemoteJoin,
  f32x4Div,
  f32x4Eq,
  f32x4Floor,
  f32x4Ge,
  f32x4Gt,
  f32x4Le,
  f32x4Lt,
  f32x4Ne,
  f32x4Nearest,
  f32x4Neg,
  f32x4PMax,
  f32x4PMin,
  f32x4Sqrt,
  f32x4Sub,
  f64x2Add,
  f64x2Div,
  f64x2Mul,
  f64x2Promote,
  f64x2PromoteHigh,
  f64x2Sub,
  Fn,
  ge,
  i16x8ExtendHighS,
  i16x8ExtendLowS,
  i16x8NarrowS,
  I32,
  i32,
  i32x4ExtendHighS,
  i32x4ExtendLowS,
  i8x16NarrowS,
  i8x16Ne,
  loop,
  lt,
  seq,
  sub,
  V128,
  vAdd,
  vAnd,
  vBitselect,
  vConst,
  vLoad,
  vLoad32Zero,
  vLoad64Splat,
  vLoad8Splat,
  vLoadSplat,
  vMul,
  vOr,
  vStore,
  vStore32Lane,
  vStore8Lane,
  vZero,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";
import { expLocals, hoistedConstants, vexpSteps } from "./attention_kernel.ts";

const ZERO = vZero();
const BYTE_ONES = vConst(new Uint8Array(16).fill(1));

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
type Compute = (x: Code[], f: Fn) => Code;

/**
 * A computation as statements on vector group `j`'s own locals, then the result's expression. A 16-element step
 * emits its {@link GROUPS} groups' statements interleaved, statement by statement: GELU's erfc fit and `exp` are long
 * chains of dependent multiply-adds, and one vector's chain at a time left the core waiting on each result (6 ns an
 * element); four chains side by side keep it busy.
 */
type Staged = (x: Code[], f: Fn, j: number, k: Konst) => { steps: Code[]; value: Code };

/**
 * A constant vector of `v` in every lane, as a staged kernel reads it: a local set once before the loop. A
 * `v128.const` inside the loop is rebuilt from immediates at every use (several instructions each; GELU has about
 * thirty); a local costs a register or one load.
 */
type Konst = (v: number) => Code;

interface Spec {
  readonly name: string;
  readonly ins: readonly Input[];
  readonly boolOut: boolean;
  /** The result of one vector (every kernel but the staged ones). */
  readonly compute?: Compute;
  /** The computation as statements per vector group (float32 vector inputs and output only; see {@link Staged}). */
  readonly staged?: Staged;
  /** Declares the extra locals `compute` or `staged` sets (the GELU kernels'). */
  readonly locals?: (f: Fn) => void;
}

// ---- exact GELU: x·Φ(x), Φ(x) = ½·erfc(−x/√2), erfc by Numerical Recipes' Chebyshev fit (the table's erf) --------

/** The fit's coefficients, innermost first: erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), z ≥ 0. */
const ERFC_P = [
  0.17087277,
  -0.82215223,
  1.48851587,
  -1.13520398,
  0.27886807,
  -0.18628806,
  0.09678418,
  0.37409196,
  1.00002368,
  -1.26551223,
];

const vMadd = (a: Code, b: Code, c: Code): Code => vAdd(vMul(a, b), c);

/** Vectors a 16-element step computes side by side (see {@link Staged}). */
const GROUPS = 4;

function geluLocals(f: Fn): void {
  for (let j = 0; j < GROUPS; j++) {
    expLocals(f, `_${j}`);
    f.local(V128, ...["gu", "gz", "gt", "gq", "gp", "gh"].map((n) => `${n}_${j}`));
  }
}

/**
 * `2·Φ(x)` of the lanes of `x` (a local.get), on group `j`'s locals: with u = x/√2 and r = erfc(|u|), 2Φ is 2 − r
 * for u ≥ 0 and r below — computed so, not as 1 + erf, so the far negative tail keeps its relative accuracy.
 */
function twoPhi(f: Fn, x: Code, j: number, k: Konst): { steps: Code[]; value: Code } {
  const f32x4Const = k;
  const g = (n: string) => f.get(`${n}_${j}`);
  const set = (n: string, v: Code) => f.set(`${n}_${j}`, v);
  let poly = f32x4Const(ERFC_P[0]);
  for (const c of ERFC_P.slice(1)) poly = vMadd(poly, g("gt"), f32x4Const(c));
  const e = vexpSteps(f, vAdd(f32x4Neg(vMul(g("gz"), g("gz"))), g("gq")), vMadd, `_${j}`, k);
  return {
    steps: [
      set("gu", vMul(x, f32x4Const(Math.SQRT1_2))),
      set("gz", f32x4Abs(g("gu"))),
      set("gt", f32x4Div(f32x4Const(1), vMadd(g("gz"), f32x4Const(0.5), f32x4Const(1)))),
      set("gq", poly),
      ...e.steps,
      set("gp", vMul(g("gt"), e.value)),
    ],
    value: vBitselect(f32x4Sub(f32x4Const(2), g("gp")), g("gp"), f32x4Ge(g("gu"), ZERO)),
  };
}

/** GELU, x·Φ(x). */
function geluVec(f: Fn, x: Code, j: number, k: Konst): { steps: Code[]; value: Code } {
  const phi = twoPhi(f, x, j, k);
  return { steps: phi.steps, value: vMul(vMul(x, k(0.5)), phi.value) };
}

/** GELU's gradient, y·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π). */
function geluBackwardVec(f: Fn, x: Code, y: Code, j: number, k: Konst): { steps: Code[]; value: Code } {
  const phi = twoPhi(f, x, j, k);
  const e = vexpSteps(f, vMul(vMul(x, x), k(-0.5)), vMadd, `_${j}`, k);
  return {
    steps: [...phi.steps, f.set(`gh_${j}`, vMul(phi.value, k(0.5))), ...e.steps],
    value: vMul(y, vAdd(f.get(`gh_${j}`), vMul(vMul(x, k(1 / Math.sqrt(2 * Math.PI))), e.value))),
  };
}

// ---- SiLU: x·σ(x), σ(x) = 1/(1 + e^(−x)) with Cephes' vector exp (e^(−x) saturates at e^88, so σ → 0, never NaN) ---

function siluLocals(f: Fn): void {
  for (let j = 0; j < GROUPS; j++) {
    expLocals(f, `_${j}`);
    f.local(V128, `ss_${j}`);
  }
}

/** σ(x) of the lanes of `x` (a local.get) into group `j`'s local `ss`, as statements (see {@link Staged}). */
function sigmoidSteps(f: Fn, x: Code, j: number, k: Konst): Code[] {
  const e = vexpSteps(f, f32x4Neg(x), vMadd, `_${j}`, k);
  return [...e.steps, f.set(`ss_${j}`, f32x4Div(k(1), vAdd(k(1), e.value)))];
}

/** SiLU, x·σ(x). */
function siluVec(f: Fn, x: Code, j: number, k: Konst): { steps: Code[]; value: Code } {
  return { steps: sigmoidSteps(f, x, j, k), value: vMul(x, f.get(`ss_${j}`)) };
}

/** SiLU's gradient, y·σ(x)·(1 + x·(1 − σ(x))). */
function siluBackwardVec(f: Fn, x: Code, y: Code, j: number, k: Konst): { steps: Code[]; value: Code } {
  const s = f.get(`ss_${j}`);
  return { steps: sigmoidSteps(f, x, j, k), value: vMul(vMul(y, s), vAdd(k(1), vMul(x, f32x4Sub(k(1), s)))) };
}

/** Unary ops: `x` to the table's value. */
const UNARY: Record<string, (x: Code) => Code> = {
  // x & (x > 0): +0 for NaN, −0 and negatives, as `(x > 0 ? x : 0)`.
  relu: (x) => vAnd(x, f32x4Gt(x, ZERO)),
  neg: f32x4Neg,
  abs: f32x4Abs,
  sqrt: f32x4Sqrt,
  floor: f32x4Floor,
  ceil: f32x4Ceil,
  // Ties to even, as roundHalfEven.
  round: f32x4Nearest,
  reciprocal: (x) => f32x4Div(f32x4Const(1), x),
  // (x > 0 ? 1 : x < 0 ? -1 : 0): NaN and ±0 give +0.
  sign: (x) => vOr(vAnd(f32x4Gt(x, ZERO), f32x4Const(1)), vAnd(f32x4Lt(x, ZERO), f32x4Const(-1))),
};

type Binary = (a: Code, b: Code) => Code;

/** Binary float32 ops: on float32 lanes, and on float64 pairs for a float64 scalar operand. */
const ARITH: Record<string, { f32: Binary; f64: Binary }> = {
  add: { f32: vAdd, f64: f64x2Add },
  sub: { f32: f32x4Sub, f64: f64x2Sub },
  mul: { f32: vMul, f64: f64x2Mul },
  div: { f32: f32x4Div, f64: f64x2Div },
};

const MINMAX: Record<string, Binary> = {
  // pmax(x, y) = x < y ? y : x, which is (x >= y ? x : y) but for a NaN y.
  maximum: f32x4PMax,
  // pmin(x, y) = y < x ? y : x, which is (x <= y ? x : y) but for a NaN y.
  minimum: f32x4PMin,
};

const COMPARE: Record<string, Binary> = {
  eq: f32x4Eq,
  ne: f32x4Ne,
  lt: f32x4Lt,
  le: f32x4Le,
  gt: f32x4Gt,
  ge: f32x4Ge,
};

const vIn = (mode: Mode): Input => ({ mode, bool: false });

/** `op(x, S)` or `op(S, x)` with x float32 lanes and S a float64 splat: each half promoted, then demoted once. */
function f64Arith(op: Binary, x: Code, s: Code, scalarFirst: boolean): Code {
  const half = (v: Code) => (scalarFirst ? op(s, v) : op(v, s));
  return f32x4DemoteJoin(half(f64x2Promote(x)), half(f64x2PromoteHigh(x)));
}

type StagedFn = (f: Fn, x: Code, j: number, k: Konst) => { steps: Code[]; value: Code };
type StagedBackwardFn = (f: Fn, x: Code, y: Code, j: number, k: Konst) => { steps: Code[]; value: Code };

/** An activation's staged kernels: `ew_<op>_v`, and its gradient `ew_<op>_backward_vv` / `_vs` (the gradient a splat). */
function stagedActivation(op: string, locals: (f: Fn) => void, forward: StagedFn, backward: StagedBackwardFn): Spec[] {
  const fwd: Spec = {
    name: ewName(op, "v"),
    ins: [vIn("v")],
    boolOut: false,
    locals,
    staged: ([x], f, j, k) => forward(f, x, j, k),
  };
  return [
    fwd,
    ...["vv", "vs"].map((m): Spec => ({
      name: ewName(`${op}_backward`, m),
      ins: [vIn("v"), vIn(m[1] as Mode)],
      boolOut: false,
      locals,
      staged: ([x, y], f, j, k) => backward(f, x, y, j, k),
    })),
  ];
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
        compute: ([x, y]) => f32(x, y),
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
  for (const [name, op] of Object.entries(MINMAX)) {
    for (const m of ["vv", "vs", "sv"]) {
      out.push({
        name: ewName(name, m),
        ins: [vIn(m[0] as Mode), vIn(m[1] as Mode)],
        boolOut: false,
        compute: ([x, y]) => vBitselect(y, op(x, y), f32x4Ne(y, y)),
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
  // Exact GELU, SiLU and their gradients (within float32 rounding of the table's float64 loops, not bit for bit).
  out.push(...stagedActivation("gelu", geluLocals, geluVec, geluBackwardVec));
  out.push(...stagedActivation("silu", siluLocals, siluVec, siluBackwardVec));
  // ReLU's gradient: x > 0 ? g : 0.
  for (const m of ["vv", "vs"]) {
    out.push({
      name: ewName("relu_backward", m),
      ins: [vIn("v"), vIn(m[1] as Mode)],
      boolOut: false,
      compute: ([x, g]) => vAnd(g, f32x4Gt(x, ZERO)),
    });
  }
  // where(cond, a, b): every mix of vector and splat inputs but all three splat (then nothing spans the row).
  for (const m of ["vvv", "vvs", "vsv", "vss", "svv", "svs", "ssv"]) {
    out.push({
      name: ewName("where", m),
      ins: [{ mode: m[0] as Mode, bool: true }, vIn(m[1] as Mode), vIn(m[2] as Mode)],
      boolOut: false,
      compute: ([c, a, b]) => vBitselect(a, b, c),
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
  spec.locals?.(f);
  f.local(I32, "row", "n", "o");
  ins.forEach((_, k) => f.local(I32, `q${k}`));
  ins.forEach((_, k) => f.local(V128, `s${k}`, `t${k}`));
  f.local(V128, "m0", "m1", "m2", "m3", "h", "y0", "y1", "y2", "y3");
  const g = (n: string) => f.get(n);

  const staged = spec.staged;
  if (staged && (boolOut || ins.some((i) => i.bool))) throw new Error(`${spec.name}: staged kernels are float32 only`);
  if (staged) ins.forEach((_, k) => f.local(V128, ...Array.from({ length: GROUPS }, (_, j) => `t${k}g${j}`)));
  const { k: konst, sets: constantSets } = hoistedConstants(f);

  /** A staged step of `width` elements: every group's loads, their statements interleaved, then the stores. */
  const stagedStep = (width: Width): Code[] => {
    const groups = Array.from({ length: Math.max(1, width / 4) }, (_, j) => j);
    const loads: Code[] = [];
    const results = groups.map((j) => {
      const vals = ins.map((inp, k) => {
        if (inp.mode !== "v") return g(`s${k}`);
        const at = g(`q${k}`);
        loads.push(f.set(`t${k}g${j}`, width === 1 ? vLoadSplat(at) : vLoad(at, 16 * j)));
        return g(`t${k}g${j}`);
      });
      return staged!(vals, f, j, konst);
    });
    const interleaved: Code[] = [];
    for (let i = 0; i < results[0].steps.length; i++) for (const r of results) interleaved.push(r.steps[i]);
    const stores = results.map((
      r,
      j,
    ) => (width === 1 ? vStore32Lane(g("o"), r.value, 0) : vStore(g("o"), r.value, 16 * j)));
    return [...loads, ...interleaved, ...stores];
  };

  /** Code computing group `j`'s result (of a `width`-element step) from the inputs. */
  const group = (width: Width, j: number): Code => {
    const setup: Code[] = [];
    const vals = ins.map((inp, k) => {
      if (inp.mode !== "v") return g(`s${k}`);
      if (inp.bool) return width === 16 ? g(`m${j}`) : g("m0");
      const at = g(`q${k}`);
      setup.push(f.set(`t${k}`, width === 1 ? vLoadSplat(at) : vLoad(at, 16 * j)));
      return g(`t${k}`);
    });
    if (!spec.compute) throw new Error(`${spec.name}: a kernel needs compute or staged`);
    return seq(...setup, spec.compute(vals, f));
  };

  /** Lane masks of the bool vector input for this step (`m0..m3` for 16 elements, `m0` else). */
  const boolMasks = (width: Width): Code => {
    const k = ins.findIndex((i) => i.bool && i.mode === "v");
    if (k < 0) return [];
    const at = g(`q${k}`);
    if (width === 1) return f.set("m0", i8x16Ne(vLoad8Splat(at), ZERO));
    if (width === 4) return f.set("m0", i32x4ExtendLowS(i16x8ExtendLowS(i8x16Ne(vLoad32Zero(at), ZERO))));
    return seq(
      f.set("h", i8x16Ne(vLoad(at), ZERO)),
      f.set("m0", i32x4ExtendLowS(i16x8ExtendLowS(g("h")))),
      f.set("m1", i32x4ExtendHighS(i16x8ExtendLowS(g("h")))),
      f.set("m2", i32x4ExtendLowS(i16x8ExtendHighS(g("h")))),
      f.set("m3", i32x4ExtendHighS(i16x8ExtendHighS(g("h")))),
    );
  };

  const stepBody = (width: Width): Code => {
    const parts: Code[] = [boolMasks(width)];
    if (staged) {
      parts.push(...stagedStep(width));
    } else if (!boolOut) {
      for (let j = 0; j < Math.max(1, width / 4); j++) {
        const r = group(width, j);
        parts.push(width === 1 ? vStore32Lane(g("o"), r, 0) : vStore(g("o"), r, 16 * j));
      }
    } else if (width === 16) {
      for (let j = 0; j < 4; j++) parts.push(f.set(`y${j}`, group(16, j)));
      const bytes = i8x16NarrowS(i16x8NarrowS(g("y0"), g("y1")), i16x8NarrowS(g("y2"), g("y3")));
      parts.push(vStore(g("o"), vAnd(bytes, BYTE_ONES)));
    } else if (width === 4) {
      parts.push(f.set("y0", group(4, 0)));
      const narrow = i16x8NarrowS(g("y0"), g("y0"));
      parts.push(vStore32Lane(g("o"), vAnd(i8x16NarrowS(narrow, narrow), BYTE_ONES), 0));
    } else {
      parts.push(vStore8Lane(g("o"), vAnd(group(1, 0), BYTE_ONES), 0));
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
    if (inp.mode === "d") return f.set(`s${k}`, vLoad64Splat(p));
    return f.set(`s${k}`, inp.bool ? i8x16Ne(vLoad8Splat(p), ZERO) : vLoadSplat(p));
  });
  const rowEnd = ins.map((_, k) => f.set(`p${k}`, add(g(`p${k}`), g(`r${k}`))));

  const rows = seq(
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
  // The constants a staged computation asked for, set once before the loops (generating `rows` declared them).
  f.body = seq(...constantSets, rows);
  return f;
}

/** The elementwise kernels' functions and exports; `base` is the module index of the first function. */
export function elementwiseKernels(_base: number): KernelFamily {
  const fns = specs().map(kernel);
  return { fns, exports: fns.map((f) => f.name) };
}
