/**
 * Normalization. Batch norm runs on three Backend kernels (statistics,
 * normalize-scale-shift, and the backward pass) and records one autograd node
 * (whose gradients are composed ops when they must be differentiable again);
 * group norm runs on the same kernels (a group is a batch-norm channel of a
 * reshaped view); layer norm is composed from differentiable tensor ops (so its derivative is
 * the composition's, and works to any order). Running statistics are updated
 * in place outside the graph.
 *
 * @module
 */

import { isGradEnabled, noGrad } from "@dendrite/autograd";
import { isFloating } from "../dtype.ts";
import { fmtShape, numel } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { traced } from "../trace.ts";

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Scale per channel `[C]` (γ), or none. */
  weight?: Tensor | null;
  /** Shift per channel `[C]` (β), or none. */
  bias?: Tensor | null;
  /** Use batch statistics (and update the running ones) instead of the running ones (default false). */
  training?: boolean;
  /**
   * Weight of the new batch in the running-average update (default 0.1); a
   * one-element tensor works too (a cumulative average's `1/n`, kept on the device).
   */
  momentum?: number | Tensor;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalization over every dim but the channel dim 1, exactly like
 * PyTorch's `F.batch_norm`: in training, normalizes with the batch mean and
 * biased variance and (when given) updates `runningMean`/`runningVar` in place
 * with `momentum`, using the unbiased variance for `runningVar`; otherwise
 * normalizes with the running statistics.
 *
 * Runs on the backend's `batchNormStats`, `batchNormForward` and
 * `batchNormBackward` kernels and records a single `BatchNormBackward` node
 * for the input, weight and bias, whose gradients come from the backward
 * kernel — or, under `createGraph`, from the same formulas written in
 * differentiable ops, so second-order gradients flow through batch norm.
 * Gradients do not flow into `runningMean`/`runningVar`.
 *
 * @example
 * ```ts
 * import { randn, zeros, ones } from "../mod.ts";
 * import { batchNorm } from "./norm.ts";
 * const rm = zeros([3]), rv = ones([3]);
 * const y = batchNorm(randn([4, 3, 5, 5]), rm, rv, { training: true });
 * ```
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const op = "batchNorm";
  const training = options.training ?? false, momentum = options.momentum ?? 0.1, eps = options.eps ?? 1e-5;
  const weight = options.weight ?? null, bias = options.bias ?? null;
  commonDevice(op, x, weight, bias, runningMean, runningVar);
  if (x.ndim < 2) throw new RangeError(`${op}: expected input [N, C, ...], got ${fmtShape(x.shape)}`);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating input, got ${x.dtype}`);
  const c = x.shape[1];
  for (
    const [name, t] of [["weight", weight], ["bias", bias], ["runningMean", runningMean], [
      "runningVar",
      runningVar,
    ]] as const
  ) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new RangeError(`${op}: expected ${name} [${c}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t && t.dtype !== x.dtype) {
      throw new TypeError(`${op}: expected ${name} of the input's dtype ${x.dtype}, got ${t.dtype}`);
    }
  }
  const n = x.shape[0], count = numel(x.shape) / Math.max(c, 1), s = count / Math.max(n, 1);
  const backend = backendOf(x, op);
  // The kernels see x as [N, C, S]; a reshape copies only when x's strides cannot express that view.
  const x3 = x.detach().reshape([n, c, s]);
  let mean: Tensor, invStd: Tensor;
  if (training) {
    if (count <= 1) {
      throw new RangeError(
        `${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`,
      );
    }
    mean = empty([c], x.dtype, x.device);
    invStd = empty([c], x.dtype, x.device);
    const variance = runningVar ? empty([c], x.dtype, x.device) : null;
    backend.batchNormStats(x3, eps, mean.storage, invStd.storage, variance?.storage ?? null);
    noGrad(() => {
      // running = (1 - momentum)·running + momentum·batch
      const update = (running: Tensor, batch: Tensor) => {
        if (typeof momentum === "number") running.mul_(1 - momentum).add_(batch, momentum);
        else running.mul_(momentum.neg().add(1)).add_(batch.mul(momentum));
      };
      if (runningMean) update(runningMean, mean.to(runningMean.dtype));
      if (runningVar && variance) update(runningVar, variance.mul(count / (count - 1)).to(runningVar.dtype));
    });
  } else {
    if (!runningMean || !runningVar) {
      throw new Error(`${op}: running statistics are required when not training`);
    }
    [mean, invStd] = noGrad(() => [runningMean.to(x.dtype), runningVar.to(x.dtype).add(eps).rsqrt()]);
  }
  const y = empty(x.shape, x.dtype, x.device, op);
  backend.batchNormForward(x3, mean, invStd, weight, bias, y.storage);
  traced(y, "batchNorm", [x, runningMean, runningVar, weight, bias], { training, eps });
  return record(y, "BatchNormBackward", [x, weight, bias], (gy) => {
    // With createGraph the gradients must carry a graph: the same formulas in differentiable ops.
    if (isGradEnabled()) return batchNormGradsComposed(gy, x, weight, bias, training ? null : { mean, invStd }, eps);
    const gx = x.requiresGrad ? empty(x.shape, gy.dtype, gy.device) : null;
    const gw = weight?.requiresGrad ? empty([c], gy.dtype, gy.device) : null;
    const gb = bias?.requiresGrad ? empty([c], gy.dtype, gy.device) : null;
    backendOf(gy, op).batchNormBackward(gy.detach().reshape([n, c, s]), x3, mean, invStd, weight, training, {
      input: gx?.storage ?? null,
      weight: gw?.storage ?? null,
      bias: gb?.storage ?? null,
    });
    return [gx, gw, gb];
  }, [x3, mean, invStd, weight]);
}

/**
 * Batch norm's gradients in differentiable ops (what the backward kernel computes), for `createGraph`: with
 * `x̂ = (x − μ)·σ⁻¹` and `ĝ = gy·γ`, training gives `gx = σ⁻¹·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` with μ and σ⁻¹ recomputed
 * from x so their dependence on x is differentiated too; evaluation (`stats` given) gives `gx = ĝ·σ⁻¹` with the
 * running statistics as constants. `gγ = Σ gy·x̂`, `gβ = Σ gy`, summed over every dim but the channels.
 */
function batchNormGradsComposed(
  gy: Tensor,
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  stats: { mean: Tensor; invStd: Tensor } | null,
  eps: number,
): (Tensor | null)[] {
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const perChannel = x.shape.map((s, i) => (i === 1 ? s : 1));
  const keepdim = { keepdim: true };
  const mean = stats ? stats.mean.reshape(perChannel) : x.mean(dims, keepdim);
  const centered = x.sub(mean);
  const invStd = stats ? stats.invStd.reshape(perChannel) : centered.square().mean(dims, keepdim).add(eps).rsqrt();
  const xHat = centered.mul(invStd);
  const gHat = weight ? gy.mul(weight.reshape(perChannel)) : gy;
  let gx: Tensor | null = null;
  if (x.requiresGrad) {
    gx = stats
      ? gHat.mul(invStd)
      : gHat.sub(gHat.mean(dims, keepdim)).sub(xHat.mul(gHat.mul(xHat).mean(dims, keepdim))).mul(invStd);
  }
  const gw = weight?.requiresGrad ? gy.mul(xHat).sum(dims) : null;
  const gb = bias?.requiresGrad ? gy.sum(dims) : null;
  return [gx, gw, gb];
}

/**
 * `x` normalized as batch norm in training mode normalizes the `[1, channels, m]` view of it — each run of `m`
 * consecutive values by its own mean and biased variance — on the backend's batch-norm kernels, recorded as one
 * `name` node: what group norm (a group is a channel) and layer norm (a row of the trailing dims is one) share. Under
 * `createGraph` the gradient is batch norm's training formulas in differentiable ops, on the same view.
 */
function normalizeChannels(op: string, name: string, x: Tensor, channels: number, m: number, eps: number): Tensor {
  const backend = backendOf(x, op);
  const x3 = x.detach().reshape([1, channels, m]);
  const mean = empty([channels], x.dtype, x.device), invStd = empty([channels], x.dtype, x.device);
  const normalized = empty(x.shape, x.dtype, x.device);
  if (numel(x.shape) > 0) {
    backend.batchNormStats(x3, eps, mean.storage, invStd.storage, null);
    backend.batchNormForward(x3, mean, invStd, null, null, normalized.storage);
  }
  return record(normalized, name, [x], (gy) => {
    if (isGradEnabled()) {
      const view = [1, channels, m];
      return [batchNormGradsComposed(gy.reshape(view), x.reshape(view), null, null, null, eps)[0]!.reshape(x.shape)];
    }
    const gx = empty(x.shape, gy.dtype, gy.device);
    backendOf(gy, op).batchNormBackward(gy.detach().reshape([1, channels, m]), x3, mean, invStd, null, true, {
      input: gx.storage,
      weight: null,
      bias: null,
    });
    return [gx];
  });
}

/**
 * Layer normalization over the trailing `normalizedShape` dims (biased
 * variance, like PyTorch), with optional elementwise `weight` and `bias` of
 * that shape.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { layerNorm } from "./norm.ts";
 * const y = layerNorm(randn([2, 5, 8]), [8]);
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = "layerNorm";
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || x.ndim < k || ns.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new RangeError(`${op}: expected input [..., ${ns.join(", ")}], got ${fmtShape(x.shape)}`);
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t && (t.ndim !== k || t.shape.some((s, i) => s !== ns[i]))) {
      throw new RangeError(`${op}: expected ${name} ${fmtShape(ns)}, got ${fmtShape(t.shape)}`);
    }
  }
  commonDevice(op, x, weight, bias);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating input, got ${x.dtype}`);
  // Normalizing each row of the trailing dims is batch normalization of x viewed as [1, rows, values per row] (a row
  // is a channel there): two kernel passes each way instead of nine composed ops forward and twice that backward —
  // layer norm runs twice per Transformer block.
  const m = numel(ns);
  let y = normalizeChannels(op, "LayerNormBackward", x, numel(x.shape) / Math.max(m, 1), m, eps);
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  // One traced op (superseding the affine ops): the normalization runs on kernels no exporter sees.
  return traced(y, op, [x, weight ?? null, bias ?? null], { normalizedShape: ns, eps });
}

/** Machine epsilon of a floating dtype (what `torch.finfo(dtype).eps` gives). */
function finfoEps(dtype: string): number {
  return dtype === "float64" ? 2.220446049250313e-16 : 1.1920928955078125e-7;
}

/**
 * Root-mean-square normalization over the trailing `normalizedShape` dims,
 * PyTorch's `F.rms_norm`: `x / √(mean(x²) + eps) · weight`; `eps` defaults to
 * the dtype's machine epsilon (`torch.finfo(x.dtype).eps`). Composed from
 * differentiable ops.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { rmsNorm } from "./norm.ts";
 * const y = rmsNorm(randn([2, 5, 8]), [8]);
 * ```
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  eps?: number | null,
): Tensor {
  const op = "rmsNorm";
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || x.ndim < k || ns.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new RangeError(`${op}: expected input [..., ${ns.join(", ")}], got ${fmtShape(x.shape)}`);
  }
  if (weight && (weight.ndim !== k || weight.shape.some((s, i) => s !== ns[i]))) {
    throw new RangeError(`${op}: expected weight ${fmtShape(ns)}, got ${fmtShape(weight.shape)}`);
  }
  const dims = ns.map((_, i) => x.ndim - k + i);
  const y = x.mul(x.square().mean(dims, { keepdim: true }).add(eps ?? finfoEps(x.dtype)).rsqrt());
  return weight ? y.mul(weight) : y;
}

/**
 * Group normalization (Wu & He, 2018; PyTorch's `F.group_norm`): the channels
 * of each sample of `x` `[N, C, ...]` split into `numGroups` groups of
 * consecutive channels, each group normalized by its own mean and biased
 * variance, then scaled and shifted per channel by `weight` and `bias` `[C]`.
 * Unlike batch norm it does not depend on the batch, so it behaves the same
 * in training and evaluation and with batches of one.
 *
 * Normalizing the groups is batch normalization of x viewed as
 * `[1, N·numGroups, values per group]`, so it runs on the backend's batch-norm
 * kernels (statistics, normalize, and the backward pass) and records one
 * `GroupNormBackward` node; like batch norm's, its gradient is not
 * differentiable again. The affine part is ordinary broadcast ops.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { groupNorm } from "./norm.ts";
 * const y = groupNorm(randn([2, 8, 5, 5]), 4); // every 2 channels of a sample: mean 0, variance 1
 * ```
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = "groupNorm";
  commonDevice(op, x, weight, bias);
  if (x.ndim < 2) throw new RangeError(`${op}: expected input [N, C, ...], got ${fmtShape(x.shape)}`);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating input, got ${x.dtype}`);
  const [n, c] = x.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new RangeError(
      `${op}: numGroups=${numGroups} must be a positive integer dividing the ${c} channels of input ${
        fmtShape(x.shape)
      }`,
    );
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new RangeError(`${op}: expected ${name} [${c}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  const groups = n * numGroups;
  let y = normalizeChannels(op, "GroupNormBackward", x, groups, numel(x.shape) / Math.max(groups, 1), eps);
  const perChannel = x.shape.map((s, i) => (i === 1 ? s : 1));
  if (weight) y = y.mul(weight.reshape(perChannel));
  if (bias) y = y.add(bias.reshape(perChannel));
  // One traced op (superseding the affine ops): the normalization runs on kernels no exporter sees.
  return traced(y, op, [x, weight ?? null, bias ?? null], { numGroups, eps });
}
