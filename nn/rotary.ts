/**
 * Rotary position embeddings (RoPE, Su et al. 2021), as torchtune's
 * `RotaryPositionalEmbeddings`: each pair of features `(x[2i], x[2i+1])` of a
 * head at position `p` is rotated by the angle `p·θᵢ`, `θᵢ = base^(-2i/dim)`,
 * so query–key products depend on relative position only.
 *
 * @module
 */

import { fmtShapeOf, stack, type Tensor, tensor } from "./deps.ts";
import { Module } from "./module.ts";
import type { FactoryOptions } from "./linear.ts";

/** Options of {@link RotaryEmbedding}. */
export interface RotaryEmbeddingOptions extends FactoryOptions {
  /** Longest sequence (positions cached; default 4096). */
  maxSeqLen?: number;
  /** The base of the angles (default 10000). */
  base?: number;
}

/** Options of {@link RotaryEmbedding.forward}. */
export interface RotaryForwardOptions {
  /** Position of the first token (default 0): a KV-cache step passes the cache's length. */
  inputPos?: number;
}

/**
 * Rotates `[..., seq, heads, dim]` query or key tensors by their positions
 * (a cos/sin table of `maxSeqLen × dim/2`, a non-persistent buffer `cache`,
 * so it is not in the state dict). Differentiable, any device.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { RotaryEmbedding } from "./rotary.ts";
 * const rope = new RotaryEmbedding(8, { maxSeqLen: 64 });
 * const q = rope.forward(randn([2, 10, 4, 8])); // [batch, seq, heads, dim]
 * const next = rope.forward(randn([2, 1, 4, 8]), { inputPos: 10 }); // the 11th token
 * ```
 */
export class RotaryEmbedding extends Module {
  /** Longest sequence. */
  readonly maxSeqLen: number;
  /** The base of the angles. */
  readonly base: number;

  /** A table for heads of `dim` (even) features. */
  constructor(readonly dim: number, options: RotaryEmbeddingOptions = {}) {
    super();
    if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) {
      throw new RangeError(`RotaryEmbedding: dim must be a positive even integer, got ${dim}`);
    }
    this.maxSeqLen = options.maxSeqLen ?? 4096;
    this.base = options.base ?? 10000;
    const half = dim / 2;
    const table = new Float64Array(this.maxSeqLen * half * 2);
    for (let p = 0; p < this.maxSeqLen; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * Math.pow(this.base, (-2 * i) / dim);
        table[(p * half + i) * 2] = Math.cos(angle);
        table[(p * half + i) * 2 + 1] = Math.sin(angle);
      }
    }
    const cache = tensor(Array.from(table), { dtype: options.dtype ?? "float32", device: options.device });
    this.registerBuffer("cache", cache.reshape([this.maxSeqLen, half, 2]), false);
  }

  /** `x` `[..., seq, heads, dim]` rotated by positions `inputPos, inputPos + 1, …`. */
  override forward(x: Tensor, options: RotaryForwardOptions = {}): Tensor {
    const pos = options.inputPos ?? 0;
    const d = this.dim, half = d / 2;
    if (x.ndim < 3 || x.shape[x.ndim - 1] !== d) {
      throw new RangeError(`RotaryEmbedding(${d}): expected input [..., seq, heads, ${d}], got ${fmtShapeOf(x)}`);
    }
    const seq = x.shape[x.ndim - 3];
    if (!Number.isInteger(pos) || pos < 0 || pos + seq > this.maxSeqLen) {
      throw new RangeError(
        `RotaryEmbedding(${d}): positions ${pos}..${pos + seq - 1} of input ${
          fmtShapeOf(x)
        } exceed maxSeqLen ${this.maxSeqLen}`,
      );
    }
    const rows = this.getBuffer("cache")!.narrow(0, pos, seq).to(x.dtype).unsqueeze(1); // [seq, 1, half, 2]
    const cos = rows.select(-1, 0), sin = rows.select(-1, 1);
    const pairs = x.reshape([...x.shape.slice(0, -1), half, 2]);
    const x0 = pairs.select(-1, 0), x1 = pairs.select(-1, 1);
    return stack([x0.mul(cos).sub(x1.mul(sin)), x1.mul(cos).add(x0.mul(sin))], -1).reshape(x.shape);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `dim=${this.dim}, maxSeqLen=${this.maxSeqLen}, base=${this.base}`;
  }
}
