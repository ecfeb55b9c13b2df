/**
 * One table for the elementwise family: each op's scalar expression for the
 * CPU (JavaScript, over `x` and `y`) and for WebGPU (WGSL). Backends compile
 * their loops from these strings, so no op is written twice per device; the
 * derivative rules live with the ops in `ops/unary.ts` and `ops/binary.ts`.
 *
 * @module
 */

import type { BinaryOp, UnaryOp } from "./backend.ts";

/** How one elementwise op computes a single element. */
export interface ElementwiseSpec {
  /** JavaScript expression over `x` (and `y`); helper functions `erf` are in scope. */
  readonly js: string;
  /** WGSL expression over `x` (and `y`) for float operands. */
  readonly wgsl: string;
  /** True when the result is a bool (0/1) regardless of the operand dtype. */
  readonly bool?: boolean;
}

/** Unary ops. */
export const UNARY_TABLE: Record<UnaryOp, ElementwiseSpec> = {
  neg: { js: "-x", wgsl: "-x" },
  exp: { js: "Math.exp(x)", wgsl: "exp(x)" },
  log: { js: "Math.log(x)", wgsl: "log(x)" },
  sqrt: { js: "Math.sqrt(x)", wgsl: "sqrt(x)" },
  rsqrt: { js: "1 / Math.sqrt(x)", wgsl: "inverseSqrt(x)" },
  abs: { js: "Math.abs(x)", wgsl: "abs(x)" },
  sign: { js: "(x > 0 ? 1 : x < 0 ? -1 : 0)", wgsl: "sign(x)" },
  relu: { js: "(x > 0 ? x : 0)", wgsl: "max(x, 0.0)" },
  sigmoid: { js: "(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))", wgsl: "1.0 / (1.0 + exp(-x))" },
  tanh: { js: "Math.tanh(x)", wgsl: "tanh(clamp(x, -15.0, 15.0))" },
  gelu: { js: "0.5 * x * (1 + erf(x * 0.7071067811865476))", wgsl: "0.5 * x * (1.0 + erf(x * 0.7071067811865476))" },
  // x·σ(x) without overflow: e^-x is +∞ only where x is very negative, and x/∞ is (−)0.
  silu: { js: "x / (1 + Math.exp(-x))", wgsl: "x / (1.0 + exp(-x))" },
  sin: { js: "Math.sin(x)", wgsl: "sin(x)" },
  cos: { js: "Math.cos(x)", wgsl: "cos(x)" },
  reciprocal: { js: "1 / x", wgsl: "1.0 / x" },
  floor: { js: "Math.floor(x)", wgsl: "floor(x)" },
  ceil: { js: "Math.ceil(x)", wgsl: "ceil(x)" },
  round: { js: "roundHalfEven(x)", wgsl: "round(x)" },
  logicalNot: { js: "(x ? 0 : 1)", wgsl: "select(1.0, 0.0, x != 0.0)", bool: true },
  isfinite: { js: "(Number.isFinite(x) ? 1 : 0)", wgsl: "select(0.0, 1.0, abs(x) <= 3.4028234e38)", bool: true },
  expm1: { js: "Math.expm1(x)", wgsl: "exp(x) - 1.0" },
  log1p: { js: "Math.log1p(x)", wgsl: "log(1.0 + x)" },
  erf: { js: "erf(x)", wgsl: "erf(x)" },
};

/** Binary ops. */
export const BINARY_TABLE: Record<BinaryOp, ElementwiseSpec> = {
  add: { js: "x + y", wgsl: "x + y" },
  sub: { js: "x - y", wgsl: "x - y" },
  mul: { js: "x * y", wgsl: "x * y" },
  div: { js: "x / y", wgsl: "x / y" },
  pow: { js: "Math.pow(x, y)", wgsl: "pow_any(x, y)" },
  // NaN propagates (torch.maximum): x + y is NaN when either operand is.
  maximum: { js: "(x !== x || y !== y ? x + y : x >= y ? x : y)", wgsl: "max(x, y)" },
  minimum: { js: "(x !== x || y !== y ? x + y : x <= y ? x : y)", wgsl: "min(x, y)" },
  eq: { js: "(x === y ? 1 : 0)", wgsl: "select(0.0, 1.0, x == y)", bool: true },
  ne: { js: "(x !== y ? 1 : 0)", wgsl: "select(0.0, 1.0, x != y)", bool: true },
  lt: { js: "(x < y ? 1 : 0)", wgsl: "select(0.0, 1.0, x < y)", bool: true },
  le: { js: "(x <= y ? 1 : 0)", wgsl: "select(0.0, 1.0, x <= y)", bool: true },
  gt: { js: "(x > y ? 1 : 0)", wgsl: "select(0.0, 1.0, x > y)", bool: true },
  ge: { js: "(x >= y ? 1 : 0)", wgsl: "select(0.0, 1.0, x >= y)", bool: true },
  logicalAnd: { js: "(x && y ? 1 : 0)", wgsl: "select(0.0, 1.0, x != 0.0 && y != 0.0)", bool: true },
  logicalOr: { js: "(x || y ? 1 : 0)", wgsl: "select(0.0, 1.0, x != 0.0 || y != 0.0)", bool: true },
  remainder: { js: "(x - Math.floor(x / y) * y)", wgsl: "x - floor(x / y) * y" },
  // One pass instead of gt + where (and no bool tensor): 0 where x <= 0 or x is NaN, even for an infinite y.
  thresholdBackward: { js: "(x > 0 ? y : 0)", wgsl: "select(0.0, y, x > 0.0)" },
  // SiLU's gradient in one pass (σ is 0 or 1 at the extremes, never NaN): y·σ(x)·(1 + x·(1 − σ(x))).
  siluBackward: {
    js: "y * (1 / (1 + Math.exp(-x))) * (1 + x * (1 - 1 / (1 + Math.exp(-x))))",
    wgsl: "y * (1.0 / (1.0 + exp(-x))) * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x))))",
  },
  // Exact GELU's gradient in one pass (its composed form was ten kernels over the activations): y·(Φ(x) + x·φ(x)),
  // Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^(−x²/2)/√(2π).
  geluBackward: {
    js: "y * (0.5 * (1 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x))",
    wgsl: "y * (0.5 * (1.0 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x))",
  },
};

/**
 * The Gauss error function, to float32 accuracy and better (W. J. Cody's
 * rational approximations would be overkill here; this is Numerical Recipes'
 * `erfc` Chebyshev fit, fractional error below 1.2e-7).
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 +
            t * (0.37409196 +
                t * (0.09678418 +
                    t * (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** Rounds half to even, as `torch.round` does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
