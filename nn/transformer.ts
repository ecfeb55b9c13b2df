/**
 * PyTorch's Transformer layers with their names, options and state-dict keys:
 * `TransformerEncoderLayer`, `TransformerDecoderLayer`, the stacks
 * `TransformerEncoder` and `TransformerDecoder` (`layers.0.self_attn.…`,
 * `norm.…`), `Transformer`, and `generateSquareSubsequentMask`. Masks follow
 * `MultiheadAttention` (bool true = masked out, float added).
 *
 * @module
 */

import { arange, type Device, type DType, fmtShapeOf, type Tensor, zeros } from "./deps.ts";
import { Module } from "./module.ts";
import { ModuleList } from "./containers.ts";
import { type FactoryOptions, Linear } from "./linear.ts";
import { LayerNorm } from "./normalization.ts";
import { Dropout } from "./activation.ts";
import { MultiheadAttention } from "./attention.ts";
import * as init from "./init.ts";

/** The feed-forward activation: PyTorch's "relu" (default) or "gelu", or any function. */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

/** Options of the Transformer layers: PyTorch's constructor arguments. */
export interface TransformerLayerOptions extends FactoryOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, in the feed-forward block and on the residuals (default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default "relu"). */
  activation?: TransformerActivation;
  /** LayerNorm epsilon (default 1e-5). */
  layerNormEps?: number;
  /** Inputs `[N, L, E]` (true) or `[L, N, E]` (false, the default). */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before each block) instead of post-norm (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers and LayerNorms (default true). */
  bias?: boolean;
}

function activationFn(a: TransformerActivation, who: string): (x: Tensor) => Tensor {
  if (typeof a === "function") return a;
  if (a === "relu") return (x) => x.relu();
  if (a === "gelu") return (x) => x.gelu();
  throw new RangeError(`${who}: activation must be "relu", "gelu" or a function, got ${JSON.stringify(a)}`);
}

function checkWidth(who: string, dModel: number, nhead: number): void {
  if (!Number.isInteger(dModel) || !Number.isInteger(nhead) || dModel < 1 || nhead < 1 || dModel % nhead !== 0) {
    throw new RangeError(
      `${who}: dModel must be a positive multiple of nhead, got dModel ${dModel} and nhead ${nhead}`,
    );
  }
}

/** Options of {@link TransformerEncoderLayer.forward}. */
export interface EncoderLayerForwardOptions {
  /** `[L, L]` or `[N·nhead, L, L]` attention mask. */
  srcMask?: Tensor | null;
  /** `[N, L]` key padding mask. */
  srcKeyPaddingMask?: Tensor | null;
  /** A hint that `srcMask` is the causal mask. */
  isCausal?: boolean;
}

/**
 * One encoder layer: self-attention and a feed-forward block, each with a
 * residual connection and LayerNorm (after the block, or before it with
 * `normFirst`), as PyTorch's `nn.TransformerEncoderLayer`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { TransformerEncoderLayer } from "./transformer.ts";
 * const layer = new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true });
 * const y = layer.forward(randn([2, 5, 16])); // [2, 5, 16]
 * ```
 */
export class TransformerEncoderLayer extends Module {
  /** Self-attention. */
  self_attn: MultiheadAttention;
  /** First feed-forward linear. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** Second feed-forward linear. */
  linear2: Linear;
  /** LayerNorm of the attention block. */
  norm1: LayerNorm;
  /** LayerNorm of the feed-forward block. */
  norm2: LayerNorm;
  /** Dropout on the attention block's output. */
  dropout1: Dropout;
  /** Dropout on the feed-forward block's output. */
  dropout2: Dropout;
  /** Whether the LayerNorms come first. */
  readonly normFirst: boolean;
  #activation: (x: Tensor) => Tensor;

  /** PyTorch's `nn.TransformerEncoderLayer(d_model, nhead, …)`. */
  constructor(readonly dModel: number, readonly nhead: number, readonly options: TransformerLayerOptions = {}) {
    super();
    const who = `TransformerEncoderLayer(dModel=${dModel}, nhead=${nhead})`;
    checkWidth(who, dModel, nhead);
    const p = options.dropout ?? 0.1, ff = options.dimFeedforward ?? 2048, bias = options.bias ?? true;
    const f = { dtype: options.dtype, device: options.device };
    this.#activation = activationFn(options.activation ?? "relu", who);
    this.self_attn = new MultiheadAttention(dModel, nhead, { ...f, dropout: p, bias, batchFirst: options.batchFirst });
    this.linear1 = new Linear(dModel, ff, { ...f, bias });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, dModel, { ...f, bias });
    this.normFirst = options.normFirst ?? false;
    const eps = options.layerNormEps ?? 1e-5;
    this.norm1 = new LayerNorm(dModel, { ...f, eps, bias });
    this.norm2 = new LayerNorm(dModel, { ...f, eps, bias });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
  }

  /** A new layer with this one's options and a copy of its parameters (PyTorch's stacks deep-copy their layer). */
  clone(): TransformerEncoderLayer {
    const c = new TransformerEncoderLayer(this.dModel, this.nhead, this.options);
    c.loadStateDict(this.stateDict());
    return c.train(this.training);
  }

  /** Encodes `src` `[L, N, E]` (`[N, L, E]` batch-first). */
  override forward(src: Tensor, options: EncoderLayerForwardOptions = {}): Tensor {
    let x = src;
    const sa = (h: Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(h, h, h, {
          attnMask: options.srcMask,
          keyPaddingMask: options.srcKeyPaddingMask,
          needWeights: false,
          isCausal: options.isCausal,
        })[0],
      );
    const ffn = (h: Tensor) =>
      this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.#activation(this.linear1.forward(h)))));
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(ffn(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(ffn(x)));
    }
    return x;
  }
}

/** Options of {@link TransformerDecoderLayer.forward}. */
export interface DecoderLayerForwardOptions {
  /** `[T, T]` or `[N·nhead, T, T]` self-attention mask. */
  tgtMask?: Tensor | null;
  /** `[T, S]` or `[N·nhead, T, S]` mask on the memory. */
  memoryMask?: Tensor | null;
  /** `[N, T]` key padding mask of the target. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[N, S]` key padding mask of the memory. */
  memoryKeyPaddingMask?: Tensor | null;
  /** A hint that `tgtMask` is the causal mask. */
  tgtIsCausal?: boolean;
  /** A hint that `memoryMask` is the causal mask. */
  memoryIsCausal?: boolean;
}

/**
 * One decoder layer: self-attention, attention over the encoder's memory and
 * a feed-forward block, as PyTorch's `nn.TransformerDecoderLayer`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { generateSquareSubsequentMask, TransformerDecoderLayer } from "./transformer.ts";
 * const layer = new TransformerDecoderLayer(16, 4, { dimFeedforward: 32 });
 * const y = layer.forward(randn([6, 2, 16]), randn([5, 2, 16]), { tgtMask: generateSquareSubsequentMask(6) });
 * ```
 */
export class TransformerDecoderLayer extends Module {
  /** Self-attention over the target. */
  self_attn: MultiheadAttention;
  /** Attention over the memory. */
  multihead_attn: MultiheadAttention;
  /** First feed-forward linear. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** Second feed-forward linear. */
  linear2: Linear;
  /** LayerNorm of the self-attention block. */
  norm1: LayerNorm;
  /** LayerNorm of the memory-attention block. */
  norm2: LayerNorm;
  /** LayerNorm of the feed-forward block. */
  norm3: LayerNorm;
  /** Dropout on the self-attention block's output. */
  dropout1: Dropout;
  /** Dropout on the memory-attention block's output. */
  dropout2: Dropout;
  /** Dropout on the feed-forward block's output. */
  dropout3: Dropout;
  /** Whether the LayerNorms come first. */
  readonly normFirst: boolean;
  #activation: (x: Tensor) => Tensor;

  /** PyTorch's `nn.TransformerDecoderLayer(d_model, nhead, …)`. */
  constructor(readonly dModel: number, readonly nhead: number, readonly options: TransformerLayerOptions = {}) {
    super();
    const who = `TransformerDecoderLayer(dModel=${dModel}, nhead=${nhead})`;
    checkWidth(who, dModel, nhead);
    const p = options.dropout ?? 0.1, ff = options.dimFeedforward ?? 2048, bias = options.bias ?? true;
    const f = { dtype: options.dtype, device: options.device };
    this.#activation = activationFn(options.activation ?? "relu", who);
    const mha = { ...f, dropout: p, bias, batchFirst: options.batchFirst };
    this.self_attn = new MultiheadAttention(dModel, nhead, mha);
    this.multihead_attn = new MultiheadAttention(dModel, nhead, mha);
    this.linear1 = new Linear(dModel, ff, { ...f, bias });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, dModel, { ...f, bias });
    this.normFirst = options.normFirst ?? false;
    const eps = options.layerNormEps ?? 1e-5;
    this.norm1 = new LayerNorm(dModel, { ...f, eps, bias });
    this.norm2 = new LayerNorm(dModel, { ...f, eps, bias });
    this.norm3 = new LayerNorm(dModel, { ...f, eps, bias });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.dropout3 = new Dropout(p);
  }

  /** A new layer with this one's options and a copy of its parameters. */
  clone(): TransformerDecoderLayer {
    const c = new TransformerDecoderLayer(this.dModel, this.nhead, this.options);
    c.loadStateDict(this.stateDict());
    return c.train(this.training);
  }

  /** Decodes `tgt` `[T, N, E]` against `memory` `[S, N, E]` (batch-first: `[N, T, E]`, `[N, S, E]`). */
  override forward(tgt: Tensor, memory: Tensor, options: DecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    const sa = (h: Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(h, h, h, {
          attnMask: options.tgtMask,
          keyPaddingMask: options.tgtKeyPaddingMask,
          needWeights: false,
          isCausal: options.tgtIsCausal,
        })[0],
      );
    const mha = (h: Tensor) =>
      this.dropout2.forward(
        this.multihead_attn.forward(h, memory, memory, {
          attnMask: options.memoryMask,
          keyPaddingMask: options.memoryKeyPaddingMask,
          needWeights: false,
          isCausal: options.memoryIsCausal,
        })[0],
      );
    const ffn = (h: Tensor) =>
      this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.#activation(this.linear1.forward(h)))));
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(mha(this.norm2.forward(x)));
      x = x.add(ffn(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(mha(x)));
      x = this.norm3.forward(x.add(ffn(x)));
    }
    return x;
  }
}

/** Options of {@link TransformerEncoder.forward}. */
export interface EncoderForwardOptions {
  /** Attention mask for every layer. */
  mask?: Tensor | null;
  /** `[N, L]` key padding mask. */
  srcKeyPaddingMask?: Tensor | null;
  /** A hint that `mask` is the causal mask. */
  isCausal?: boolean;
}

/**
 * A stack of `numLayers` copies of an encoder layer (`layers.0`, `layers.1`,
 * … — each a copy of `encoderLayer`'s parameters, as PyTorch's deep copy) and
 * an optional final `norm`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { TransformerEncoder, TransformerEncoderLayer } from "./transformer.ts";
 * const enc = new TransformerEncoder(new TransformerEncoderLayer(16, 4, { dimFeedforward: 32 }), 2);
 * const y = enc.forward(randn([5, 2, 16]));
 * ```
 */
export class TransformerEncoder extends Module {
  /** The layers. */
  layers: ModuleList;
  /** The final LayerNorm, or null. */
  norm: Module | null;

  /** `numLayers` copies of `encoderLayer`, then `norm` when given. */
  constructor(encoderLayer: TransformerEncoderLayer, readonly numLayers: number, norm: Module | null = null) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) {
      throw new RangeError(`TransformerEncoder: numLayers must be a positive integer, got ${numLayers}`);
    }
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.clone()));
    this.norm = norm;
  }

  /** Runs every layer in turn, then the norm. */
  override forward(src: Tensor, options: EncoderForwardOptions = {}): Tensor {
    let x = src;
    for (const layer of this.layers) {
      x = (layer as TransformerEncoderLayer).forward(x, {
        srcMask: options.mask,
        srcKeyPaddingMask: options.srcKeyPaddingMask,
        isCausal: options.isCausal,
      });
    }
    return this.norm ? (this.norm.forward(x) as Tensor) : x;
  }
}

/** Options of {@link TransformerDecoder.forward} (those of its layers). */
export type DecoderForwardOptions = DecoderLayerForwardOptions;

/**
 * A stack of `numLayers` copies of a decoder layer and an optional final `norm`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { TransformerDecoder, TransformerDecoderLayer } from "./transformer.ts";
 * const dec = new TransformerDecoder(new TransformerDecoderLayer(16, 4, { dimFeedforward: 32 }), 2);
 * const y = dec.forward(randn([6, 2, 16]), randn([5, 2, 16]));
 * ```
 */
export class TransformerDecoder extends Module {
  /** The layers. */
  layers: ModuleList;
  /** The final LayerNorm, or null. */
  norm: Module | null;

  /** `numLayers` copies of `decoderLayer`, then `norm` when given. */
  constructor(decoderLayer: TransformerDecoderLayer, readonly numLayers: number, norm: Module | null = null) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) {
      throw new RangeError(`TransformerDecoder: numLayers must be a positive integer, got ${numLayers}`);
    }
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.clone()));
    this.norm = norm;
  }

  /** Runs every layer on the target with the same memory, then the norm. */
  override forward(tgt: Tensor, memory: Tensor, options: DecoderForwardOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers) x = (layer as TransformerDecoderLayer).forward(x, memory, options);
    return this.norm ? (this.norm.forward(x) as Tensor) : x;
  }
}

/** Options of {@link Transformer}: the layers' options plus the stack sizes. */
export interface TransformerOptions extends TransformerLayerOptions {
  /** Width (default 512). */
  dModel?: number;
  /** Heads (default 8). */
  nhead?: number;
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
}

/** Options of {@link Transformer.forward}. */
export interface TransformerForwardOptions {
  /** Encoder self-attention mask. */
  srcMask?: Tensor | null;
  /** Decoder self-attention mask (e.g. {@link generateSquareSubsequentMask}). */
  tgtMask?: Tensor | null;
  /** Decoder-to-memory mask. */
  memoryMask?: Tensor | null;
  /** `[N, S]` source key padding mask. */
  srcKeyPaddingMask?: Tensor | null;
  /** `[N, T]` target key padding mask. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[N, S]` memory key padding mask (usually the source's). */
  memoryKeyPaddingMask?: Tensor | null;
  /** A hint that `srcMask` is causal. */
  srcIsCausal?: boolean;
  /** A hint that `tgtMask` is causal. */
  tgtIsCausal?: boolean;
  /** A hint that `memoryMask` is causal. */
  memoryIsCausal?: boolean;
}

/**
 * The encoder–decoder Transformer of "Attention Is All You Need", PyTorch's
 * `nn.Transformer`: an encoder stack and a decoder stack, each ending in a
 * LayerNorm (`encoder.norm`, `decoder.norm`), every weight matrix initialised
 * xavier-uniform.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Transformer } from "./transformer.ts";
 * const t = new Transformer({ dModel: 16, nhead: 4, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 32 });
 * const out = t.forward(randn([5, 2, 16]), randn([6, 2, 16]), { tgtMask: Transformer.generateSquareSubsequentMask(6) });
 * ```
 */
export class Transformer extends Module {
  /** The encoder stack. */
  encoder: TransformerEncoder;
  /** The decoder stack. */
  decoder: TransformerDecoder;
  /** Width. */
  readonly dModel: number;
  /** Heads. */
  readonly nhead: number;
  /** Whether inputs are batch-first. */
  readonly batchFirst: boolean;

  /** PyTorch's `nn.Transformer(d_model=512, nhead=8, …)`. */
  constructor(options: TransformerOptions = {}) {
    super();
    this.dModel = options.dModel ?? 512;
    this.nhead = options.nhead ?? 8;
    this.batchFirst = options.batchFirst ?? false;
    checkWidth("Transformer", this.dModel, this.nhead);
    const f = { dtype: options.dtype, device: options.device };
    const norm = () =>
      new LayerNorm(this.dModel, { ...f, eps: options.layerNormEps ?? 1e-5, bias: options.bias ?? true });
    this.encoder = new TransformerEncoder(
      new TransformerEncoderLayer(this.dModel, this.nhead, options),
      options.numEncoderLayers ?? 6,
      norm(),
    );
    this.decoder = new TransformerDecoder(
      new TransformerDecoderLayer(this.dModel, this.nhead, options),
      options.numDecoderLayers ?? 6,
      norm(),
    );
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform_(p);
  }

  /** Encodes `src` and decodes `tgt` against it: `[T, N, E]` (`[N, T, E]` batch-first). */
  override forward(src: Tensor, tgt: Tensor, options: TransformerForwardOptions = {}): Tensor {
    const batchDim = this.batchFirst ? 0 : 1;
    if (src.ndim !== tgt.ndim || (src.ndim === 3 && src.shape[batchDim] !== tgt.shape[batchDim])) {
      throw new RangeError(
        `Transformer: the batch size of src and tgt must be equal, got src ${fmtShapeOf(src)} and tgt ${
          fmtShapeOf(tgt)
        }`,
      );
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new RangeError(
        `Transformer: the feature size of src and tgt must be dModel ${this.dModel}, got src ${
          fmtShapeOf(src)
        } and tgt ${fmtShapeOf(tgt)}`,
      );
    }
    const memory = this.encoder.forward(src, {
      mask: options.srcMask,
      srcKeyPaddingMask: options.srcKeyPaddingMask,
      isCausal: options.srcIsCausal,
    });
    return this.decoder.forward(tgt, memory, {
      tgtMask: options.tgtMask,
      memoryMask: options.memoryMask,
      tgtKeyPaddingMask: options.tgtKeyPaddingMask,
      memoryKeyPaddingMask: options.memoryKeyPaddingMask,
      tgtIsCausal: options.tgtIsCausal,
      memoryIsCausal: options.memoryIsCausal,
    });
  }

  /** The causal mask `[sz, sz]`: 0 on and below the diagonal, `-inf` above (PyTorch's static method). */
  static generateSquareSubsequentMask(sz: number, options: { device?: Device; dtype?: DType } = {}): Tensor {
    return generateSquareSubsequentMask(sz, options);
  }
}

/**
 * The causal mask `[sz, sz]` as an additive float mask: 0 where key `j ≤`
 * query `i`, `-inf` above the diagonal (`nn.Transformer.generate_square_subsequent_mask`).
 *
 * @example
 * ```ts
 * import { generateSquareSubsequentMask } from "./transformer.ts";
 * console.log(await generateSquareSubsequentMask(3).tolist()); // [[0, -inf, -inf], [0, 0, -inf], [0, 0, 0]]
 * ```
 */
export function generateSquareSubsequentMask(sz: number, options: { device?: Device; dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(sz) || sz < 0) {
    throw new RangeError(`generateSquareSubsequentMask: expected a size >= 0, got ${sz}`);
  }
  const idx = arange(0, sz, 1, { dtype: "int32", device: options.device });
  const above = idx.unsqueeze(0).gt(idx.unsqueeze(1)); // [i, j]: j > i
  return zeros([sz, sz], { dtype: options.dtype ?? "float32", device: options.device }).maskedFill(above, -Infinity);
}
