/**
 * The KL divergence and the robust regression losses (smooth L1, Huber),
 * composed from differentiable tensor ops with PyTorch's formulas and
 * reductions.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { where } from "./binary.ts";
import { asFloat, reduce, type Reduction, sameShape } from "./nn_ops.ts";

/** How {@link klDiv} reduces: as the other losses, or "batchmean" (the sum divided by the batch size). */
export type KlDivReduction = Reduction | "batchmean";

/** Options of {@link klDiv}. */
export interface KlDivOptions {
  /** How to reduce (default "mean", the mean over every element; "batchmean" gives the KL divergence per sample). */
  reduction?: KlDivReduction;
  /** The target is given as log-probabilities too (default false: as probabilities). */
  logTarget?: boolean;
}

/**
 * The Kullback–Leibler divergence loss of log-probabilities `input` against a
 * `target` distribution (PyTorch's `F.kl_div`): per element
 * `target·(log target − input)` (0 where the target is 0), or with `logTarget`
 * `e^target·(target − input)`, reduced.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { klDiv } from "./losses.ts";
 * const logq = tensor([[0.25, 0.75]]).log();
 * klDiv(logq, tensor([[0.5, 0.5]]), { reduction: "batchmean" }); // KL(p‖q) = 0.1438
 * ```
 */
export function klDiv(input: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
  const op = "klDiv";
  const reduction = options.reduction ?? "mean";
  if (!["mean", "sum", "none", "batchmean"].includes(reduction)) {
    throw new RangeError(
      `${op}: reduction must be "mean", "sum", "none" or "batchmean", got ${JSON.stringify(reduction)}`,
    );
  }
  sameShape(op, input, target);
  const t = asFloat(target, input);
  let loss: Tensor;
  if (options.logTarget) loss = t.exp().mul(t.sub(input));
  else {
    // xlogy(t, t): the log reads 1 where t is 0, so neither value nor gradient meets 0·log 0.
    const positive = t.gt(0);
    const tLogT = where(positive, t.mul(where(positive, t, 1).log()), 0);
    loss = tLogT.sub(t.mul(input));
  }
  if (reduction === "batchmean") return input.ndim === 0 ? loss.sum() : loss.sum().div(input.shape[0]);
  return reduce(op, loss, reduction);
}

/**
 * Smooth L1 loss (PyTorch's `F.smooth_l1_loss`): per element, with
 * `d = input − target`, `0.5·d²/beta` where `|d| < beta` and `|d| − 0.5·beta`
 * elsewhere (plain L1 when beta is 0), reduced.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { smoothL1Loss } from "./losses.ts";
 * smoothL1Loss(tensor([0.5, 3]), tensor([0, 0]), "none"); // [0.125, 2.5]
 * ```
 */
export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = "mean", beta = 1): Tensor {
  const op = "smoothL1Loss";
  if (!(beta >= 0) || !Number.isFinite(beta)) {
    throw new RangeError(`${op}: beta must be a finite number ≥ 0, got ${beta}`);
  }
  sameShape(op, input, target);
  const d = input.sub(asFloat(target, input)), a = d.abs();
  if (beta === 0) return reduce(op, a, reduction);
  return reduce(op, where(a.lt(beta), d.square().mul(0.5 / beta), a.sub(0.5 * beta)), reduction);
}

/**
 * Huber loss (PyTorch's `F.huber_loss`): per element, with
 * `d = input − target`, `0.5·d²` where `|d| < delta` and
 * `delta·(|d| − 0.5·delta)` elsewhere, reduced. It is smooth L1 with
 * `beta = delta`, times delta.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { huberLoss } from "./losses.ts";
 * huberLoss(tensor([0.5, 3]), tensor([0, 0]), "none", 2); // [0.125, 4]
 * ```
 */
export function huberLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean", delta = 1): Tensor {
  const op = "huberLoss";
  if (!(delta > 0) || !Number.isFinite(delta)) {
    throw new RangeError(`${op}: delta must be a finite number > 0, got ${delta}`);
  }
  sameShape(op, input, target);
  const d = input.sub(asFloat(target, input)), a = d.abs();
  return reduce(op, where(a.lt(delta), d.square().mul(0.5), a.sub(0.5 * delta).mul(delta)), reduction);
}
