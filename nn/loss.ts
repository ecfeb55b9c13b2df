/**
 * Losses as modules, each with a `reduction` ("mean" | "sum" | "none"):
 * `MSELoss`, `L1Loss`, `SmoothL1Loss`, `HuberLoss`, `CrossEntropyLoss`,
 * `NLLLoss`, `BCELoss`, `BCEWithLogitsLoss`, and `KLDivLoss` (which also
 * reduces by "batchmean"). Class weights are registered as buffers, as in
 * PyTorch.
 *
 * @module
 */

import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  huberLoss,
  klDiv,
  type KlDivReduction,
  l1Loss,
  mseLoss,
  nllLoss,
  type Reduction,
  smoothL1Loss,
  type Tensor,
} from "./deps.ts";
import { Module } from "./module.ts";

/** Options every loss takes. */
export interface LossOptions {
  /** How to reduce the per-element losses (default "mean"). */
  reduction?: Reduction;
}

/** A loss module: `forward(input, target)` gives the loss. */
export abstract class Loss extends Module {
  /** How per-element losses are reduced. */
  readonly reduction: Reduction;

  /** A loss with the given reduction. */
  constructor(options: LossOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    if (!["mean", "sum", "none"].includes(this.reduction)) {
      throw new RangeError(
        `${this.constructor.name}: reduction must be "mean", "sum" or "none", got ${JSON.stringify(this.reduction)}`,
      );
    }
  }

  /** The loss of `input` against `target`. */
  abstract override forward(input: Tensor, target: Tensor): Tensor;

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return this.reduction === "mean" ? "" : `reduction="${this.reduction}"`;
  }
}

/**
 * Mean squared error.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { MSELoss } from "./loss.ts";
 * new MSELoss().forward(tensor([1, 2]), tensor([1, 4])); // 2
 * ```
 */
export class MSELoss extends Loss {
  /** `(input - target)²`, reduced. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}

/** Mean absolute error. */
export class L1Loss extends Loss {
  /** `|input - target|`, reduced. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.reduction);
  }
}

/** Options of {@link SmoothL1Loss}. */
export interface SmoothL1LossOptions extends LossOptions {
  /** Where the loss turns from quadratic to linear (default 1; 0 gives L1). */
  beta?: number;
}

/**
 * Smooth L1 loss: `0.5·d²/beta` for `|d| < beta`, `|d| − 0.5·beta` beyond
 * (d = input − target), reduced.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { SmoothL1Loss } from "./loss.ts";
 * new SmoothL1Loss().forward(tensor([0.5, 3]), tensor([0, 0])); // (0.125 + 2.5) / 2
 * ```
 */
export class SmoothL1Loss extends Loss {
  /** The quadratic-to-linear threshold. */
  readonly beta: number;

  /** A smooth L1 loss. */
  constructor(options: SmoothL1LossOptions = {}) {
    super(options);
    this.beta = options.beta ?? 1;
    if (!(this.beta >= 0) || !Number.isFinite(this.beta)) {
      throw new RangeError(`SmoothL1Loss: beta must be a finite number ≥ 0, got ${this.beta}`);
    }
  }

  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, this.reduction, this.beta);
  }
}

/** Options of {@link HuberLoss}. */
export interface HuberLossOptions extends LossOptions {
  /** Where the loss turns from quadratic to linear (default 1). */
  delta?: number;
}

/**
 * Huber loss: `0.5·d²` for `|d| < delta`, `delta·(|d| − 0.5·delta)` beyond
 * (d = input − target), reduced.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { HuberLoss } from "./loss.ts";
 * new HuberLoss({ delta: 2, reduction: "sum" }).forward(tensor([0.5, 3]), tensor([0, 0])); // 0.125 + 4
 * ```
 */
export class HuberLoss extends Loss {
  /** The quadratic-to-linear threshold. */
  readonly delta: number;

  /** A Huber loss. */
  constructor(options: HuberLossOptions = {}) {
    super(options);
    this.delta = options.delta ?? 1;
    if (!(this.delta > 0) || !Number.isFinite(this.delta)) {
      throw new RangeError(`HuberLoss: delta must be a finite number > 0, got ${this.delta}`);
    }
  }

  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, this.reduction, this.delta);
  }
}

/** Options of {@link KLDivLoss}. */
export interface KLDivLossOptions {
  /** "mean" (default, over every element), "batchmean" (the KL divergence per sample), "sum" or "none". */
  reduction?: KlDivReduction;
  /** The target is given as log-probabilities too (default false). */
  logTarget?: boolean;
}

/**
 * The Kullback–Leibler divergence of a target distribution from the
 * log-probabilities `input`: `target·(log target − input)` per element
 * (`e^target·(target − input)` with `logTarget`). PyTorch's default
 * reduction "mean" averages over every element; "batchmean" gives the
 * divergence per sample, which is the mathematical KL divergence.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { KLDivLoss } from "./loss.ts";
 * const kl = new KLDivLoss({ reduction: "batchmean" });
 * kl.forward(tensor([[0.25, 0.75]]).log(), tensor([[0.5, 0.5]])); // 0.1438
 * ```
 */
export class KLDivLoss extends Module {
  /** How per-element losses are reduced. */
  readonly reduction: KlDivReduction;
  /** Whether the target holds log-probabilities. */
  readonly logTarget: boolean;

  /** A KL-divergence loss. */
  constructor(options: KLDivLossOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.logTarget = options.logTarget ?? false;
    if (!["mean", "sum", "none", "batchmean"].includes(this.reduction)) {
      throw new RangeError(
        `KLDivLoss: reduction must be "mean", "batchmean", "sum" or "none", got ${JSON.stringify(this.reduction)}`,
      );
    }
  }

  /** The loss of log-probabilities `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const parts = this.reduction === "mean" ? [] : [`reduction="${this.reduction}"`];
    if (this.logTarget) parts.push("logTarget=true");
    return parts.join(", ");
  }
}

/** Options of {@link NLLLoss}. */
export interface NLLLossOptions extends LossOptions {
  /** A weight per class `[C]`. */
  weight?: Tensor | null;
  /** A target value that is skipped (default -100). */
  ignoreIndex?: number;
}

/** Options of {@link CrossEntropyLoss}. */
export interface CrossEntropyLossOptions extends NLLLossOptions {
  /** Label smoothing ε in [0, 1] (default 0). */
  labelSmoothing?: number;
}

/** Negative log-likelihood of int32 class indices under log-probabilities. */
export class NLLLoss extends Loss {
  /** The skipped target value. */
  readonly ignoreIndex: number;

  /** An NLL loss. */
  constructor(options: NLLLossOptions = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.registerBuffer("weight", options.weight ?? null);
  }

  /** The class weights, or null. */
  get weight(): Tensor | null {
    return this.getBuffer("weight");
  }

  /** `-weight[t]·input[t]`, reduced (mean: by the targets' total weight). */
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/**
 * Cross-entropy of logits against int32 class indices or class probabilities,
 * with `weight`, `ignoreIndex` and `labelSmoothing` (PyTorch's formulas).
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { CrossEntropyLoss } from "./loss.ts";
 * const loss = new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(randn([4, 10]), tensor([1, 0, 9, 3], { dtype: "int32" }));
 * ```
 */
export class CrossEntropyLoss extends Loss {
  /** The skipped target value. */
  readonly ignoreIndex: number;
  /** Label smoothing ε. */
  readonly labelSmoothing: number;

  /** A cross-entropy loss. */
  constructor(options: CrossEntropyLossOptions = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.registerBuffer("weight", options.weight ?? null);
  }

  /** The class weights, or null. */
  get weight(): Tensor | null {
    return this.getBuffer("weight");
  }

  /** The loss of logits `input` `[N, C, ...]` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      labelSmoothing: this.labelSmoothing,
      reduction: this.reduction,
    });
  }
}

/** Options of the BCE losses. */
export interface BCELossOptions extends LossOptions {
  /** A rescaling weight broadcast against the loss. */
  weight?: Tensor | null;
}

/** Binary cross-entropy of probabilities in (0, 1). */
export class BCELoss extends Loss {
  /** A BCE loss. */
  constructor(options: BCELossOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
  }

  /** `-w·(t·log x + (1-t)·log(1-x))`, logs clamped at -100, reduced. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.getBuffer("weight"), reduction: this.reduction });
  }
}

/** Options of {@link BCEWithLogitsLoss}. */
export interface BCEWithLogitsLossOptions extends BCELossOptions {
  /** Weight of positive examples per class (broadcast along the last dim). */
  posWeight?: Tensor | null;
}

/** Binary cross-entropy of logits, stable for any magnitude (sigmoid folded in). */
export class BCEWithLogitsLoss extends Loss {
  /** A BCE-with-logits loss. */
  constructor(options: BCEWithLogitsLossOptions = {}) {
    super(options);
    this.registerBuffer("weight", options.weight ?? null);
    this.registerBuffer("pos_weight", options.posWeight ?? null);
  }

  /** The loss of logits `input` against targets in [0, 1]. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.getBuffer("weight"),
      posWeight: this.getBuffer("pos_weight"),
      reduction: this.reduction,
    });
  }
}
