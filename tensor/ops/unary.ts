/**
 * Elementwise functions of one tensor, each beside its derivative rule
 * (written in ops, so higher-order gradients work). The kernels come from
 * `elementwise_table.ts`.
 *
 * @module
 */

import type { UnaryOp } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { UNARY_TABLE } from "../elementwise_table.ts";
import { needsGrad, type Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { geluBackward, siluBackward, thresholdBackward } from "./binary.ts";
import { traced } from "../trace.ts";

type Rule = (x: Tensor, out: Tensor, g: Tensor) => Tensor;

/** Ops that compute in floating point: integer inputs promote to float32 first, as in PyTorch. */
const FLOAT_ONLY = new Set<UnaryOp>([
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "sigmoid",
  "tanh",
  "gelu",
  "silu",
  "sin",
  "cos",
  "reciprocal",
  "expm1",
  "log1p",
  "erf",
]);

/** d/dx erf(x) = 2/√π · e^(−x²). */
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** The derivative rules: d(op)/dx times the incoming gradient. */
const RULES: Partial<Record<UnaryOp, Rule>> = {
  neg: (_x, _o, g) => g.neg(),
  exp: (_x, o, g) => g.mul(o),
  log: (x, _o, g) => g.div(x),
  sqrt: (_x, o, g) => g.div(o.mul(2)),
  rsqrt: (_x, o, g) => g.mul(o.pow(3)).mul(-0.5),
  abs: (x, _o, g) => g.mul(x.sign()),
  sign: (_x, _o, g) => g.mul(0),
  // PyTorch's threshold_backward (0 where x ≤ 0 even for an infinite g): one fused pass, no bool tensor.
  relu: (x, _o, g) => thresholdBackward(x, g),
  sigmoid: (_x, o, g) => g.mul(o.mul(o.neg().add(1))),
  tanh: (_x, o, g) => g.mul(o.mul(o).neg().add(1)),
  // d/dx x·Φ(x) = Φ(x) + x·φ(x), in one fused pass (differentiable again).
  gelu: (x, _o, g) => geluBackward(x, g),
  // One fused pass: g·σ(x)·(1 + x·(1 − σ(x))).
  silu: (x, _o, g) => siluBackward(x, g),
  sin: (x, _o, g) => g.mul(x.cos()),
  cos: (x, _o, g) => g.mul(x.sin()).neg(),
  reciprocal: (_x, o, g) => g.mul(o.mul(o)).neg(),
  floor: (_x, _o, g) => g.mul(0),
  ceil: (_x, _o, g) => g.mul(0),
  round: (_x, _o, g) => g.mul(0),
  expm1: (_x, o, g) => g.mul(o.add(1)),
  log1p: (x, _o, g) => g.div(x.add(1)),
  erf: (x, _o, g) => g.mul(x.mul(x).neg().exp().mul(TWO_OVER_SQRT_PI)),
};

/** What each rule reads: its input `x`, its output `out`, or nothing (the rest). */
const SAVES: Partial<Record<UnaryOp, "x" | "out">> = {
  exp: "out",
  log: "x",
  sqrt: "out",
  rsqrt: "out",
  abs: "x",
  relu: "x",
  sigmoid: "out",
  tanh: "out",
  gelu: "x",
  sin: "x",
  cos: "x",
  reciprocal: "out",
  expm1: "out",
  log1p: "x",
  erf: "x",
};

/** Applies unary `op` elementwise, recording its derivative. */
export function applyUnary(op: UnaryOp, x: Tensor): Tensor {
  const backend = backendOf(x, op);
  if (op === "neg" && x.dtype === "bool") {
    throw new TypeError(
      "neg: negation, the `-` operator, on a bool tensor is not supported; if you are trying to invert a mask, " +
        "use logicalNot() (PyTorch's `~`) instead",
    );
  }
  const spec = UNARY_TABLE[op];
  const src = FLOAT_ONLY.has(op) && !isFloating(x.dtype) ? x.to("float32") : x;
  const out = empty(src.shape, spec.bool ? "bool" : src.dtype, src.device, op);
  backend.unary(op, src, out.storage);
  const rule = RULES[op];
  if (!rule || spec.bool || !needsGrad(src)) return traced(out, op, [src]);
  const saves = SAVES[op];
  const saved = saves === "x" ? [src] : saves === "out" ? [out] : [];
  return traced(
    record(out, `${op[0].toUpperCase()}${op.slice(1)}Backward`, [src], (g) => [rule(src, out, g)], saved),
    op,
    [src],
  );
}

/** `-x`. */
export const neg = (x: Tensor): Tensor => applyUnary("neg", x);
/** `e^x`. */
export const exp = (x: Tensor): Tensor => applyUnary("exp", x);
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => applyUnary("log", x);
/** Square root. */
export const sqrt = (x: Tensor): Tensor => applyUnary("sqrt", x);
/** `1/sqrt(x)`. */
export const rsqrt = (x: Tensor): Tensor => applyUnary("rsqrt", x);
/** `|x|`. */
export const abs = (x: Tensor): Tensor => applyUnary("abs", x);
/** -1, 0, 1. */
export const sign = (x: Tensor): Tensor => applyUnary("sign", x);
/** `max(x, 0)`. */
export const relu = (x: Tensor): Tensor => applyUnary("relu", x);
/** Logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => applyUnary("sigmoid", x);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => applyUnary("tanh", x);
/** Exact GELU. */
export const gelu = (x: Tensor): Tensor => applyUnary("gelu", x);
/** SiLU (swish), `x·σ(x)`. */
export const silu = (x: Tensor): Tensor => applyUnary("silu", x);
/** Sine. */
export const sin = (x: Tensor): Tensor => applyUnary("sin", x);
/** Cosine. */
export const cos = (x: Tensor): Tensor => applyUnary("cos", x);
/** `1/x`. */
export const reciprocal = (x: Tensor): Tensor => applyUnary("reciprocal", x);
/** Round down. */
export const floor = (x: Tensor): Tensor => applyUnary("floor", x);
/** Round up. */
export const ceil = (x: Tensor): Tensor => applyUnary("ceil", x);
/** Round half to even. */
export const round = (x: Tensor): Tensor => applyUnary("round", x);
/** `e^x - 1`. */
export const expm1 = (x: Tensor): Tensor => applyUnary("expm1", x);
/** `log(1 + x)`. */
export const log1p = (x: Tensor): Tensor => applyUnary("log1p", x);
/** The Gauss error function. */
export const erf = (x: Tensor): Tensor => applyUnary("erf", x);
/** Logical not, as bool. */
export const logicalNot = (x: Tensor): Tensor => applyUnary("logicalNot", x);
/** Finite test, as bool. */
export const isfinite = (x: Tensor): Tensor => applyUnary("isfinite", x);
