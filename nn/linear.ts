/**
 * Linear layers and shape utilities: `Linear`, `Identity`, `Flatten`, `Embedding`.
 *
 * @module
 */

import {
  checkSize,
  type Device,
  type DType,
  embedding,
  fmtShapeOf,
  noGrad,
  ones,
  Tensor,
  where,
  zeros,
} from "./deps.ts";
import { Module, Parameter } from "./module.ts";
import * as init from "./init.ts";
import { linear } from "./functional.ts";

/** Where a layer's parameters are created. */
export interface FactoryOptions {
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default: the default device). */
  device?: Device;
}

/** A fresh parameter of `shape` (filled by the layer's initialiser). */
export function emptyParameter(shape: readonly number[], options: FactoryOptions = {}): Parameter {
  return new Parameter(zeros(shape, { dtype: options.dtype ?? "float32", device: options.device }));
}

/** PyTorch's default init of a weight and bias: kaiming_uniform(a=√5), bias U(±1/√fanIn). */
export function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = init.calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform_(bias, -bound, bound);
  }
}

/** Options of {@link Linear}. */
export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * `y = x Wᵀ + b` over the last dim: weight `[outFeatures, inFeatures]`, bias `[outFeatures]`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear } from "./linear.ts";
 * const fc = new Linear(4, 2);
 * console.log(fc.forward(randn([3, 4])).shape); // [3, 2]
 * ```
 */
export class Linear extends Module {
  /** `[outFeatures, inFeatures]`. */
  weight: Parameter;
  /** `[outFeatures]`, or null. */
  bias: Parameter | null;

  /** A linear layer with PyTorch's default initialisation. */
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    checkSize(`Linear(${inFeatures}, ${outFeatures})`, "inFeatures", inFeatures);
    checkSize(`Linear(${inFeatures}, ${outFeatures})`, "outFeatures", outFeatures);
    this.weight = emptyParameter([outFeatures, inFeatures], options);
    this.bias = options.bias ?? true ? emptyParameter([outFeatures], options) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias the way PyTorch does. */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** `x Wᵀ + b` for x `[..., inFeatures]`. */
  override forward(x: Tensor): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new RangeError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): expected input [..., ${this.inFeatures}], got ${
          fmtShapeOf(x)
        }`,
      );
    }
    return linear(x, this.weight, this.bias);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  /** Returns `x`. */
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims `startDim..endDim` (default 1..-1: everything but the batch). */
export class Flatten extends Module {
  /** A flatten over `startDim..endDim`. */
  constructor(readonly startDim: number = 1, readonly endDim: number = -1) {
    super();
  }

  /** `x.flatten(startDim, endDim)`. */
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Unflattens dim `dim` into `unflattenedSize` (Flatten's inverse, PyTorch's
 * `nn.Unflatten`): a decoder's `[N, 3136]` back to `[N, 64, 7, 7]`.
 *
 * @example
 * ```ts
 * import { zeros } from "@dendrite/tensor";
 * import { Unflatten } from "./linear.ts";
 * console.log(new Unflatten(1, [64, 7, 7]).forward(zeros([2, 3136])).shape); // [2, 64, 7, 7]
 * ```
 */
export class Unflatten extends Module {
  /** Unflattens `dim` into `unflattenedSize` (whose product must be that dim's size). */
  constructor(readonly dim: number, readonly unflattenedSize: readonly number[]) {
    super();
    if (!unflattenedSize.length || unflattenedSize.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new RangeError(`Unflatten: unflattenedSize must be positive integers, got [${unflattenedSize.join(", ")}]`);
    }
  }

  /** `x` with dim `dim` reshaped to `unflattenedSize`. */
  override forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    const size = this.unflattenedSize.reduce((a, b) => a * b, 1);
    if (d < 0 || d >= x.ndim || x.shape[d] !== size) {
      throw new RangeError(
        `Unflatten: dim ${this.dim} of input ${fmtShapeOf(x)} must have ${size} elements for [${
          this.unflattenedSize.join(", ")
        }]`,
      );
    }
    return x.reshape([...x.shape.slice(0, d), ...this.unflattenedSize, ...x.shape.slice(d + 1)]);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `dim=${this.dim}, unflattenedSize=[${this.unflattenedSize.join(", ")}]`;
  }
}

/** Options of {@link Embedding}. */
export interface EmbeddingOptions extends FactoryOptions {
  /** An index whose row is zero-initialised and gets no gradient. */
  paddingIdx?: number | null;
  /**
   * Before each lookup, rescale (in place, without gradient) every row the
   * indices pick whose `normType`-norm exceeds this to norm `maxNorm`.
   */
  maxNorm?: number | null;
  /** The p of the norm `maxNorm` bounds (default 2). */
  normType?: number;
  /**
   * Make the weight's gradient a sparse COO tensor holding only the looked-up rows (default false), so backward
   * and a step of `optim.SparseAdam` or `optim.SGD` cost O(batch·dim) rather than O(numEmbeddings·dim).
   */
  sparse?: boolean;
}

/** Options of {@link Embedding.fromPretrained}. */
export interface FromPretrainedOptions {
  /** Keep the table fixed: its weight does not require grad (default true). */
  freeze?: boolean;
  /** As in {@link EmbeddingOptions}. */
  paddingIdx?: number | null;
  /** As in {@link EmbeddingOptions}. */
  maxNorm?: number | null;
  /** As in {@link EmbeddingOptions}. */
  normType?: number;
  /** As in {@link EmbeddingOptions}. */
  sparse?: boolean;
}

/**
 * PyTorch's `embedding_renorm_`: rows of `weight` picked by `indices` whose
 * p-norm exceeds `maxNorm` are scaled in place by `maxNorm / (norm + 1e-7)`.
 * Runs on the device without reading anything back (a mask over the table
 * marks the picked rows).
 */
function embeddingRenorm_(weight: Tensor, indices: Tensor, maxNorm: number, p: number): void {
  noGrad(() => {
    const n = weight.shape[0];
    const flat = indices.reshape([-1]);
    const picked = zeros([n], { dtype: weight.dtype, device: weight.device })
      .scatterAdd(0, flat, ones([flat.shape[0]], { dtype: weight.dtype, device: weight.device }))
      .gt(0);
    const a = weight.abs();
    const norm = p === 2 ? a.square().sum(1).sqrt() : p === Infinity ? a.amax(1) : a.pow(p).sum(1).pow(1 / p);
    const scale = where(picked.logicalAnd(norm.gt(maxNorm)), norm.add(1e-7).reciprocal().mul(maxNorm), 1);
    weight.mul_(scale.unsqueeze(1));
  });
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim`, initialised N(0, 1).
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { Embedding } from "./linear.ts";
 * const emb = new Embedding(10, 3);
 * console.log(emb.forward(tensor([[1, 2], [3, 4]], { dtype: "int32" })).shape); // [2, 2, 3]
 * ```
 */
export class Embedding extends Module {
  /** `[numEmbeddings, embeddingDim]`. */
  weight: Parameter;
  /** The padding row, or null. */
  readonly paddingIdx: number | null;
  /** The largest row norm a lookup leaves (rows are renormalised in place), or null. */
  readonly maxNorm: number | null;
  /** The p of that norm. */
  readonly normType: number;
  /** Whether the weight's gradient is sparse (see {@link EmbeddingOptions.sparse}). */
  readonly sparse: boolean;

  /** A table with PyTorch's default initialisation. */
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    const name = `Embedding(${numEmbeddings}, ${embeddingDim})`;
    checkSize(name, "numEmbeddings", numEmbeddings);
    checkSize(name, "embeddingDim", embeddingDim);
    const p = options.paddingIdx ?? null;
    if (p !== null && (p >= numEmbeddings || p < -numEmbeddings)) {
      throw new RangeError(`${name}: paddingIdx ${p} is out of range`);
    }
    const maxNorm = options.maxNorm ?? null, normType = options.normType ?? 2;
    if (maxNorm !== null && !(maxNorm > 0)) throw new RangeError(`${name}: maxNorm must be positive, got ${maxNorm}`);
    if (!(normType > 0)) throw new RangeError(`${name}: normType must be positive, got ${normType}`);
    this.paddingIdx = p === null ? null : p < 0 ? p + numEmbeddings : p;
    this.maxNorm = maxNorm;
    this.normType = normType;
    if (options.sparse !== undefined && typeof options.sparse !== "boolean") {
      throw new TypeError(`${name}: sparse must be true or false`);
    }
    this.sparse = options.sparse ?? false;
    this.weight = emptyParameter([numEmbeddings, embeddingDim], options);
    this.resetParameters();
  }

  /**
   * A table holding `embeddings` `[num, dim]` (shared, not copied), frozen
   * unless `freeze` is false — PyTorch's `Embedding.from_pretrained`.
   *
   * @example
   * ```ts
   * import { tensor } from "@dendrite/tensor";
   * import { Embedding } from "./linear.ts";
   * const emb = Embedding.fromPretrained(tensor([[1, 2.3, 3], [4, 5.1, 6.3]]));
   * console.log(emb.weight.requiresGrad, emb.forward(tensor([1], { dtype: "int32" })).shape); // false [1, 3]
   * ```
   */
  static fromPretrained(embeddings: Tensor, options: FromPretrainedOptions = {}): Embedding {
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) {
      throw new RangeError(
        `Embedding.fromPretrained: expected embeddings [numEmbeddings, dim], got ${
          embeddings instanceof Tensor ? fmtShapeOf(embeddings) : typeof embeddings
        }`,
      );
    }
    const [num, dim] = embeddings.shape;
    const emb = new Embedding(num, dim, {
      paddingIdx: options.paddingIdx,
      maxNorm: options.maxNorm,
      normType: options.normType,
      sparse: options.sparse,
      dtype: embeddings.dtype,
      device: embeddings.device,
    });
    emb.weight = new Parameter(embeddings.detach(), !(options.freeze ?? true));
    return emb;
  }

  /** N(0, 1), with the padding row zeroed. */
  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== null) init.zeros_(this.weight.select(0, this.paddingIdx));
  }

  /** The rows for int32 `indices` of any shape: `[...indices.shape, embeddingDim]`. */
  override forward(indices: Tensor): Tensor {
    if (!(indices instanceof Tensor) || indices.dtype !== "int32") {
      throw new TypeError(
        `Embedding(${this.numEmbeddings}, ${this.embeddingDim}): expected int32 indices, got ${
          indices instanceof Tensor ? indices.dtype : typeof indices
        }`,
      );
    }
    if (this.maxNorm !== null) embeddingRenorm_(this.weight, indices, this.maxNorm, this.normType);
    return embedding(indices, this.weight, this.paddingIdx, this.sparse);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, paddingIdx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, maxNorm=${this.maxNorm}`;
    if (this.maxNorm !== null && this.normType !== 2) s += `, normType=${this.normType}`;
    if (this.sparse) s += ", sparse=true";
    return s;
  }
}
