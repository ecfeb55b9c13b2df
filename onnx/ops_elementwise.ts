/**
 * ONNX mappings of the elementwise ops: unary functions, arithmetic and
 * comparisons with PyTorch's promotion (already done by the traced casts),
 * `where`, `clamp`, casts and activations.
 *
 * @module
 */

import type { DType } from "@dendrite/tensor";
import { dataType, type Emitter, type OpContext } from "./graph.ts";

const isFloatType = (t: DType) => t === "float32" || t === "float64";

function unary(opType: string): Emitter {
  return (ctx) => ctx.node(opType, [ctx.input(0)]);
}

/** Ops that are the identity on integer tensors (rounding) but need floats in ONNX. */
function rounding(opType: string): Emitter {
  return (ctx) =>
    isFloatType(ctx.inTensor(0).dtype) ? ctx.node(opType, [ctx.input(0)]) : ctx.node("Identity", [ctx.input(0)]);
}

/** The dtype a binary op computes in: its output's, or for a comparison its tensor operand's. */
function computeType(ctx: OpContext): DType {
  const out = ctx.output(0).dtype;
  if (out !== "bool") return out;
  for (const i of [0, 1]) {
    if (ctx.rec.inputs[i].kind === "value" || ctx.rec.inputs[i].kind === "tensor") return ctx.inTensor(i).dtype;
  }
  return "float32";
}

function binary(opType: string): Emitter {
  return (ctx) => {
    const t = computeType(ctx);
    return ctx.node(opType, [ctx.operand(0, t), ctx.operand(1, t)]);
  };
}

function negated(opType: string): Emitter {
  return (ctx) => ctx.node("Not", binary(opType)(ctx));
}

/** The elementwise mappings, by traced op name. */
export const ELEMENTWISE: Record<string, Emitter> = {
  neg: unary("Neg"),
  exp: unary("Exp"),
  log: unary("Log"),
  sqrt: unary("Sqrt"),
  rsqrt: (ctx) => ctx.node("Reciprocal", ctx.node("Sqrt", [ctx.input(0)])),
  abs: unary("Abs"),
  sign: unary("Sign"),
  relu: unary("Relu"),
  sigmoid: unary("Sigmoid"),
  tanh: unary("Tanh"),
  // ONNX's Gelu arrives in opset 20: x·Φ(x) = x · (1 + erf(x/√2)) / 2.
  gelu: (ctx) => {
    const x = ctx.input(0), t = ctx.inTensor(0).dtype;
    const erf = ctx.node("Erf", ctx.node("Mul", [x, ctx.constant([Math.SQRT1_2], t, [])]));
    const cdf = ctx.node("Mul", [ctx.node("Add", [erf[0], ctx.constant([1], t, [])])[0], ctx.constant([0.5], t, [])]);
    return ctx.node("Mul", [x, cdf[0]]);
  },
  // ONNX has no SiLU: x·σ(x), as PyTorch exports it.
  silu: (ctx) => ctx.node("Mul", [ctx.input(0), ctx.node("Sigmoid", [ctx.input(0)])[0]]),
  // ONNX Runtime's Elu is float32 only: other types get x where x > 0, else α·(e^min(x, 0) − 1).
  elu: (ctx) => {
    const x = ctx.input(0), t = ctx.inTensor(0).dtype, alpha = ctx.attr<number>("alpha");
    if (t === "float32") return ctx.node("Elu", [x], { alpha: { f: alpha } });
    const zero = ctx.constant([0], t, []);
    const e = ctx.node("Sub", [ctx.node("Exp", ctx.node("Min", [x, zero]))[0], ctx.constant([1], t, [])])[0];
    const neg = ctx.node("Mul", [e, ctx.constant([alpha], t, [])])[0];
    return ctx.node("Where", [ctx.node("Greater", [x, zero])[0], x, neg]);
  },
  sin: unary("Sin"),
  cos: unary("Cos"),
  reciprocal: unary("Reciprocal"),
  floor: rounding("Floor"),
  ceil: rounding("Ceil"),
  round: rounding("Round"),
  expm1: (ctx) => ctx.node("Sub", [ctx.node("Exp", [ctx.input(0)])[0], ctx.constant([1], ctx.inTensor(0).dtype, [])]),
  log1p: (ctx) => ctx.node("Log", ctx.node("Add", [ctx.input(0), ctx.constant([1], ctx.inTensor(0).dtype, [])])),
  erf: unary("Erf"),
  logicalNot: (ctx) => ctx.node("Not", [ctx.operand(0, "bool")]),
  isfinite: (ctx) => {
    const x = ctx.input(0);
    if (!isFloatType(ctx.inTensor(0).dtype)) return ctx.node("Equal", [x, x]);
    return ctx.node("Not", ctx.node("Or", [ctx.node("IsInf", [x])[0], ctx.node("IsNaN", [x])[0]]));
  },

  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  div: binary("Div"),
  pow: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("Pow", [ctx.operand(0, t), ctx.operand(1, t)]);
  },
  maximum: binary("Max"),
  minimum: binary("Min"),
  // Python's %: the result takes the divisor's sign. ONNX Mod does that for integers (fmod=0); floats: a - ⌊a/b⌋·b.
  remainder: (ctx) => {
    const t = ctx.output(0).dtype, a = ctx.operand(0, t), b = ctx.operand(1, t);
    if (!isFloatType(t)) return ctx.node("Mod", [a, b], { fmod: { i: 0 } });
    const q = ctx.node("Floor", ctx.node("Div", [a, b]));
    return ctx.node("Sub", [a, ctx.node("Mul", [q[0], b])[0]]);
  },
  eq: binary("Equal"),
  ne: negated("Equal"),
  lt: binary("Less"),
  le: binary("LessOrEqual"),
  gt: binary("Greater"),
  ge: binary("GreaterOrEqual"),
  logicalAnd: (ctx) => ctx.node("And", [ctx.operand(0, "bool"), ctx.operand(1, "bool")]),
  logicalOr: (ctx) => ctx.node("Or", [ctx.operand(0, "bool"), ctx.operand(1, "bool")]),

  where: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("Where", [ctx.operand(0, "bool"), ctx.operand(1, t), ctx.operand(2, t)]);
  },
  maskedFill: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("Where", [ctx.operand(1, "bool"), ctx.operand(2, t), ctx.operand(0, t)]);
  },
  clamp: (ctx) => {
    const t = ctx.inTensor(0).dtype;
    const bound = (i: number) => ctx.rec.inputs[i].kind;
    if (bound(1) !== "value" && bound(1) !== "tensor" && bound(2) !== "value" && bound(2) !== "tensor") {
      // Number bounds: Clip takes them as 0-d inputs ("" when absent).
      return ctx.node("Clip", [ctx.input(0), ctx.has(1) ? ctx.operand(1, t) : "", ctx.has(2) ? ctx.operand(2, t) : ""]);
    }
    let y = ctx.input(0);
    if (ctx.has(1)) y = ctx.node("Max", [y, ctx.operand(1, t)])[0];
    if (ctx.has(2)) y = ctx.node("Min", [y, ctx.operand(2, t)])[0];
    return [y];
  },
  leakyRelu: (ctx) => ctx.node("LeakyRelu", [ctx.input(0)], { alpha: { f: ctx.attr<number>("negativeSlope") } }),
  cast: (ctx) => ctx.node("Cast", [ctx.input(0)], { to: { i: dataType(ctx.attr<DType>("dtype")) } }),
  identity: unary("Identity"),
  dropout: (ctx) =>
    ctx.fail(
      "dropout in training mode has no ONNX mapping; onnx.export runs the model in eval mode, so this is a " +
        "functional dropout called with training=true: pass this.training instead",
    ),
};
