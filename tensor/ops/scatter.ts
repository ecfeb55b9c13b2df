/**
 * Scattering by an index tensor, PyTorch's family: `scatter` (a source tensor or a value, with the legacy
 * `reduce: "add" | "multiply"`), `scatterAdd`, `scatterReduce` (sum, prod, mean, amax, amin, with `includeSelf`)
 * and `indexAdd`, each beside its derivative rule (PyTorch's, see the rules below). They all run on one kernel,
 * `Backend.scatterReduce`; a sparse tensor or a graph layer's aggregation can sit on these ops unchanged.
 *
 * Shapes follow `torch.scatter`: index, src and input have the same rank, the index is no larger than src in any
 * dim and no larger than the input outside `dim`; only the index's leading block of src is read.
 *
 * @module
 */

import { noGrad } from "@dendrite/autograd";
import type { ScatterReduceOp } from "../backend.ts";
import type { DType } from "../dtype.ts";
import { fmtShape, normalizeDim, shapesEqual } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { where } from "./binary.ts";
import { traced } from "../trace.ts";

/** The reductions of {@link scatterReduce}, PyTorch's names. */
export type ScatterReduction = "sum" | "prod" | "mean" | "amax" | "amin";

/** Options of {@link scatterReduce}. */
export interface ScatterReduceOptions {
  /** Whether the input's own value at a destination takes part in the reduction (default true, PyTorch's). */
  includeSelf?: boolean;
}

/** Options of {@link scatter}. */
export interface ScatterOptions {
  /** PyTorch's legacy accumulating form: `"add"` adds the source, `"multiply"` multiplies by it. */
  reduce?: "add" | "multiply";
}

/** Options of {@link indexAdd}. */
export interface IndexAddOptions {
  /** The factor the source is multiplied by (default 1). */
  alpha?: number;
}

const REDUCTIONS: readonly string[] = ["sum", "prod", "mean", "amax", "amin"];

/** Throws unless `index` is an int32 tensor. */
export function checkIndexDType(op: string, index: Tensor): void {
  if (!(index instanceof Tensor)) throw new TypeError(`${op}: index must be a Tensor`);
  if (index.dtype !== "int32") {
    throw new TypeError(`${op}: index must be an int32 tensor, got dtype ${index.dtype} (convert with .int())`);
  }
}

/**
 * Runs a kernel call, renaming the kernel in a bad-index RangeError to the op the user called
 * (`indexAdd: index 7 is out of range …` rather than `scatterReduce: …`).
 */
export function asOp<T>(op: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof RangeError && /^(gather|scatterAdd|scatterReduce): index /.test(e.message)) {
      throw new RangeError(e.message.replace(/^\w+:/, `${op}:`));
    }
    throw e;
  }
}

/** `v` as the dtype stores it (what a scatter of a plain number writes). */
function castScalar(dtype: DType, v: number): number {
  if (dtype === "bool") return v ? 1 : 0;
  if (dtype === "int32") return Math.trunc(v) | 0;
  if (dtype === "float32") return Math.fround(v);
  return v;
}

/** Checks devices, the index dtype, ranks and sizes (torch.scatter's rule); returns the normalized dim. */
function checkScatter(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor | number): number {
  commonDevice(op, x, index, src);
  checkIndexDType(op, index);
  const d = normalizeDim(op, dim, Math.max(x.ndim, 1));
  const srcShape = src instanceof Tensor ? src.shape : null;
  if (index.ndim !== x.ndim || (srcShape && srcShape.length !== x.ndim)) {
    throw new RangeError(
      `${op}: index ${fmtShape(index.shape)}${srcShape ? `, src ${fmtShape(srcShape)}` : ""} and input ${
        fmtShape(x.shape)
      } must have the same number of dimensions`,
    );
  }
  const tooBig = index.shape.some((s, i) => (srcShape && s > srcShape[i]) || (i !== d && s > x.shape[i]));
  if (tooBig) {
    throw new RangeError(
      `${op}: index ${fmtShape(index.shape)} must be no larger than ${
        srcShape ? `src ${fmtShape(srcShape)}, nor than ` : ""
      }input ${fmtShape(x.shape)} outside dimension ${d}`,
    );
  }
  if (src instanceof Tensor && src.dtype !== x.dtype) {
    throw new TypeError(`${op}: src has dtype ${src.dtype} but the input has dtype ${x.dtype}; they must be equal`);
  }
  return d;
}

/** The leading block of `src` the index reads (a view, so gradients reach the whole `src` with zeros elsewhere). */
function cutTo(src: Tensor, shape: readonly number[]): Tensor {
  let s = src;
  shape.forEach((n, d) => {
    if (s.shape[d] !== n) s = s.narrow(d, 0, n);
  });
  return s;
}

/** A copy of `x` with `op` applied at the scattered positions (no autograd). */
function scatterCopy(
  op: string,
  kernelOp: ScatterReduceOp,
  x: Tensor,
  d: number,
  index: Tensor,
  src: Tensor | number,
): Tensor {
  const out = empty(x.shape, x.dtype, x.device);
  const backend = backendOf(x, op);
  backend.copy(x, out);
  try {
    asOp(
      op,
      () => backend.scatterReduce(kernelOp, out.storage, out.shape, d, index, src instanceof Tensor ? src : src),
    );
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * `torch.scatter`: a copy of `x` with `src[i][j]` (or the number `src`) written at `index[i][j]` along `dim`; with
 * `reduce` the source is added or multiplied in instead. Where an index repeats, which source element is written
 * is unspecified (as in PyTorch). Gradient: the input's, zero at the written positions; src's, the output's gradient
 * gathered back (every duplicate gets it, as in PyTorch).
 */
export function scatter(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
  options: ScatterOptions = {},
): Tensor {
  if (options.reduce !== undefined) {
    if (options.reduce === "add") {
      return typeof src === "number" ? addValue(x, dim, index, src) : scatterAdd(x, dim, index, src);
    }
    if (options.reduce === "multiply") {
      if (typeof src === "number") return scatterReduce(x, dim, index, fullOf(index, x.dtype, src), "prod");
      return scatterReduce(x, dim, index, src, "prod");
    }
    throw new RangeError(`scatter: reduce must be "add" or "multiply", got ${JSON.stringify(options.reduce)}`);
  }
  if (typeof src !== "number" && !(src instanceof Tensor)) {
    throw new TypeError("scatter: src must be a Tensor or a number");
  }
  const d = checkScatter("scatter", x, dim, index, src);
  const s = src instanceof Tensor ? cutTo(src, index.shape) : castScalar(x.dtype, src);
  const out = scatterCopy("scatter", "assign", x, d, index, s);
  const srcT = s instanceof Tensor ? s : null;
  return traced(
    record(out, "ScatterBackward", [x, srcT], (g) => [
      x.requiresGrad ? scatter(g, d, index, 0) : null,
      srcT?.requiresGrad ? g.gather(d, index) : null,
    ], [index]),
    "scatter",
    [x, index, s],
    { dim: d },
  );
}

/** A constant `value` of the index's shape, as a stride-0 view (no memory per element). */
function fullOf(index: Tensor, dtype: DType, value: number): Tensor {
  const one = empty([], dtype, index.device);
  backendOf(index, "scatter").fill(one.storage, castScalar(dtype, value));
  return one.expand(index.shape);
}

function addValue(x: Tensor, dim: number, index: Tensor, value: number): Tensor {
  const d = checkScatter("scatter", x, dim, index, value);
  const out = scatterCopy("scatter", "sum", x, d, index, castScalar(x.dtype, value));
  return traced(record(out, "ScatterAddBackward", [x], (g) => [g], []), "scatterAdd", [x, index, value], { dim: d });
}

/** `torch.scatter_add`: a copy of `x` with `src[i][j]` added at `index[i][j]` along `dim` (duplicates accumulate). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  if (!(src instanceof Tensor)) throw new TypeError("scatterAdd: src must be a Tensor");
  const d = checkScatter("scatterAdd", x, dim, index, src);
  const s = cutTo(src, index.shape);
  const out = scatterCopy("scatterAdd", "sum", x, d, index, s);
  return traced(
    record(out, "ScatterAddBackward", [x, s], (g) => [g, s.requiresGrad ? g.gather(d, index) : null], [index]),
    "scatterAdd",
    [x, index, s],
    { dim: d },
  );
}

/** The value a destination starts from when the input does not take part (`includeSelf: false`). */
function identity(reduce: ScatterReduction, dtype: DType): number {
  const int = dtype === "int32";
  switch (reduce) {
    case "prod":
      return 1;
    case "amax":
      return int ? -2147483648 : -Infinity;
    case "amin":
      return int ? 2147483647 : Infinity;
    default:
      return 0;
  }
}

/**
 * `torch.scatter_reduce`: a copy of `x` where each position that `index` points at along `dim` becomes the
 * `reduce` ("sum", "prod", "mean", "amax", "amin") of the `src` elements sent there, together with the input's own
 * value unless `includeSelf` is false; other positions keep the input's value. An integer mean rounds down.
 *
 * Gradients are PyTorch's: sum passes the gradient through (gathered for src); mean divides it by each position's
 * count; prod divides the result by the factor, computing the product of the others where the factor is 0 (a
 * position with several zero factors gives each of them 0); amax/amin split it evenly among the elements equal to
 * the result. With `includeSelf: false` the input's values at the reduced positions get 0 and — unlike PyTorch, whose
 * tie count still includes them there — do not share in an amax/amin tie.
 *
 * @example
 * ```ts
 * import { scatterReduce, tensor } from "../../mod.ts";
 * const index = tensor([0, 1, 0, 1, 2], { dtype: "int32" });
 * const src = tensor([5, 1, 7, 2, 3]);
 * scatterReduce(tensor([0, 0, 9, 4]), 0, index, src, "amax", { includeSelf: false }); // [7, 2, 3, 4]
 * scatterReduce(tensor([1, 1, 1, 1]), 0, index, src, "mean"); // [13/3, 4/3, 2, 1]
 * ```
 */
export function scatterReduce(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  options: ScatterReduceOptions = {},
): Tensor {
  if (!REDUCTIONS.includes(reduce)) {
    throw new RangeError(
      `scatterReduce: reduce must be one of "sum", "prod", "mean", "amax", "amin", got ${JSON.stringify(reduce)}`,
    );
  }
  if (!(src instanceof Tensor)) throw new TypeError("scatterReduce: src must be a Tensor");
  const includeSelf = options.includeSelf ?? true;
  const d = checkScatter("scatterReduce", x, dim, index, src);
  if (x.dtype === "bool") throw new TypeError(`scatterReduce: ${reduce} of bool tensors is not supported`);
  const s = cutTo(src, index.shape);
  const op = "scatterReduce";
  const { out, count } = noGrad(() => {
    const start = includeSelf ? x : scatterCopy(op, "assign", x, d, index, identity(reduce, x.dtype));
    const kernelOp: ScatterReduceOp = reduce === "mean" ? "sum" : reduce;
    const reduced = scatterCopy(op, kernelOp, start, d, index, s);
    if (start !== x) start.dispose();
    if (reduce !== "mean") return { out: reduced, count: null };
    // Each position's count (1 for the input's own value when it takes part), at least 1 so that untouched ones stay.
    const zeros = empty(x.shape, x.dtype, x.device);
    const counts = scatterCopy(op, "sum", zeros, d, index, 1);
    zeros.dispose();
    const n = (includeSelf ? counts.add(1) : counts.clamp(1)) as Tensor;
    const mean = x.dtype === "int32" ? reduced.div(n).floor().int() : reduced.div(n);
    reduced.dispose();
    return { out: mean, count: n };
  });
  const rule = (g: Tensor): [Tensor | null, Tensor | null] => {
    const [gs, gSrc] = reduceGrads(reduce, g, x, d, index, s, out, count, includeSelf);
    return [x.requiresGrad ? (includeSelf ? gs : scatter(gs, d, index, 0)) : null, s.requiresGrad ? gSrc : null];
  };
  // What reduceGrads reads: the index always; sum and mean nothing else of the operands; prod, amax and amin the
  // input, src and result.
  const saved = reduce === "sum" || reduce === "mean" ? [index, count] : [index, x, s, out];
  return traced(record(out, `ScatterReduceBackward`, [x, s], rule, saved), op, [x, index, s], {
    dim: d,
    reduce,
    includeSelf,
  });
}

/** The gradients of {@link scatterReduce} for the input (before zeroing excluded positions) and for src. */
function reduceGrads(
  reduce: ScatterReduction,
  g: Tensor,
  x: Tensor,
  d: number,
  index: Tensor,
  src: Tensor,
  result: Tensor,
  count: Tensor | null,
  includeSelf: boolean,
): [Tensor, Tensor] {
  switch (reduce) {
    case "sum":
      return [g, g.gather(d, index)];
    case "mean":
      return [g.div(count!), g.gather(d, index).div(count!.gather(d, index))];
    case "prod": {
      // The input's gradient is the product of the others: the result over x, or, where x is 0, the reduction
      // recomputed with x replaced by 1.
      const xZero = x.eq(0);
      const maskedX = where(xZero, 1, x);
      const gSelf = g.mul(scatterReduce(maskedX, d, index, src, "prod", { includeSelf })).div(maskedX);
      // A src factor that is the only 0 of its position gets the product of the others (recomputed with it set
      // to 1); a factor that is one of several zeros gets 0, which result/src already gives since result is 0.
      const srcZero = src.eq(0);
      const zerosThere = empty(x.shape, x.dtype, x.device).scatterAdd(d, index, srcZero.to(x.dtype)).gather(d, index);
      const singleZero = srcZero.logicalAnd(zerosThere.eq(1));
      const maskedSrcResult = scatterReduce(x, d, index, where(singleZero, 1, src), "prod", { includeSelf });
      const gSrc = where(
        singleZero,
        g.mul(maskedSrcResult).gather(d, index),
        g.mul(result).gather(d, index).div(where(srcZero, 1, src)),
      );
      return [gSelf, gSrc];
    }
    default: {
      // amax/amin: the gradient is shared evenly among every element equal to the result.
      const value = result.gather(d, index);
      let selfIs = x.eq(result).to(g.dtype);
      if (!includeSelf) selfIs = scatter(selfIs, d, index, 0);
      const srcIs = src.eq(value).to(g.dtype);
      const share = g.div(selfIs.scatterAdd(d, index, srcIs));
      return [selfIs.mul(share), srcIs.mul(share.gather(d, index))];
    }
  }
}

/**
 * `torch.index_add`: a copy of `x` with `alpha·source` added along `dim` at the positions a 1-D int32 `index` names
 * (`out[..., index[i], ...] += alpha·source[..., i, ...]`; repeated indices accumulate). The source has the input's
 * shape except along `dim`, where it has one slice per index. Gradient: the input's passes through; the source's is
 * the output's gradient at `index`, times alpha.
 *
 * @example
 * ```ts
 * import { indexAdd, tensor, zeros } from "../../mod.ts";
 * // Each edge's message added to its target node: a graph layer's sum aggregation.
 * const target = tensor([2, 0, 2], { dtype: "int32" });
 * const messages = tensor([[1, 1], [2, 2], [3, 3]]);
 * indexAdd(zeros([3, 2]), 0, target, messages); // [[2, 2], [0, 0], [4, 4]]
 * ```
 */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, options: IndexAddOptions = {}): Tensor {
  const op = "indexAdd";
  commonDevice(op, x, index, source);
  checkIndexDType(op, index);
  if (index.ndim > 1) throw new RangeError(`${op}: index must be 1-D (a vector), got shape ${fmtShape(index.shape)}`);
  const d = normalizeDim(op, dim, Math.max(x.ndim, 1));
  const src = source.ndim === 0 && x.ndim <= 1 ? source.reshape([1]) : source;
  const base = x.ndim === 0 ? x.reshape([1]) : x;
  const n = index.numel();
  const expected = base.shape.map((s, i) => (i === d ? n : s));
  if (!shapesEqual(src.shape, expected)) {
    throw new RangeError(
      `${op}: source ${fmtShape(source.shape)} must have the input's shape ${
        fmtShape(x.shape)
      } except in dimension ${d}, where it needs one slice per index (${n}): expected ${fmtShape(expected)}`,
    );
  }
  if (source.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: source has dtype ${source.dtype} but the input has dtype ${x.dtype}; they must be equal`,
    );
  }
  // The index read along dim and broadcast (stride 0) over every other dim: a scatterAdd whose gradient for the
  // source is exactly the index-select of the output's gradient.
  const along = base.shape.map((_, i) => (i === d ? n : 1));
  const wide = index.reshape(along).expand(expected);
  const alpha = options.alpha ?? 1;
  const scaled = alpha === 1 ? src : src.mul(alpha);
  const out = asOp(op, () => scatterAdd(base, d, wide, scaled));
  return traced(x.ndim === 0 ? out.reshape([]) : out, op, [x, index, source], { dim: d, alpha });
}
