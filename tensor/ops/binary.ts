/**
 * Elementwise functions of two (or three) operands with NumPy broadcasting
 * and PyTorch's type promotion, each beside its derivative rule. Broadcasting
 * is done here with stride-0 views, so kernels only see same-shaped operands.
 *
 * @module
 */

import { noGrad } from "@dendrite/autograd";
import { type BinaryOp, getBackend, type View } from "../backend.ts";
import { type DType, isFloating, promoteTypes, promoteWithScalar } from "../dtype.ts";
import { BINARY_TABLE } from "../elementwise_table.ts";
import { broadcastShapes, broadcastStrides, fmtShape, type Shape, shapesEqual } from "../shape.ts";
import { needsGrad, Tensor, type TensorOrScalar } from "../tensor.ts";
import { checkOperand, commonDevice, empty, record, sumToShape } from "./core.ts";
import { traced } from "../trace.ts";

/** The dtype two operands compute in. */
export function resultType(a: TensorOrScalar, b: TensorOrScalar): DType {
  if (a instanceof Tensor && b instanceof Tensor) {
    // A 0-d tensor acts like a scalar for the category only when the other is a full tensor (PyTorch).
    return promoteTypes(a.dtype, b.dtype);
  }
  if (a instanceof Tensor) return promoteWithScalar(a.dtype, b as number);
  if (b instanceof Tensor) return promoteWithScalar(b.dtype, a as number);
  return Number.isInteger(a) && Number.isInteger(b) ? "int32" : "float32";
}

function shapeOf(x: TensorOrScalar): Shape {
  return x instanceof Tensor ? x.shape : [];
}

/** A tensor operand (already cast by {@link castedOperand}) as a view broadcast to `shape`; numbers pass through. */
function prepare(x: TensorOrScalar, shape: Shape): View | number {
  if (!(x instanceof Tensor)) return x;
  return { storage: x.storage, shape, strides: broadcastStrides(x.shape, x.strides, shape), offset: x.offset };
}

function castedOperand(x: TensorOrScalar, dtype: DType): TensorOrScalar {
  return x instanceof Tensor && x.dtype !== dtype ? x.to(dtype) : x;
}

/**
 * A derivative rule: the gradients for `a` and `b` given the output's gradient `g`. `need` says which inputs take
 * part in the graph; a rule computes nothing for the others (a constant operand's gradient would be thrown away).
 */
type BinaryRule = (
  a: TensorOrScalar,
  b: TensorOrScalar,
  out: Tensor,
  g: Tensor,
  need: readonly [boolean, boolean],
) => [Tensor | null, Tensor | null];

const RULES: Partial<Record<BinaryOp, BinaryRule>> = {
  add: (_a, _b, _o, g) => [g, g],
  sub: (_a, _b, _o, g, [, nb]) => [g, nb ? g.neg() : null],
  mul: (a, b, _o, g, [na, nb]) => [na ? g.mul(b) : null, nb ? g.mul(a) : null],
  div: (a, b, _o, g, [na, nb]) => [na ? g.div(b) : null, nb ? g.mul(a).div(mul(b, b)).neg() : null],
  pow: (a, b, o, g, [na, nb]) => [
    // A scalar exponent stays a number: two numbers have no tensor (and no device) to compute on.
    na ? g.mul(typeof b === "number" ? pow(a, b - 1).mul(b) : mul(b, pow(a, sub(b, 1)))) : null,
    // d/db a^b = a^b·ln a, taken as 0 where a = 0 and b ≥ 0 (PyTorch's convention).
    nb ? g.mul(o.mul(logOrZero(a))) : null,
  ],
  maximum: (a, b, _o, g, need) => tieSplit(a, b, g, "gt", need),
  minimum: (a, b, _o, g, need) => tieSplit(a, b, g, "lt", need),
  remainder: (a, b, _o, g, [, nb]) => [g, nb ? g.mul(div(a, b).floor()).neg() : null],
  // Linear in the gradient operand; piecewise constant (derivative 0) in the ReLU input.
  thresholdBackward: (a, _b, _o, g, [, nb]) => [null, nb ? applyBinary("thresholdBackward", a, g) : null],
  // siluBackward(x, y) = y·silu'(x): linear in y; in x, y·silu''(x) with silu'' = σ(1−σ)(2 + x(1−2σ)).
  siluBackward: (a, b, _o, g, [na, nb]) => {
    let gx: Tensor | null = null;
    if (na) {
      const x = a as Tensor, s = x.sigmoid();
      const second = s.mul(s.neg().add(1)).mul(x.mul(s.mul(-2).add(1)).add(2));
      gx = g.mul(b).mul(second);
    }
    return [gx, nb ? applyBinary("siluBackward", a, g) : null];
  },
  // geluBackward(x, y) = y·gelu'(x): linear in y; in x, y·gelu''(x) with gelu'' = φ(x)·(2 − x²).
  geluBackward: (a, b, _o, g, [na, nb]) => {
    let gx: Tensor | null = null;
    if (na) {
      const x = a as Tensor;
      const pdf = x.mul(x).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
      gx = g.mul(b).mul(pdf.mul(x.mul(x).neg().add(2)));
    }
    return [gx, nb ? applyBinary("geluBackward", a, g) : null];
  },
};

/**
 * What each rule reads, given which operands need a gradient: `[a, b, out]`. These tensors' version counters are
 * checked before the rule runs (a tensor changed in place since would give a wrong gradient); a rule that reads
 * nothing (add, sub) saves nothing, so changing its operands afterwards is fine, as in PyTorch.
 */
const SAVES: Partial<Record<BinaryOp, (need: readonly [boolean, boolean]) => readonly [boolean, boolean, boolean]>> = {
  mul: ([na, nb]) => [nb, na, false],
  div: ([na, nb]) => [nb, na || nb, false],
  pow: ([na, nb]) => [true, na, nb],
  maximum: () => [true, true, false],
  minimum: () => [true, true, false],
  remainder: ([, nb]) => [nb, nb, false],
  thresholdBackward: () => [true, false, false],
};

function logOrZero(a: TensorOrScalar): TensorOrScalar {
  if (!(a instanceof Tensor)) return a === 0 ? 0 : Math.log(a);
  return where(a.ne(0), a, 1).log();
}

/** Gradient of max/min: the winner takes it all, ties split it evenly (PyTorch). */
function tieSplit(
  a: TensorOrScalar,
  b: TensorOrScalar,
  g: Tensor,
  win: "gt" | "lt",
  [na, nb]: readonly [boolean, boolean],
): [Tensor | null, Tensor | null] {
  const aWins = compare(win, a, b).to(g.dtype);
  const tie = compare("eq", a, b).to(g.dtype).mul(0.5);
  const wa = aWins.add(tie);
  return [na ? g.mul(wa) : null, nb ? g.mul(wa.neg().add(1)) : null];
}

/**
 * PyTorch's refusal of `-` with a bool tensor (its result would be a silent int32): two bools are a logical xor,
 * `1 - mask` an inverted mask.
 */
export function checkNoBoolSub(a: TensorOrScalar, b: TensorOrScalar): void {
  const ba = a instanceof Tensor && a.dtype === "bool", bb = b instanceof Tensor && b.dtype === "bool";
  if (ba && bb) {
    throw new TypeError(
      "sub: subtraction, the `-` operator, with two bool tensors is not supported; use a.logicalXor(b) " +
        "(PyTorch's `^` or logical_xor()) instead",
    );
  }
  if (ba || bb) {
    throw new TypeError(
      "sub: subtraction, the `-` operator, with a bool tensor is not supported; if you are trying to invert a " +
        "mask, use logicalNot() (PyTorch's `~`) instead, or convert with .int() or .float() first",
    );
  }
}

/** Applies binary `op` with broadcasting and promotion, recording its derivative. */
export function applyBinary(op: BinaryOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  checkOperand(op, a, "first operand");
  checkOperand(op, b, "second operand");
  if (op === "sub") checkNoBoolSub(a, b);
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    throw new TypeError(`${op}: at least one operand must be a Tensor, got two numbers`);
  }
  const device = commonDevice(op, a, b);
  const spec = BINARY_TABLE[op];
  let dtype = resultType(a, b);
  if (op === "div" && !isFloating(dtype)) dtype = "float32";
  if (op === "pow" && !isFloating(dtype) && typeof b === "number" && b < 0) dtype = "float32";
  if (dtype === "bool" && !spec.bool) dtype = "int32";
  const shape = broadcastShapes(op, shapeOf(a), shapeOf(b));
  const out = empty(shape, spec.bool ? "bool" : dtype, device, op);
  const ca = castedOperand(a, dtype), cb = castedOperand(b, dtype);
  getBackend(device).binary(op, prepare(ca, shape), prepare(cb, shape), out.storage, shape);
  const rule = RULES[op];
  if (!rule || spec.bool || !needsGrad(ca, cb)) return traced(out, op, [ca, cb]);
  // Only the operands that require grad get a gradient: the engine has no node to send the others to.
  const ta = graphInput(ca), tb = graphInput(cb);
  const need = [ta !== null, tb !== null] as const;
  const saves = SAVES[op]?.(need);
  const saved = saves ? [saves[0] ? ca : null, saves[1] ? cb : null, saves[2] ? out : null] : [];
  return traced(
    record(out, `${op[0].toUpperCase()}${op.slice(1)}Backward`, [ta, tb], (g) => {
      const [ga, gb] = rule(ca, cb, out, g, need);
      return [ta && ga ? sumToShape(ga, ta.shape) : null, tb && gb ? sumToShape(gb, tb.shape) : null];
    }, saved.map((x) => (x instanceof Tensor ? x : null))),
    op,
    [ca, cb],
  );
}

/** `x` when it is a tensor that requires grad (an input the graph routes a gradient to), else null. */
function graphInput(x: TensorOrScalar): Tensor | null {
  return x instanceof Tensor && x.requiresGrad ? x : null;
}

/** `a + b`. */
export const add = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("add", a, b);
/** `a - b`. */
export const sub = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("sub", a, b);
/** `a * b`. */
export const mul = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("mul", a, b);
/** `a / b` (true division). */
export const div = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("div", a, b);
/** `a ** b`. */
export const pow = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("pow", a, b);
/** SiLU's gradient `y·silu'(x)` in one pass (the derivative rule of `silu`). */
export const siluBackward = (x: TensorOrScalar, y: TensorOrScalar): Tensor => applyBinary("siluBackward", x, y);
/** Exact GELU's gradient `y·gelu'(x)` in one pass (the derivative rule of `gelu`). */
export const geluBackward = (x: TensorOrScalar, y: TensorOrScalar): Tensor => applyBinary("geluBackward", x, y);
/** Elementwise maximum. */
export const maximum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("maximum", a, b);
/** Elementwise minimum. */
export const minimum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("minimum", a, b);
/** Python's `%`. */
export const remainder = (a: TensorOrScalar, b: TensorOrScalar): Tensor => applyBinary("remainder", a, b);

/** ReLU's gradient: `x > 0 ? grad : 0` in one pass (PyTorch's `threshold_backward`), itself differentiable in `grad`. */
export const thresholdBackward = (x: Tensor, grad: Tensor): Tensor => applyBinary("thresholdBackward", x, grad);

/** A comparison or logical op, producing a bool tensor. */
export function compare(
  op: "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr",
  a: TensorOrScalar,
  b: TensorOrScalar,
): Tensor {
  return applyBinary(op, a, b);
}

/** Logical exclusive or (non-zero is true), as bool: PyTorch's `logical_xor`. */
export function logicalXor(a: Tensor, b: TensorOrScalar): Tensor {
  checkOperand("logicalXor", b, "second operand");
  const other = typeof b === "number" ? (b !== 0 ? 1 : 0) : compare("ne", b, 0);
  return compare("ne", compare("ne", a, 0), other);
}

/** `cond ? a : b` with broadcasting over all three. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (!(cond instanceof Tensor)) throw new TypeError("where: condition must be a Tensor");
  checkOperand("where", a, "input");
  checkOperand("where", b, "other");
  const device = commonDevice("where", cond, a, b);
  const dtype = resultType(a, b);
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, shapeOf(a)), shapeOf(b));
  const out = empty(shape, dtype, device, "where");
  const c: View = {
    storage: cond.storage,
    shape,
    strides: broadcastStrides(cond.shape, cond.strides, shape),
    offset: cond.offset,
  };
  const ca = castedOperand(a, dtype), cb = castedOperand(b, dtype);
  getBackend(device).where(c, prepare(ca, shape), prepare(cb, shape), out.storage, shape);
  const ta = graphInput(ca), tb = graphInput(cb);
  return traced(
    record(out, "WhereBackward", [ta, tb], (g) => [
      ta ? sumToShape(where(cond, g, 0), ta.shape) : null,
      tb ? sumToShape(where(cond, 0, g), tb.shape) : null,
    ], [cond]),
    "where",
    [cond, ca, cb],
  );
}

/** Clamps into [min, max]; the gradient passes where the input lies inside (bounds included). */
export function clamp(x: Tensor, min?: TensorOrScalar, max?: TensorOrScalar): Tensor {
  if (min === undefined && max === undefined) throw new TypeError("clamp: at least one of min and max must be given");
  if (typeof min === "number" && typeof max === "number" && min > max) {
    // PyTorch sets everything to max in this case; say so rather than surprise.
    return x.mul(0).add(max);
  }
  const lo = min !== undefined ? noGradApply("maximum", x, min) : x;
  const out = max !== undefined ? noGradApply("minimum", lo, max) : lo;
  if (!shapesEqual(out.shape, x.shape)) {
    throw new RangeError(
      `clamp: bounds would broadcast the input of shape ${fmtShape(x.shape)} to ${fmtShape(out.shape)}`,
    );
  }
  const operands = [x, min ?? null, max ?? null] as const;
  if (!needsGrad(x)) return traced(out, "clamp", operands);
  // The gradient passes where min ≤ x ≤ max (bounds included, unlike maximum/minimum's tie split).
  const inside = (g: Tensor) => {
    let keep = min !== undefined ? x.ge(min) : null;
    if (max !== undefined) keep = keep ? keep.logicalAnd(x.le(max)) : x.le(max);
    return g.mul(keep!);
  };
  const bounds = [min, max].map((b) => (b instanceof Tensor ? b : null));
  return traced(record(out, "ClampBackward", [x], (g) => [inside(g)], [x, ...bounds]), "clamp", operands);
}

function noGradApply(op: BinaryOp, a: Tensor, b: TensorOrScalar): Tensor {
  return noGrad(() => applyBinary(op, a, b));
}
