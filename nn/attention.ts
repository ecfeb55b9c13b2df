/**
 * `MultiheadAttention`, PyTorch's layer with its parameters, state-dict keys
 * (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`, … or
 * `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when the key/value sizes
 * differ) and mask conventions (a bool mask is true where attention is NOT
 * allowed, the opposite of `scaledDotProductAttention`'s).
 *
 * @module
 */

import { cat, composedAttention, fmtShapeOf, scaledDotProductAttention, type Tensor, zeros } from "./deps.ts";
import { Module, type Parameter } from "./module.ts";
import { emptyParameter, type FactoryOptions, Linear } from "./linear.ts";
import * as init from "./init.ts";

/** Options of {@link MultiheadAttention}: PyTorch's constructor arguments. */
export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Learned biases appended to the keys and values (`bias_k`, `bias_v`; default false). */
  addBiasKv?: boolean;
  /** Append a zero key and value (default false). */
  addZeroAttn?: boolean;
  /** Size of the keys (default `embedDim`). */
  kdim?: number;
  /** Size of the values (default `embedDim`). */
  vdim?: number;
  /** Inputs are `[N, L, E]` (true) or `[L, N, E]` (false, the default, as PyTorch). */
  batchFirst?: boolean;
}

/** Options of {@link MultiheadAttention.forward}: PyTorch's keyword arguments. */
export interface MultiheadAttentionForwardOptions {
  /** `[N, S]`: bool, true = ignore that key; or float, added to the scores. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true, as PyTorch). */
  needWeights?: boolean;
  /** `[L, S]` or `[N·numHeads, L, S]`: bool, true = not allowed to attend; or float, added. */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (`[N, L, S]`) or not (`[N, H, L, S]`); default true. */
  averageAttnWeights?: boolean;
  /** A hint that `attnMask` is the causal mask: then it need not be read (requires `attnMask`, as PyTorch). */
  isCausal?: boolean;
}

/**
 * Multi-head attention: `softmax(Q·Kᵀ/√d + mask)·V` over `numHeads` heads of
 * size `embedDim / numHeads`, between input and output projections. Without
 * `needWeights` it runs `scaledDotProductAttention` (the backends' fused
 * kernel: no `L×S` weights in memory); with it, the composed path that
 * returns them. A query whose every key is masked out gets zeros (PyTorch
 * returns NaN there).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { MultiheadAttention } from "./attention.ts";
 * const mha = new MultiheadAttention(16, 4, { batchFirst: true });
 * const x = randn([2, 5, 16]);
 * const [y, w] = mha.forward(x, x, x); // [2, 5, 16], weights [2, 5, 5]
 * console.log(Object.keys(mha.stateDict())); // in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias
 * ```
 */
export class MultiheadAttention extends Module {
  /** `[3·embedDim, embedDim]` (q, k and v stacked), or null when kdim/vdim differ from embedDim. */
  in_proj_weight: Parameter | null = null;
  /** `[embedDim, embedDim]` when kdim/vdim differ, else null. */
  q_proj_weight: Parameter | null = null;
  /** `[embedDim, kdim]` when kdim/vdim differ, else null. */
  k_proj_weight: Parameter | null = null;
  /** `[embedDim, vdim]` when kdim/vdim differ, else null. */
  v_proj_weight: Parameter | null = null;
  /** `[3·embedDim]`, or null without bias. */
  in_proj_bias: Parameter | null = null;
  /** `[1, 1, embedDim]` appended to the keys with `addBiasKv`. */
  bias_k: Parameter | null = null;
  /** `[1, 1, embedDim]` appended to the values with `addBiasKv`. */
  bias_v: Parameter | null = null;
  /** The output projection. */
  out_proj: Linear;
  /** Size of each head. */
  readonly headDim: number;
  /** Size of the keys. */
  readonly kdim: number;
  /** Size of the values. */
  readonly vdim: number;
  /** Dropout on the attention weights. */
  readonly dropout: number;
  /** Whether inputs are batch-first. */
  readonly batchFirst: boolean;
  /** Whether a zero key and value are appended. */
  readonly addZeroAttn: boolean;

  /** PyTorch's `nn.MultiheadAttention(embed_dim, num_heads, …)`, initialised as PyTorch does. */
  constructor(readonly embedDim: number, readonly numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    const name = `MultiheadAttention(embedDim=${embedDim}, numHeads=${numHeads})`;
    if (!Number.isInteger(embedDim) || !Number.isInteger(numHeads) || numHeads < 1 || embedDim < 1) {
      throw new RangeError(`${name}: embedDim and numHeads must be positive integers`);
    }
    if (embedDim % numHeads !== 0) {
      throw new RangeError(`${name}: embedDim must be divisible by numHeads (${embedDim} / ${numHeads} is not whole)`);
    }
    const dropout = options.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`${name}: dropout must be in [0, 1), got ${dropout}`);
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = dropout;
    this.batchFirst = options.batchFirst ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    const bias = options.bias ?? true;
    // Assigned in PyTorch's state-dict order.
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.in_proj_weight = emptyParameter([3 * embedDim, embedDim], options);
    } else {
      this.q_proj_weight = emptyParameter([embedDim, embedDim], options);
      this.k_proj_weight = emptyParameter([embedDim, this.kdim], options);
      this.v_proj_weight = emptyParameter([embedDim, this.vdim], options);
    }
    if (bias) this.in_proj_bias = emptyParameter([3 * embedDim], options);
    if (options.addBiasKv) {
      this.bias_k = emptyParameter([1, 1, embedDim], options);
      this.bias_v = emptyParameter([1, 1, embedDim], options);
    }
    this.out_proj = new Linear(embedDim, embedDim, { ...options, bias });
    this.resetParameters();
  }

  /** PyTorch's `_reset_parameters`: xavier-uniform projections, zero biases, xavier-normal `bias_k`/`bias_v`. */
  resetParameters(): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) {
      if (w) init.xavierUniform_(w);
    }
    if (this.in_proj_bias) init.zeros_(this.in_proj_bias);
    if (this.out_proj.bias) init.zeros_(this.out_proj.bias);
    if (this.bias_k) init.xavierNormal_(this.bias_k);
    if (this.bias_v) init.xavierNormal_(this.bias_v);
  }

  /**
   * Attends `query` `[L, N, E]` (`[N, L, E]` batch-first, or `[L, E]`
   * unbatched) to `key` `[S, N, kdim]` and `value` `[S, N, vdim]`. Returns the
   * output (the query's shape) and the weights (`[N, L, S]`, or per head
   * `[N, H, L, S]`; without the batch dim when unbatched), or null without
   * `needWeights`.
   */
  override forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiheadAttentionForwardOptions = {},
  ): [Tensor, Tensor | null] {
    const E = this.embedDim, H = this.numHeads, hd = this.headDim;
    const name = `MultiheadAttention(${E}, ${H})`;
    const both = `query ${fmtShapeOf(query)}, key ${fmtShapeOf(key)}, value ${fmtShapeOf(value)}`;
    const batched = query.ndim === 3;
    if ((query.ndim !== 2 && !batched) || key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new RangeError(`${name}: expected query, key and value all [L, N, E] / [N, L, E] or all [L, E] (${both})`);
    }
    if (
      query.shape[query.ndim - 1] !== E || key.shape[key.ndim - 1] !== this.kdim ||
      value.shape[value.ndim - 1] !== this.vdim
    ) {
      throw new RangeError(
        `${name}: expected last dims embedDim ${E}, kdim ${this.kdim}, vdim ${this.vdim} (${both})`,
      );
    }
    // Work batch-first internally: [N, L, E].
    const bf = (t: Tensor) => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const q0 = bf(query), k0 = bf(key), v0 = bf(value);
    const N = q0.shape[0], L = q0.shape[1], S0 = k0.shape[1];
    if (k0.shape[0] !== N || v0.shape[0] !== N) {
      throw new RangeError(`${name}: query, key and value must share the batch size (${both})`);
    }
    if (v0.shape[1] !== S0) throw new RangeError(`${name}: key and value must have the same length (${both})`);
    const kpm = options.keyPaddingMask ?? null, am = options.attnMask ?? null;
    if (
      kpm &&
      !(kpm.ndim === (batched ? 2 : 1) && kpm.shape[0] === (batched ? N : S0) && (!batched || kpm.shape[1] === S0))
    ) {
      throw new RangeError(
        `${name}: expected keyPaddingMask ${batched ? `[${N}, ${S0}]` : `[${S0}]`}, got ${fmtShapeOf(kpm)} (${both})`,
      );
    }
    if (
      am && !((am.ndim === 2 && am.shape[0] === L && am.shape[1] === S0) ||
        (am.ndim === 3 && am.shape[0] === N * H && am.shape[1] === L && am.shape[2] === S0))
    ) {
      throw new RangeError(
        `${name}: expected attnMask [${L}, ${S0}] or [${N * H}, ${L}, ${S0}], got ${fmtShapeOf(am)} (${both})`,
      );
    }
    for (const [what, m] of [["keyPaddingMask", kpm], ["attnMask", am]] as const) {
      if (m && m.dtype !== "bool" && m.dtype !== query.dtype) {
        throw new TypeError(`${name}: ${what} must be bool or ${query.dtype}, got ${m.dtype}`);
      }
    }
    if (options.isCausal && !am) {
      throw new RangeError(`${name}: isCausal is a hint that attnMask is the causal mask; pass attnMask too`);
    }

    // Projections (one product for self-attention with a stacked weight).
    let q: Tensor, k: Tensor, v: Tensor;
    const b = this.in_proj_bias;
    const bias = (i: number) => (b ? b.narrow(0, i * E, E) : null);
    const proj = (x: Tensor, w: Tensor, bi: Tensor | null) => {
      const y = x.matmul(w.t());
      return bi ? y.add(bi) : y;
    };
    if (this.in_proj_weight) {
      const w = this.in_proj_weight;
      if (query === key && key === value) [q, k, v] = proj(q0, w, b).chunk(3, -1);
      else {
        q = proj(q0, w.narrow(0, 0, E), bias(0));
        k = proj(k0, w.narrow(0, E, E), bias(1));
        v = proj(v0, w.narrow(0, 2 * E, E), bias(2));
      }
    } else {
      q = proj(q0, this.q_proj_weight!, bias(0));
      k = proj(k0, this.k_proj_weight!, bias(1));
      v = proj(v0, this.v_proj_weight!, bias(2));
    }
    // Masks in scaledDotProductAttention's convention: bool true = attend, float added; [N, H|1, L|1, S].
    let kpmS = kpm ? (batched ? kpm : kpm.unsqueeze(0)).reshape([N, 1, 1, S0]) : null;
    let amS = am ? (am.ndim === 2 ? am : am.reshape([N, H, L, S0])) : null;
    let S = S0;
    // A column for each appended key: PyTorch's pad of 0 (bool false: that key is not masked).
    const padMask = (m: Tensor | null) =>
      m ? cat([m, zeros([...m.shape.slice(0, -1), 1], { dtype: m.dtype, device: m.device })], -1) : null;
    if (this.bias_k && this.bias_v) {
      k = cat([k, this.bias_k.expand([N, 1, E])], 1);
      v = cat([v, this.bias_v.expand([N, 1, E])], 1);
      kpmS = padMask(kpmS);
      amS = padMask(amS);
      S++;
    }
    const heads = (t: Tensor, len: number) => t.reshape([N, len, H, hd]).permute(0, 2, 1, 3);
    const qh = heads(q, L);
    let kh = heads(k, S), vh = heads(v, S);
    if (this.addZeroAttn) {
      kh = cat([kh, zeros([N, H, 1, hd], { dtype: kh.dtype, device: kh.device })], 2);
      vh = cat([vh, zeros([N, H, 1, hd], { dtype: vh.dtype, device: vh.device })], 2);
      kpmS = padMask(kpmS);
      amS = padMask(amS);
      S++;
    }
    const mask = combineMasks(kpmS, amS);
    const needWeights = options.needWeights ?? true;
    const dropoutP = this.training ? this.dropout : 0;
    let out: Tensor, weights: Tensor | null = null;
    if (needWeights) {
      const r = composedAttention(qh, kh, vh, { attnMask: mask, dropoutP });
      out = r.out;
      weights = options.averageAttnWeights ?? true ? r.weights.mean(1) : r.weights;
      if (!batched) weights = weights.squeeze(0);
    } else {
      // The causal hint lets the kernel skip reading the mask (and the tiles above the diagonal).
      const causal = options.isCausal && !kpm && !this.bias_k && !this.addZeroAttn;
      out = scaledDotProductAttention(qh, kh, vh, { attnMask: causal ? null : mask, isCausal: causal, dropoutP });
    }
    let y = this.out_proj.forward(out.permute(0, 2, 1, 3).reshape([N, L, E]));
    y = !batched ? y.squeeze(0) : this.batchFirst ? y : y.transpose(0, 1);
    return [y, weights];
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}

/**
 * One mask in `scaledDotProductAttention`'s convention (bool true = attend,
 * float added) from PyTorch's key-padding and attention masks (bool true =
 * masked out, float added).
 */
function combineMasks(kpm: Tensor | null, am: Tensor | null): Tensor | null {
  if (!kpm && !am) return null;
  const allowed = (m: Tensor) => (m.dtype === "bool" ? m.logicalNot() : m);
  if (!kpm || !am) return allowed((kpm ?? am)!);
  if (kpm.dtype === "bool" && am.dtype === "bool") return kpm.logicalOr(am).logicalNot();
  // Mixed kinds: both as additive float masks (-inf where a bool mask is true).
  const dtype = kpm.dtype === "bool" ? am.dtype : kpm.dtype;
  const additive = (m: Tensor) =>
    m.dtype === "bool" ? zeros(m.shape, { dtype, device: m.device }).maskedFill(m, -Infinity) : m;
  return additive(kpm).add(additive(am));
}
