/**
 * Neural-network ops composed from differentiable tensor ops (so each
 * derivative is the composition's): dropout, embedding, leaky ReLU and the
 * losses, with PyTorch's exact formulas and reductions.
 *
 * @module
 */

import { type CrossEntropyArgs, getBackend, type View } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { fmtShape, shapesEqual } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import type { Generator } from "../random.ts";
import { maximum, where } from "./binary.ts";
import { arange, rand, zeros } from "./creation.ts";
import { assertValues, commonDevice, empty, record } from "./core.ts";
import { isGradEnabled, noGrad } from "@dendrite/autograd";
import { adopt } from "../sparse.ts";
import { logSoftmax, softmax } from "./softmax.ts";
import { isTracing, traced } from "../trace.ts";
import { applyUnary } from "./unary.ts";

/** How a loss reduces its per-element values: their mean, their sum, or none (the unreduced tensor). */
export type Reduction = "mean" | "sum" | "none";

/** Reduces per-element losses as `reduction` says (shared by every loss). */
export function reduce(op: string, loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === "mean") return loss.mean();
  if (reduction === "sum") return loss.sum();
  if (reduction === "none") return loss;
  throw new RangeError(`${op}: reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}`);
}

/** Throws naming `op` unless input and target have one shape. */
export function sameShape(op: string, input: Tensor, target: Tensor): void {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new RangeError(
      `${op}: expected target of the input's shape ${fmtShape(input.shape)}, got ${fmtShape(target.shape)}`,
    );
  }
}

/** `t` in the dtype of `like`. */
export function asFloat(t: Tensor, like: Tensor): Tensor {
  return t.dtype === like.dtype ? t : t.to(like.dtype);
}

/**
 * Zeroes each element with probability `p` and scales the rest by `1/(1-p)`
 * while training; the identity otherwise. Draws from `generator` (default: the
 * global seeded one).
 *
 * @example
 * ```ts
 * import { ones } from "../mod.ts";
 * import { dropout } from "./nn_ops.ts";
 * const y = dropout(ones([4, 4]), 0.5, true); // zeros and 2s
 * ```
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return traced(x.mul(0), "dropout", [x], { p, training });
  const keep = rand(x.shape, { device: x.device, generator }).ge(p);
  return traced(x.mul(keep.to(x.dtype)).mul(1 / (1 - p)), "dropout", [x], { p, training });
}

/**
 * Channel dropout (PyTorch's `F.dropout2d`): zeroes whole channels of
 * `[N, C, H, W]` (or unbatched `[C, H, W]`) inputs with probability `p` and
 * scales the kept ones by `1/(1-p)` while training; the identity otherwise.
 * Neighbouring pixels of a feature map are strongly correlated, so dropping
 * single pixels barely regularizes a convolutional network; dropping maps does.
 *
 * @example
 * ```ts
 * import { ones } from "../mod.ts";
 * import { dropout2d } from "./nn_ops.ts";
 * const y = dropout2d(ones([2, 8, 4, 4]), 0.5, true); // each 4×4 map all 0 or all 2
 * ```
 */
export function dropout2d(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  const op = "dropout2d";
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: probability must be in [0, 1], got ${p}`);
  if (x.ndim !== 4 && x.ndim !== 3) {
    throw new RangeError(`${op}: expected input [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
  }
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const maskShape = x.shape.map((s, i) => (i < x.ndim - 2 ? s : 1));
  const keep = rand(maskShape, { device: x.device, generator }).ge(p);
  return x.mul(keep.to(x.dtype).mul(1 / (1 - p)));
}

/**
 * Rows of `weight` `[numEmbeddings, dim]` picked by int32 `indices` (any
 * shape), giving `[...indices.shape, dim]`. Rows at `paddingIdx` get no gradient.
 *
 * With `sparse`, the weight's gradient is a sparse COO tensor whose entries
 * are the looked-up rows (`[1, n]` indices, `[n, dim]` values; repeated rows
 * stay separate entries until `coalesce`), so backward and an optimizer step
 * that accepts it (`SGD`, `SparseAdam`) cost O(n·dim), not O(numEmbeddings·dim).
 * The gradient is dense anyway where a sparse one could not flow: when
 * `weight` is not a leaf, or when backward records a graph (`createGraph`).
 *
 * @example
 * ```ts
 * import { randn, tensor } from "../mod.ts";
 * import { embedding } from "./nn_ops.ts";
 * const e = embedding(tensor([[0, 2]], { dtype: "int32" }), randn([3, 4])); // [1, 2, 4]
 * ```
 */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx?: number | null, sparse = false): Tensor {
  const op = "embedding";
  if (indices.dtype !== "int32") throw new TypeError(`${op}: indices must be int32, got ${indices.dtype}`);
  if (weight.ndim !== 2) {
    throw new RangeError(`${op}: expected weight [numEmbeddings, dim], got ${fmtShape(weight.shape)}`);
  }
  const num = weight.shape[0];
  checkRange(op, indices, num, null, "index", "embeddings");
  const flat = indices.reshape([-1]);
  const pad = paddingIdx === undefined || paddingIdx === null ? null : paddingIdx < 0 ? paddingIdx + num : paddingIdx;
  let rows: Tensor;
  if (sparse) {
    rows = noGrad(() => weight.indexSelect(0, flat));
    const wShape = weight.shape;
    const leaf = weight.isLeaf;
    rows = record(rows, "EmbeddingBackward", [weight], (g) => {
      const n = flat.shape[0], dim = wShape[1];
      const kept = pad === null ? g : where(flat.ne(pad).unsqueeze(1), g, 0);
      if (leaf && !isGradEnabled()) {
        // Values of their own (as the dense rule's scatter-add makes): the incoming gradient may also be another
        // leaf's, and clipping scales each gradient in place.
        return [adopt(flat.reshape([1, n]), kept === g ? g.clone() : kept.contiguous(), wShape, n <= 1)];
      }
      return [
        zeros(wShape, { dtype: g.dtype, device: g.device }).scatterAdd(0, flat.unsqueeze(1).expand([n, dim]), kept),
      ];
    }, [flat]); // the rule reads the indices only, as PyTorch's embedding_backward does
  } else {
    rows = weight.indexSelect(0, flat);
    if (pad !== null) {
      // Same values, but the padding rows are read through a detached view, so no gradient reaches them.
      rows = where(flat.ne(pad).unsqueeze(1), rows, rows.detach());
    }
  }
  return traced(rows.reshape([...indices.shape, weight.shape[1]]), op, [indices, weight], { paddingIdx });
}

/** Leaky ReLU: `x` where `x > 0`, `negativeSlope · x` elsewhere. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return traced(where(x.gt(0), x, x.mul(negativeSlope)), "leakyRelu", [x], { negativeSlope });
}

/** SiLU (swish): `x·σ(x)`, one elementwise kernel forward and one backward. */
export function silu(x: Tensor): Tensor {
  return applyUnary("silu", x);
}

/** Softplus `log(1 + eˣ)`, computed as `max(x, 0) + log1p(e^-|x|)` so it neither overflows nor loses small values. */
export function softplus(x: Tensor): Tensor {
  return x.relu().add(x.abs().neg().exp().log1p());
}

/** Mish: `x·tanh(softplus(x))`. */
export function mish(x: Tensor): Tensor {
  return x.mul(softplus(x).tanh());
}

/** ELU: `x` where `x > 0`, `alpha·(eˣ − 1)` elsewhere. */
export function elu(x: Tensor, alpha = 1): Tensor {
  // expm1 of min(x, 0): the branch not taken must stay finite, or its zero gradient times ∞ gives NaN.
  return traced(where(x.gt(0), x, x.clamp(null, 0).expm1().mul(alpha)), "elu", [x], { alpha });
}

/**
 * Throws naming the first value of int32 `t` outside `[0, n)` (other than `ignore`): at once where values can be
 * read synchronously, at the next read-back on a device with device-side assertions (WebGPU).
 */
function checkRange(op: string, t: Tensor, n: number, ignore: number | null, what: string, of: string): void {
  const tail = ignore === null ? "" : ` (and is not ignoreIndex ${ignore})`;
  assertValues(
    t,
    { min: 0, max: n - 1, except: ignore ?? undefined },
    `${op}:${what}:${n}:${ignore}`,
    (v) => new RangeError(`${op}: ${what} ${v} is out of bounds for ${n} ${of}${tail}`),
  );
}

/** Mean squared error `(input - target)²`, reduced. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  sameShape("mseLoss", input, target);
  return reduce("mseLoss", input.sub(asFloat(target, input)).square(), reduction);
}

/** Mean absolute error `|input - target|`, reduced. */
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  sameShape("l1Loss", input, target);
  return reduce("l1Loss", input.sub(asFloat(target, input)).abs(), reduction);
}

/** Options of {@link nllLoss} and {@link crossEntropy}. */
export interface NllOptions {
  /** A weight per class `[C]` (default: all 1). */
  weight?: Tensor | null;
  /** A target value that contributes nothing, not even to the mean's divisor (default -100). */
  ignoreIndex?: number;
  /** How to reduce (default "mean": the weighted mean over non-ignored targets). */
  reduction?: Reduction;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends NllOptions {
  /** Mixes the target with the uniform distribution: `(1-ε)·target + ε/C` (default 0). */
  labelSmoothing?: number;
}

/** `[M, C]` rows of an input `[N, C, d1, …]` (or `[C]`), and the target flattened to `[M]`. */
function toRows(op: string, input: Tensor, target: Tensor): { rows: Tensor; flat: Tensor; c: number } {
  if (input.ndim === 1) {
    if (target.ndim !== 0) {
      throw new RangeError(`${op}: an input [C] expects a 0-d target, got ${fmtShape(target.shape)}`);
    }
    return { rows: input.unsqueeze(0), flat: target.reshape([1]), c: input.shape[0] };
  }
  const c = input.shape[1];
  const expected = input.shape.filter((_, i) => i !== 1);
  if (!shapesEqual(expected, target.shape)) {
    throw new RangeError(
      `${op}: input ${fmtShape(input.shape)} expects a class-index target ${fmtShape(expected)}, got ${
        fmtShape(target.shape)
      }`,
    );
  }
  const rows = input.ndim === 2 ? input : classLast(input);
  return { rows, flat: target.reshape([-1]), c };
}

/** `[N, C, d…] → [N·d…, C]`: moves the class dim to the end and flattens the rest. */
function classLast(t: Tensor): Tensor {
  const perm = [0, ...t.shape.map((_, i) => i).slice(2), 1];
  return t.permute(perm).reshape([-1, t.shape[1]]);
}

/**
 * Negative log-likelihood of int32 class indices under log-probabilities
 * `input` `[N, C]` or `[N, C, d1, …]` (or `[C]` with a 0-d target):
 * `-weight[t]·input[t]`, with PyTorch's "mean" = sum over non-ignored targets
 * divided by the sum of their weights.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NllOptions = {}): Tensor {
  return nllCore("nllLoss", input, target, options);
}

function nllCore(op: string, input: Tensor, target: Tensor, options: NllOptions): Tensor {
  const reduction = options.reduction ?? "mean", ignoreIndex = options.ignoreIndex ?? -100;
  if (target.dtype !== "int32") {
    throw new TypeError(`${op}: expected int32 class indices as target, got dtype ${target.dtype}`);
  }
  const { rows, flat, c } = toRows(op, input, target);
  const weight = options.weight ?? null;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new RangeError(`${op}: expected weight [${c}] (one per class), got ${fmtShape(weight.shape)}`);
  }
  checkRange(op, flat, c, ignoreIndex, "target", "classes");
  const keep = flat.ne(ignoreIndex);
  const safe = where(keep, flat, 0);
  const picked = rows.gather(1, safe.unsqueeze(1)).reshape([-1]);
  const keepF = keep.to(rows.dtype);
  const w = weight ? asFloat(weight, rows).indexSelect(0, safe).mul(keepF) : keepF;
  const loss = picked.mul(w).neg();
  if (reduction === "none") return input.ndim === 1 ? loss.reshape([]) : loss.reshape(target.shape);
  if (reduction === "sum") return loss.sum();
  if (reduction === "mean") return loss.sum().div(w.sum());
  return reduce(op, loss, reduction);
}

/**
 * Cross-entropy of logits `input` `[N, C]` or `[N, C, d1, …]` (or `[C]`)
 * against int32 class indices (`[N, d1, …]`) or class probabilities (the
 * input's shape), with class `weight`, `ignoreIndex` and `labelSmoothing` —
 * PyTorch's `F.cross_entropy` formulas exactly.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "../mod.ts";
 * import { crossEntropy } from "./nn_ops.ts";
 * const loss = crossEntropy(randn([2, 3]), tensor([0, 2], { dtype: "int32" }), { labelSmoothing: 0.1 });
 * ```
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  // While a trace runs, the composed ops run and report themselves (an exporter maps each; the fused kernel's loss
  // would come from no op it knows), and no composite is reported over them.
  if (isTracing()) return crossEntropyOf(input, target, options, false);
  return crossEntropyOf(input, target, options, true);
}

function crossEntropyOf(input: Tensor, target: Tensor, options: CrossEntropyOptions, fuse: boolean): Tensor {
  const op = "crossEntropy";
  const eps = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? "mean";
  if (!(eps >= 0 && eps <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1], got ${eps}`);
  if (input.ndim < 1) throw new RangeError(`${op}: expected input [N, C, ...] or [C], got ${fmtShape(input.shape)}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const c = input.shape[classDim];
  const weight = options.weight ?? null;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new RangeError(`${op}: expected weight [${c}] (one per class), got ${fmtShape(weight.shape)}`);
  }
  const fusedLoss = fuse ? fusedCrossEntropy(input, target, weight, options.ignoreIndex ?? -100, eps, reduction) : null;
  if (fusedLoss) return fusedLoss;
  const logp = logSoftmax(input, classDim);
  const wShape = input.shape.map((s, i) => (i === classDim ? s : 1));
  const wB = weight ? asFloat(weight, input).reshape(wShape) : null;

  if (target.dtype !== "int32") {
    // Class probabilities: -Σ_c w_c·t̃_c·log p_c with t̃ = (1-ε)t + ε/C; "mean" divides by the batch size.
    sameShape(op, input, target);
    let t = asFloat(target, input);
    if (eps > 0) t = t.mul(1 - eps).add(eps / c);
    let prod = logp.mul(t);
    if (wB) prod = prod.mul(wB);
    const loss = prod.sum(classDim).neg();
    if (reduction === "mean") return loss.sum().div(input.numel() / c);
    return reduce(op, loss, reduction);
  }
  const nll = nllCore(op, logp, target, { weight, ignoreIndex: options.ignoreIndex, reduction });
  if (eps === 0) return nll;
  // PyTorch: (1-ε)·nll + ε/C · smooth, smooth = -Σ_c w_c·log p_c per element, 0 where ignored,
  // and for "mean" divided by the same divisor as nll's (Σ of the targets' weights).
  const ignoreIndex = options.ignoreIndex ?? -100;
  const keep = target.ne(ignoreIndex);
  let smooth = (wB ? logp.mul(wB) : logp).sum(classDim).neg();
  smooth = where(keep, smooth, 0);
  let smoothRed: Tensor;
  if (reduction === "mean") {
    const safe = where(keep, target, 0);
    const denom = weight
      ? asFloat(weight, input).indexSelect(0, safe.reshape([-1])).mul(keep.reshape([-1]).to(input.dtype)).sum()
      : keep.to(input.dtype).sum();
    smoothRed = smooth.sum().div(denom);
  } else smoothRed = reduce(op, smooth, reduction);
  return nll.mul(1 - eps).add(smoothRed.mul(eps / c));
}

/**
 * The class-index cross-entropy of `[N, C]` logits through the backend's fused
 * kernels (one pass per row forward and backward, no `[N, C]` log-probabilities
 * kept), or null when they do not apply: no kernels, other shapes or dtypes, or
 * a weight that requires grad. Same formulas as the composed path below.
 */
function fusedCrossEntropy(
  input: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
  eps: number,
  reduction: Reduction,
): Tensor | null {
  const op = "crossEntropy";
  const backend = getBackend(input.device);
  if (
    !backend.crossEntropyForward || !backend.crossEntropyBackward || input.ndim !== 2 || target.dtype !== "int32" ||
    !isFloating(input.dtype) || (weight !== null && weight.requiresGrad) ||
    (reduction !== "mean" && reduction !== "sum" && reduction !== "none")
  ) return null;
  const [n, c] = input.shape;
  if (target.ndim !== 1 || target.shape[0] !== n) {
    throw new RangeError(
      `${op}: input ${fmtShape(input.shape)} expects a class-index target [${n}], got ${fmtShape(target.shape)}`,
    );
  }
  commonDevice(op, input, target, weight);
  checkRange(op, target, c, ignoreIndex, "target", "classes");
  const x = input.contiguous();
  const w = weight ? asFloat(weight, input) : null;
  const view = (t: Tensor): View => ({ storage: t.storage, shape: t.shape, strides: t.strides, offset: t.offset });
  const args: CrossEntropyArgs = {
    logits: view(x),
    target: view(target),
    weight: w ? view(w) : null,
    ignoreIndex,
    labelSmoothing: eps,
  };
  const rows = empty([n], input.dtype, input.device);
  const rowWeight = empty([n], input.dtype, input.device);
  const saved = empty([n, 2], input.dtype, input.device);
  backend.crossEntropyForward(args, rows.storage, rowWeight.storage, saved.storage);
  // PyTorch's "mean" divides by the summed weights of the non-ignored targets (their count without weights).
  let denom: Tensor | null = null;
  let out = rows;
  if (reduction === "sum") out = rows.sum();
  else if (reduction === "mean") {
    denom = rowWeight.sum();
    const total = rows.sum();
    out = total.div(denom);
    total.dispose();
  }
  // Free the temporaries now (device memory would otherwise wait for the garbage collector).
  if (out !== rows) rows.dispose();
  rowWeight.dispose();
  record(out, "CrossEntropyBackward", [input], (g) => {
    const gRows = reduction === "none" ? g : (denom ? g.div(denom) : g).reshape([1]).expand([n]);
    // With createGraph the gradient must carry a graph: the kernel's formula in differentiable ops.
    if (isGradEnabled()) return [crossEntropyGradComposed(input, target, w, ignoreIndex, eps, gRows)];
    const gx = empty([n, c], input.dtype, input.device);
    getBackend(input.device).crossEntropyBackward!(args, view(saved), view(gRows), gx.storage);
    return [gx];
  }, [x, input, target, w]);
  if (!out.gradFn) {
    saved.dispose();
    denom?.dispose();
  }
  return out;
}

/**
 * What the fused cross-entropy backward kernel computes, in differentiable ops (for `createGraph`). Row r with
 * target t, kept (k = 1) unless ignored, has loss `k·((1−ε)·w_t·(−log p_t) + ε/C·Σ_c w_c·(−log p_c))`, whose
 * derivative in logit j is `k·(p_j·((1−ε)·w_t + ε/C·Σ_c w_c) − (1−ε)·w_t·[j = t] − ε/C·w_j)`, times the row's `gRows`.
 */
function crossEntropyGradComposed(
  input: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
  eps: number,
  gRows: Tensor,
): Tensor {
  const [n, c] = input.shape;
  const keep = target.ne(ignoreIndex);
  const safe = where(keep, target, 0);
  const isTarget = arange(0, c, 1, { dtype: "int32", device: input.device }).reshape([1, c])
    .eq(safe.reshape([n, 1])).to(input.dtype);
  const p = softmax(input, 1);
  let d: Tensor;
  if (weight) {
    const wt = weight.indexSelect(0, safe).reshape([n, 1]);
    const scale = wt.mul(1 - eps).add(weight.sum().mul(eps / c));
    d = p.mul(scale).sub(isTarget.mul(wt.mul(1 - eps))).sub(weight.reshape([1, c]).mul(eps / c));
  } else {
    // Unweighted, (1−ε)·w_t + ε/C·Σ_c w_c is 1.
    d = p.sub(isTarget.mul(1 - eps)).sub(eps / c);
  }
  return d.mul(keep.to(input.dtype).reshape([n, 1])).mul(gRows.reshape([n, 1]));
}

/** Options of {@link binaryCrossEntropy} and {@link binaryCrossEntropyWithLogits}. */
export interface BceOptions {
  /** A rescaling weight broadcast against the loss. */
  weight?: Tensor | null;
  /** How to reduce (default "mean"). */
  reduction?: Reduction;
}

/**
 * Binary cross-entropy of probabilities: `-w·(t·log x + (1-t)·log(1-x))`,
 * with each log clamped at -100 like PyTorch. Inputs outside [0, 1] (or NaN)
 * are refused, as PyTorch does: at once on the CPU, at the next read-back on
 * WebGPU.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  const op = "binaryCrossEntropy";
  sameShape(op, input, target);
  commonDevice(op, input, target, options.weight);
  // PyTorch refuses probabilities outside [0, 1] (and NaN) rather than return NaN; on WebGPU at the next read-back.
  assertValues(
    input,
    { min: 0, max: 1 },
    `${op}:input`,
    (v, i) =>
      new RangeError(`${op}: all elements of input should be between 0 and 1, got ${v} (element ${i} of the input)`),
  );
  const t = asFloat(target, input);
  const logX = input.log().clamp(-100);
  const log1mX = input.neg().add(1).log().clamp(-100);
  let loss = t.mul(logX).add(t.neg().add(1).mul(log1mX)).neg();
  if (options.weight) loss = loss.mul(asFloat(options.weight, input));
  return reduce(op, loss, options.reduction ?? "mean");
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of positive examples, broadcast along the last (class) dim. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy of logits, computed stably for any magnitude:
 * `(1-t)·x + (1 + (pw-1)·t)·(log(1 + e^{-|x|}) + max(-x, 0))` (PyTorch's formula).
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: BceWithLogitsOptions = {},
): Tensor {
  const op = "binaryCrossEntropyWithLogits";
  sameShape(op, input, target);
  const t = asFloat(target, input);
  // softplus(-x) = log(1 + e^{-|x|}) + max(-x, 0): never overflows.
  const softplusNeg = input.abs().neg().exp().log1p().add(maximum(input.neg(), 0));
  let loss: Tensor;
  if (options.posWeight) {
    const coef = asFloat(options.posWeight, input).sub(1).mul(t).add(1);
    loss = t.neg().add(1).mul(input).add(coef.mul(softplusNeg));
  } else loss = t.neg().add(1).mul(input).add(softplusNeg);
  if (options.weight) loss = loss.mul(asFloat(options.weight, input));
  return reduce(op, loss, options.reduction ?? "mean");
}
