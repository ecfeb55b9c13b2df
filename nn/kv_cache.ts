/**
 * A key/value cache for generation, as torchtune's `KVCache`: preallocated
 * `[batch, heads, maxSeqLen, headDim]` buffers that each step's new keys and
 * values are written into, so a decoder attends to every earlier token
 * without recomputing its projections.
 *
 * @module
 */

import { type Device, type DType, fmtShapeOf, noGrad, type Tensor, zeros } from "./deps.ts";
import { Module } from "./module.ts";

/** Options of {@link KVCache}. */
export interface KVCacheOptions {
  /** Dtype of the buffers (default float32). */
  dtype?: DType;
  /** Device of the buffers (default: the default device). */
  device?: Device;
}

/**
 * Keys and values of the tokens seen so far. {@link KVCache.update} appends a
 * step's `[batch, heads, s, headDim]` keys and values and returns views of
 * the whole history `[batch, heads, size, headDim]` (read in place by the
 * fused attention kernels). The buffers are non-persistent (not in the state
 * dict) and take no gradient.
 *
 * @example
 * ```ts
 * import { randn, scaledDotProductAttention } from "@dendrite/tensor";
 * import { KVCache } from "./kv_cache.ts";
 * const cache = new KVCache(1, 32, 2, 8);
 * const [k, v] = cache.update(randn([1, 2, 5, 8]), randn([1, 2, 5, 8])); // the prompt
 * const [k2, v2] = cache.update(randn([1, 2, 1, 8]), randn([1, 2, 1, 8])); // one new token: size 6
 * const y = scaledDotProductAttention(randn([1, 2, 1, 8]), k2, v2); // the new query sees all 6
 * ```
 */
export class KVCache extends Module {
  #size = 0;

  /** Buffers for `batchSize` sequences of up to `maxSeqLen` tokens, `numKvHeads` heads of `headDim`. */
  constructor(
    readonly batchSize: number,
    readonly maxSeqLen: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    options: KVCacheOptions = {},
  ) {
    super();
    const shape = [batchSize, numKvHeads, maxSeqLen, headDim];
    if (!shape.every((s) => Number.isInteger(s) && s > 0)) {
      throw new RangeError(`KVCache: sizes must be positive integers, got ${fmtShapeOf(shape)}`);
    }
    const f = { dtype: options.dtype ?? "float32", device: options.device };
    this.registerBuffer("k_cache", zeros(shape, f), false);
    this.registerBuffer("v_cache", zeros(shape, f), false);
  }

  /** Tokens cached so far. */
  get size(): number {
    return this.#size;
  }

  /** Forgets every token (the buffers are reused). */
  reset(): void {
    this.#size = 0;
  }

  /**
   * Appends keys and values `[batchSize, numKvHeads, s, headDim]` and returns
   * `[keys, values]` of every cached token. Checks shapes and room first: a
   * failed call changes nothing.
   */
  update(k: Tensor, v: Tensor): [Tensor, Tensor] {
    const [b, h, , d] = [this.batchSize, this.numKvHeads, 0, this.headDim];
    const s = k.shape[2];
    const ok = (t: Tensor) =>
      t.ndim === 4 && t.shape[0] === b && t.shape[1] === h && t.shape[2] === s && t.shape[3] === d;
    if (!ok(k) || !ok(v)) {
      throw new RangeError(
        `KVCache: expected keys and values [${b}, ${h}, s, ${d}] of one length, got ${fmtShapeOf(k)} and ${
          fmtShapeOf(v)
        }`,
      );
    }
    if (this.#size + s > this.maxSeqLen) {
      throw new RangeError(
        `KVCache: ${this.#size} cached + ${s} new tokens exceed maxSeqLen ${this.maxSeqLen}`,
      );
    }
    const kc = this.getBuffer("k_cache")!, vc = this.getBuffer("v_cache")!;
    noGrad(() => {
      kc.narrow(2, this.#size, s).copy_(k);
      vc.narrow(2, this.#size, s).copy_(v);
    });
    this.#size += s;
    return [kc.narrow(2, 0, this.#size), vc.narrow(2, 0, this.#size)];
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `batchSize=${this.batchSize}, maxSeqLen=${this.maxSeqLen}, numKvHeads=${this.numKvHeads}, headDim=${this.headDim}`;
  }
}
