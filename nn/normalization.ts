/**
 * Normalization layers: `BatchNorm1d`, `BatchNorm2d`, `LayerNorm`, `RMSNorm` and `GroupNorm`, with
 * PyTorch's parameters, buffers (`running_mean`, `running_var`,
 * `num_batches_tracked`) and train/eval behaviour.
 *
 * @module
 */

import {
  batchNorm,
  checkSize,
  fmtShapeOf,
  groupNorm,
  layerNorm,
  noGrad,
  ones,
  rmsNorm,
  type Tensor,
  zeros,
} from "./deps.ts";
import { Module, type Parameter } from "./module.ts";
import { emptyParameter, type FactoryOptions } from "./linear.ts";
import * as init from "./init.ts";

/** Options of the batch-norm layers. */
export interface BatchNormLayerOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of each new batch in the running averages (default 0.1); null: a cumulative average. */
  momentum?: number | null;
  /** Learn a scale and shift per channel (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them eval uses batch statistics. */
  trackRunningStats?: boolean;
}

/** What BatchNorm1d and BatchNorm2d share; the subclasses fix the accepted input ranks. */
export abstract class BatchNormBase extends Module {
  /** Scale γ `[numFeatures]`, or null. */
  weight: Parameter | null;
  /** Shift β `[numFeatures]`, or null. */
  bias: Parameter | null;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight (null: cumulative average). */
  readonly momentum: number | null;
  /** Whether γ and β are learned. */
  readonly affine: boolean;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;

  /** A batch-norm layer over `numFeatures` channels. */
  constructor(readonly numFeatures: number, options: BatchNormLayerOptions = {}) {
    super();
    checkSize(`${new.target.name}(${numFeatures})`, "numFeatures", numFeatures);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.weight = this.affine ? emptyParameter([numFeatures], options) : null;
    this.bias = this.affine ? emptyParameter([numFeatures], options) : null;
    const f = { dtype: options.dtype ?? "float32", device: options.device };
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", zeros([numFeatures], f));
      this.registerBuffer("running_var", ones([numFeatures], f));
      this.registerBuffer("num_batches_tracked", zeros([], { dtype: "int32", device: options.device }));
    } else {
      this.registerBuffer("running_mean", null);
      this.registerBuffer("running_var", null);
      this.registerBuffer("num_batches_tracked", null);
    }
    this.resetParameters();
  }

  /** The running mean buffer (`running_mean`), or null. */
  get runningMean(): Tensor | null {
    return this.getBuffer("running_mean");
  }
  /** The running variance buffer (`running_var`), or null. */
  get runningVar(): Tensor | null {
    return this.getBuffer("running_var");
  }
  /** How many training batches updated the running statistics (`num_batches_tracked`, int32), or null. */
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer("num_batches_tracked");
  }

  /** Zeroes the running statistics and the batch count. */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.runningMean!.zero_();
      this.runningVar!.fill_(1);
      this.numBatchesTracked!.zero_();
    });
  }

  /** Resets the statistics, γ to 1 and β to 0. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  /** The input ranks this layer accepts and how to print them. */
  protected abstract checkInput(x: Tensor): void;

  /**
   * Normalizes `x` per channel (dim 1). Nothing changes until the input has passed every check: the running
   * statistics are updated by `batchNorm` after its own checks, and `num_batches_tracked` only once it returned.
   */
  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor: number | Tensor = this.momentum ?? 0;
    const counting = this.training && this.trackRunningStats;
    const nbt = this.numBatchesTracked;
    if (counting && this.momentum === null) {
      // momentum null: a cumulative moving average, 1/n for the n-th batch (n counting this one), computed on the
      // device (no read-back, so it works on WebGPU too).
      factor = noGrad(() => nbt!.add(1).to(this.runningMean?.dtype ?? "float32").reciprocal());
    }
    const useBatch = this.training || (!this.runningMean && !this.runningVar);
    const track = !this.training || this.trackRunningStats;
    const y = batchNorm(x, track ? this.runningMean : null, track ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatch,
      momentum: factor,
      eps: this.eps,
    });
    if (counting) noGrad(() => nbt!.add_(1));
    return y;
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Batch normalization of `[N, C]` or `[N, C, L]` inputs over C features.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { BatchNorm1d } from "./normalization.ts";
 * const bn = new BatchNorm1d(4);
 * const y = bn.forward(randn([8, 4]));
 * ```
 */
export class BatchNorm1d extends BatchNormBase {
  /** Throws unless `x` has a shape this layer takes, naming the layer and the shape. */
  protected override checkInput(x: Tensor): void {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm1d(${this.numFeatures}): expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got ${
          fmtShapeOf(x)
        }`,
      );
    }
  }
}

/**
 * Batch normalization of `[N, C, H, W]` inputs over C channels.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { BatchNorm2d } from "./normalization.ts";
 * const bn = new BatchNorm2d(3);
 * const y = bn.forward(randn([2, 3, 4, 4]));
 * bn.eval(); // now uses running_mean / running_var
 * ```
 */
export class BatchNorm2d extends BatchNormBase {
  /** Throws unless `x` has a shape this layer takes, naming the layer and the shape. */
  protected override checkInput(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${fmtShapeOf(x)}`,
      );
    }
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a scale (and shift) of the normalized shape (default true). */
  elementwiseAffine?: boolean;
  /** Learn the shift when affine (default true). */
  bias?: boolean;
}

/**
 * Layer normalization over the trailing `normalizedShape` dims.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { LayerNorm } from "./normalization.ts";
 * const ln = new LayerNorm(8);
 * const y = ln.forward(randn([2, 5, 8]));
 * ```
 */
export class LayerNorm extends Module {
  /** Scale of `normalizedShape`, or null. */
  weight: Parameter | null;
  /** Shift of `normalizedShape`, or null. */
  bias: Parameter | null;
  /** The trailing shape normalized over. */
  readonly normalizedShape: number[];
  /** Added to the variance. */
  readonly eps: number;

  /** A layer norm over `normalizedShape`. */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => checkSize(`LayerNorm(${normalizedShape})`, "normalizedShape", s));
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? init.ones_(emptyParameter(this.normalizedShape, options)) as Parameter : null;
    this.bias = affine && (options.bias ?? true)
      ? init.zeros_(emptyParameter(this.normalizedShape, options)) as Parameter
      : null;
  }

  /** Normalizes the trailing dims of `x`. */
  override forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    if (x.ndim < k || this.normalizedShape.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
      throw new RangeError(
        `LayerNorm(${fmtShapeOf(this.normalizedShape)}): expected input [..., ${
          this.normalizedShape.join(", ")
        }], got ${fmtShapeOf(x)}`,
      );
    }
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `${fmtShapeOf(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions extends FactoryOptions {
  /** Added to the mean square (default: the dtype's machine epsilon, as PyTorch's `eps=None`). */
  eps?: number | null;
  /** Learn a scale of `normalizedShape` (default true). */
  elementwiseAffine?: boolean;
}

/**
 * Root-mean-square normalization over the trailing dims, PyTorch's
 * `nn.RMSNorm`: `x / √(mean(x²) + eps) · weight`, weight initialised to ones
 * (state-dict key `weight`).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { RMSNorm } from "./normalization.ts";
 * const norm = new RMSNorm(8);
 * const y = norm.forward(randn([2, 5, 8]));
 * ```
 */
export class RMSNorm extends Module {
  /** Scale of `normalizedShape`, or null. */
  weight: Parameter | null;
  /** The trailing shape normalized over. */
  readonly normalizedShape: number[];
  /** Added to the mean square (null: the dtype's machine epsilon). */
  readonly eps: number | null;

  /** An RMS norm over `normalizedShape`. */
  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? null;
    this.weight = options.elementwiseAffine ?? true
      ? init.ones_(emptyParameter(this.normalizedShape, options)) as Parameter
      : null;
  }

  /** Normalizes the trailing dims of `x`. */
  override forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    if (x.ndim < k || this.normalizedShape.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
      throw new RangeError(
        `RMSNorm(${fmtShapeOf(this.normalizedShape)}): expected input [..., ${this.normalizedShape.join(", ")}], got ${
          fmtShapeOf(x)
        }`,
      );
    }
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `${fmtShapeOf(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a scale and shift per channel (default true). */
  affine?: boolean;
}

/**
 * Group normalization over `[N, numChannels, ...]` inputs: the channels of
 * each sample in `numGroups` groups, each normalized by its own statistics,
 * then an affine map per channel (PyTorch's `nn.GroupNorm`: weight 1, bias 0).
 * Independent of the batch, so it is the same in training and eval.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { GroupNorm } from "./normalization.ts";
 * const gn = new GroupNorm(8, 32);
 * const y = gn.forward(randn([2, 32, 7, 7]));
 * ```
 */
export class GroupNorm extends Module {
  /** Scale γ `[numChannels]`, or null. */
  weight: Parameter | null;
  /** Shift β `[numChannels]`, or null. */
  bias: Parameter | null;
  /** Added to the variance. */
  readonly eps: number;
  /** Whether γ and β are learned. */
  readonly affine: boolean;

  /** A group norm of `numChannels` channels in `numGroups` groups. */
  constructor(readonly numGroups: number, readonly numChannels: number, options: GroupNormOptions = {}) {
    super();
    if (
      !Number.isInteger(numGroups) || !Number.isInteger(numChannels) || numGroups < 1 || numChannels % numGroups !== 0
    ) {
      throw new RangeError(
        `GroupNorm(${numGroups}, ${numChannels}): numGroups=${numGroups} must be a positive integer dividing numChannels=${numChannels}`,
      );
    }
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.weight = this.affine ? init.ones_(emptyParameter([numChannels], options)) as Parameter : null;
    this.bias = this.affine ? init.zeros_(emptyParameter([numChannels], options)) as Parameter : null;
  }

  /** Normalizes `x` `[N, numChannels, ...]`. */
  override forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new RangeError(
        `GroupNorm(${this.numGroups}, ${this.numChannels}): expected input [N, ${this.numChannels}, ...], got ${
          fmtShapeOf(x)
        }`,
      );
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}
