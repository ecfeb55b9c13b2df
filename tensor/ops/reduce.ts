/**
 * Reductions over all dims or given dims, with `keepdim`, each beside its
 * derivative rule. Reduced dims are permuted to the end so the kernel always
 * reduces a trailing block.
 *
 * @module
 */

import type { ReduceOp } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { fmtShape, normalizeDim, normalizeDims, numel } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { where } from "./binary.ts";
import { traced } from "../trace.ts";

/** Runs reduction kernel `op` over `dims` of `x`; the result has the kept dims (or keepdim shape). */
function rawReduce(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean, outDtype = x.dtype): Tensor {
  const keptDims = Array.from({ length: x.ndim }, (_, i) => i).filter((d) => !dims.includes(d));
  const perm = [...keptDims, ...dims];
  const view = {
    storage: x.storage,
    shape: perm.map((d) => x.shape[d]),
    strides: perm.map((d) => x.strides[d]),
    offset: x.offset,
  };
  const outShape = keepdim ? x.shape.map((s, i) => (dims.includes(i) ? 1 : s)) : keptDims.map((d) => x.shape[d]);
  const out = empty(outShape, outDtype, x.device, op);
  if (numel(outShape) === 0) return out;
  if (dims.some((d) => x.shape[d] === 0) && op !== "sum" && op !== "prod") {
    throw new RangeError(`${op}: cannot reduce over a dimension of size 0 (shape ${fmtShape(x.shape)})`);
  }
  backendOf(x, op).reduce(op, view, dims.length, out.storage);
  return out;
}

/** The gradient of a keepdim=false reduction reshaped so it broadcasts against the input. */
function keepdimShape(x: Tensor, dims: number[]): number[] {
  return x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** Sum over `dims` (all when undefined). Integer and bool inputs sum to int32. */
export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normalizeDims("sum", dim, x.ndim);
  const outDtype = isFloating(x.dtype) ? x.dtype : "int32";
  const src = x.dtype === "bool" ? x.to("int32") : x;
  const out = rawReduce("sum", src, dims, keepdim, outDtype);
  return traced(
    record(out, "SumBackward", [src], (g) => [g.reshape(keepdimShape(src, dims)).expand(src.shape)], []),
    "sum",
    [src],
    { dims, keepdim },
  );
}

/** Mean over `dims` (all when undefined); floating-point inputs only, as in PyTorch. */
export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  if (!isFloating(x.dtype)) {
    throw new TypeError(`mean: input dtype must be floating point, got ${x.dtype}; call .float() first`);
  }
  const dims = normalizeDims("mean", dim, x.ndim);
  const n = dims.reduce((p, d) => p * x.shape[d], 1);
  return traced(sum(x, dims, keepdim).div(n), "mean", [x], { dims, keepdim });
}

/** Product over one dim, or all elements. */
export function prod(x: Tensor, dim?: number, keepdim = false): Tensor {
  const dims = dim === undefined ? normalizeDims("prod", undefined, x.ndim) : [normalizeDim("prod", dim, x.ndim)];
  const outDtype = isFloating(x.dtype) ? x.dtype : "int32";
  const out = rawReduce("prod", x, dims, keepdim, outDtype);
  traced(out, "prod", [x], { dims, keepdim });
  return record(out, "ProdBackward", [x], (g) => {
    const ks = keepdimShape(x, dims);
    // ∂/∂x_i = Π_{j≠i} x_j: out/x_i where x_i ≠ 0; at a lone zero the product of the others; 0 with two zeros.
    const isZero = x.eq(0);
    const nonzero = where(isZero, 1, x);
    const prodNonzero = prod(nonzero, dim, true);
    const zeros = (dim === undefined ? isZero.sum() : isZero.sum(dims, { keepdim: true })).reshape(ks);
    const atZero = where(zeros.eq(1), prodNonzero.reshape(ks), 0);
    const grad = where(isZero, atZero.expand(x.shape), out.reshape(ks).div(nonzero));
    return [g.reshape(ks).mul(grad)];
  }, [x, out]);
}

/** Max (or min) values over `dims`; the gradient is shared evenly among tied maxima. */
function extreme(op: "max" | "min", x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const name = op === "max" ? "amax" : "amin";
  const dims = normalizeDims(name, dim, x.ndim);
  if (x.numel() === 0) throw new RangeError(`${name}: cannot reduce an empty tensor of shape ${fmtShape(x.shape)}`);
  const out = rawReduce(op, x, dims, keepdim);
  traced(out, name, [x], { dims, keepdim });
  return record(out, op === "max" ? "AmaxBackward" : "AminBackward", [x], (g) => {
    const ks = keepdimShape(x, dims);
    const mask = x.eq(out.reshape(ks)).to(g.dtype);
    const count = mask.sum(dims, { keepdim: true });
    return [g.reshape(ks).mul(mask).div(count)];
  }, [x, out]);
}

/** Maximum over `dims` (all when undefined). */
export const amax = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor =>
  extreme("max", x, dim, keepdim);
/** Minimum over `dims` (all when undefined). */
export const amin = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor =>
  extreme("min", x, dim, keepdim);

/** Index of the max/min (int32), of the flattened tensor or along `dim`. */
export function argReduce(op: "argmax" | "argmin", x: Tensor, dim?: number, keepdim = false): Tensor {
  if (x.numel() === 0) throw new RangeError(`${op}: cannot reduce an empty tensor of shape ${fmtShape(x.shape)}`);
  if (dim === undefined) {
    const flat = x.reshape([-1]);
    const r = rawReduce(op, flat, [0], false, "int32");
    return traced(keepdim ? r.reshape(x.shape.map(() => 1)) : r, op, [x], { dim: null, keepdim });
  }
  const d = normalizeDim(op, dim, x.ndim);
  return traced(rawReduce(op, x, [d], keepdim, "int32"), op, [x], { dim: d, keepdim });
}

/** `[values, indices]` of the max/min along `dim` (like `torch.max(x, dim)`); values carry the gradient. */
export function maxMin(op: "max" | "min", x: Tensor, dim: number, keepdim = false): [Tensor, Tensor] {
  const d = normalizeDim(op, dim, x.ndim);
  if (x.shape[d] === 0 || x.numel() === 0) {
    throw new RangeError(`${op}: cannot reduce an empty dimension (shape ${fmtShape(x.shape)})`);
  }
  const indices = rawReduce(op === "max" ? "argmax" : "argmin", x, [d], true, "int32");
  const values = rawReduce(op, x, [d], true);
  // The indices are handed to the caller, who may change them in place: saved, so that is caught.
  const recorded = record(values, op === "max" ? "MaxBackward" : "MinBackward", [x], (g) => [
    empty(x.shape, g.dtype, g.device).scatterAdd(d, indices, g),
  ], [indices]);
  const out: [Tensor, Tensor] = keepdim ? [recorded, indices] : [recorded.squeeze(d), indices.squeeze(d)];
  return traced(out, op, [x], { dim: d, keepdim });
}

/** Variance with Bessel's `correction`, composed of differentiable ops. */
export function variance(
  x: Tensor,
  dim: number | readonly number[] | undefined,
  correction: number,
  keepdim = false,
): Tensor {
  if (!isFloating(x.dtype)) throw new TypeError(`var: input dtype must be floating point, got ${x.dtype}`);
  const dims = normalizeDims("var", dim, x.ndim);
  const n = dims.reduce((p, d) => p * x.shape[d], 1);
  const centered = x.sub(x.mean(dims, { keepdim: true }));
  const y = centered.mul(centered).sum(dims, { keepdim }).div(Math.max(n - correction, 0));
  return traced(y, "var", [x], { dims, correction, keepdim });
}

/** `log(sum(exp(x)))` over `dims`, stable for large inputs. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  const dims = normalizeDims("logsumexp", dim, x.ndim);
  const src = isFloating(x.dtype) ? x : x.to("float32");
  const m = amax(src.detach(), dims, true);
  const safe = where(m.isfinite(), m, 0);
  const r = src.sub(safe).exp().sum(dims, { keepdim: true }).log().add(safe);
  return traced(keepdim ? r : r.squeeze(dims), "logsumexp", [src], { dims, keepdim });
}
