/**
 * Scaled dot-product attention, PyTorch's `F.scaled_dot_product_attention`:
 * `softmax(q·kᵀ·scale + mask)·v` with boolean or additive masks, a causal
 * mask, dropout on the attention weights and grouped query heads.
 *
 * Two paths with one meaning (see `AttentionArgs` in `backend.ts`):
 * - **composed** ({@link composedAttention}): matmul, mask, softmax, dropout,
 *   matmul from differentiable ops — the reference, the fallback, and what
 *   `MultiheadAttention` uses when it must return the weights;
 * - **fused**: the backend's optional `attentionForward`/`attentionBackward`
 *   (FlashAttention-2: tiles of keys and values, an online softmax, the
 *   backward recomputing the weights from the saved log-sum-exp), so the
 *   `L×S` weights never exist in memory.
 *
 * Both draw dropout from the same counters of the seeded generator, so they
 * drop the same weights.
 *
 * @module
 */

import { noGrad } from "@dendrite/autograd";
import type { AttentionArgs, View } from "../backend.ts";
import { getBackend } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { broadcastShapes, fmtShape, numel, type Shape, shapesEqual } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { commonDevice, empty, record, sumToShape } from "./core.ts";
import { arange, rand } from "./creation.ts";
import { softmax } from "./softmax.ts";
import { traced } from "../trace.ts";

/** Which path {@link scaledDotProductAttention} takes. */
export type AttentionImplementation = "auto" | "fused" | "composed";

/** Options of {@link scaledDotProductAttention}, PyTorch's arguments in camelCase. */
export interface ScaledDotProductAttentionOptions {
  /**
   * A mask broadcastable to the weights `[...batch, L, S]`: bool (true = take
   * part in attention) or floating (added to the scores). Default none.
   */
  attnMask?: Tensor | null;
  /** Probability of dropping each attention weight (default 0). */
  dropoutP?: number;
  /** Mask key `j` out of query `i` when `j > i` (top-left aligned); not together with `attnMask`. */
  isCausal?: boolean;
  /** The factor on `q·kᵀ` (default `1/√E`). */
  scale?: number | null;
  /** Grouped query heads: dim -3 of q holds `H` heads, of k and v `Hk` heads dividing `H` (default false). */
  enableGqa?: boolean;
  /** Where dropout draws from (default: the global generator). */
  generator?: Generator;
  /**
   * "auto" (default): the backend's fused kernel where it has one and the
   * inputs suit it, else the composed ops; "fused": the fused kernel or an
   * error saying why not; "composed": always the composed ops (needed for
   * second-order gradients: the fused backward is not differentiable again).
   */
  implementation?: AttentionImplementation;
}

/** Everything the two paths need, checked once. */
interface Plan {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask: Tensor | null;
  isCausal: boolean;
  scale: number;
  /** The dropout probability as the dtype holds it (so every path compares the same number). */
  dropoutP: number;
  generator: Generator;
  /** Batch dims of the weights and the output (the query heads last under GQA). */
  batch: Shape;
  /** Under GQA, the batch dims of k and of v (their own head counts last); else `batch`. */
  kBatch: Shape;
  vBatch: Shape;
  gqa: boolean;
  L: number;
  S: number;
  E: number;
  Ev: number;
}

const OP = "scaledDotProductAttention";

function shapes(q: Tensor, k: Tensor, v: Tensor): string {
  return `query ${fmtShape(q.shape)}, key ${fmtShape(k.shape)}, value ${fmtShape(v.shape)}`;
}

/** Broadcasts batch shapes, or throws naming every operand's shape. */
function broadcastBatch(what: string, parts: Shape[], q: Tensor, k: Tensor, v: Tensor): Shape {
  try {
    return parts.reduce((a, b) => broadcastShapes(OP, a, b));
  } catch {
    throw new RangeError(`${OP}: the batch dims of ${what} do not broadcast (${shapes(q, k, v)})`);
  }
}

/** Validates the inputs (nothing is computed or drawn before this returns). */
function plan(q: Tensor, k: Tensor, v: Tensor, o: ScaledDotProductAttentionOptions): Plan {
  commonDevice(OP, q, k, v, o.attnMask);
  for (const [name, t] of [["query", q], ["key", k], ["value", v]] as const) {
    if (!isFloating(t.dtype)) throw new TypeError(`${OP}: ${name} must be floating point, got ${t.dtype}`);
    if (t.ndim < 2) {
      throw new RangeError(`${OP}: ${name} must have at least 2 dims [..., len, dim], got ${fmtShape(t.shape)}`);
    }
  }
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new TypeError(`${OP}: query, key and value must share a dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  }
  const L = q.shape[q.ndim - 2], E = q.shape[q.ndim - 1];
  const S = k.shape[k.ndim - 2], Ev = v.shape[v.ndim - 1];
  if (k.shape[k.ndim - 1] !== E) {
    throw new RangeError(`${OP}: query and key must have the same last dim (${shapes(q, k, v)})`);
  }
  if (v.shape[v.ndim - 2] !== S) {
    throw new RangeError(`${OP}: key and value must have the same length (dim -2) (${shapes(q, k, v)})`);
  }
  const gqa = o.enableGqa ?? false;
  let batch: Shape, kBatch: Shape, vBatch: Shape;
  if (gqa) {
    if (q.ndim < 3 || k.ndim < 3 || v.ndim < 3) {
      throw new RangeError(`${OP}: enableGqa needs heads at dim -3 of query, key and value (${shapes(q, k, v)})`);
    }
    const H = q.shape[q.ndim - 3], Hk = k.shape[k.ndim - 3], Hv = v.shape[v.ndim - 3];
    if (H % Hk !== 0 || H % Hv !== 0) {
      throw new RangeError(
        `${OP}: enableGqa needs the key and value head counts (${Hk}, ${Hv}) to divide the query's ${H} (${
          shapes(q, k, v)
        })`,
      );
    }
    const outer = broadcastBatch("query, key and value", [q, k, v].map((t) => t.shape.slice(0, -3)), q, k, v);
    batch = [...outer, H];
    kBatch = [...outer, Hk];
    vBatch = [...outer, Hv];
  } else {
    batch = broadcastBatch("query, key and value", [q, k, v].map((t) => t.shape.slice(0, -2)), q, k, v);
    kBatch = vBatch = batch;
  }
  const mask = o.attnMask ?? null;
  const isCausal = o.isCausal ?? false;
  if (mask) {
    if (isCausal) {
      throw new RangeError(`${OP}: pass either attnMask or isCausal, not both (attnMask ${fmtShape(mask.shape)})`);
    }
    if (mask.dtype !== "bool" && !isFloating(mask.dtype)) {
      throw new TypeError(`${OP}: attnMask must be bool or floating point, got ${mask.dtype}`);
    }
    const weights = [...batch, L, S];
    let ok = mask.ndim <= weights.length;
    if (ok) {
      try {
        ok = shapesEqual(broadcastShapes(OP, mask.shape, weights), weights);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      throw new RangeError(
        `${OP}: attnMask ${fmtShape(mask.shape)} does not broadcast to the attention weights ${fmtShape(weights)} (${
          shapes(q, k, v)
        })`,
      );
    }
  }
  const p = o.dropoutP ?? 0;
  if (!(p >= 0 && p < 1)) throw new RangeError(`${OP}: dropoutP must be in [0, 1), got ${p}`);
  const scale = o.scale ?? 1 / Math.sqrt(E);
  if (!Number.isFinite(scale)) throw new RangeError(`${OP}: scale must be a finite number, got ${scale}`);
  return {
    q,
    k,
    v,
    mask,
    isCausal,
    scale,
    dropoutP: q.dtype === "float32" ? Math.fround(p) : p,
    generator: o.generator ?? defaultGenerator,
    batch,
    kBatch,
    vBatch,
    gqa,
    L,
    S,
    E,
    Ev,
  };
}

/**
 * Scaled dot-product attention of queries `q` `[..., L, E]`, keys `k`
 * `[..., S, E]` and values `v` `[..., S, Ev]` (batch dims broadcast), giving
 * `[..., L, Ev]` — PyTorch's `F.scaled_dot_product_attention` with its
 * semantics: a bool `attnMask` keeps scores where true, a float one is added,
 * `isCausal` masks later keys, dropout drops weights while keeping rows'
 * normalisation, and `enableGqa` shares each key/value head among `H/Hk`
 * query heads. A query row whose every key is masked out gets zeros (as
 * PyTorch ≥ 2.5's safe softmax; older versions gave NaN).
 *
 * Runs the backend's fused kernel where it has one (the CPU: WebAssembly
 * SIMD on every core; WebGPU: WGSL with workgroup memory), so memory grows
 * with `L + S`, not `L·S`; else the composed ops.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { scaledDotProductAttention } from "./attention.ts";
 * const q = randn([2, 4, 16, 8]), k = randn([2, 4, 16, 8]), v = randn([2, 4, 16, 8]);
 * const y = scaledDotProductAttention(q, k, v, { isCausal: true }); // [2, 4, 16, 8]
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  const impl = options.implementation ?? "auto";
  if (impl !== "auto" && impl !== "fused" && impl !== "composed") {
    throw new RangeError(`${OP}: implementation must be "auto", "fused" or "composed", got ${JSON.stringify(impl)}`);
  }
  const p = plan(q, k, v, options);
  if (impl !== "composed") {
    const why = fusedUnsuitable(p);
    if (why === null) return traceAttention(fused(p), p);
    if (impl === "fused") throw new Error(`${OP}: the fused kernel cannot run: ${why}`);
  }
  return traceAttention(composed(p).out, p);
}

/**
 * Reports the attention as one op (after its parts, which it supersedes), so
 * an exporter sees the same op whichever path ran: the fused kernel's output
 * comes from no op it knows.
 */
function traceAttention<T extends Tensor | readonly Tensor[]>(out: T, p: Plan, op = OP): T {
  return traced(out, op, [p.q, p.k, p.v, p.mask], {
    isCausal: p.isCausal,
    scale: p.scale,
    dropoutP: p.dropoutP,
    enableGqa: p.gqa,
  });
}

/** The output and the attention weights (after dropout) of the composed path. */
export interface AttentionResult {
  /** `[...batch, L, Ev]`. */
  out: Tensor;
  /** `[...batch, L, S]`, after dropout (what multiplied the values, as PyTorch's MultiheadAttention returns). */
  weights: Tensor;
}

/**
 * The composed path of {@link scaledDotProductAttention}, returning the
 * attention weights too (what `MultiheadAttention` needs for `needWeights`).
 * Same options, same validation, same dropout draws.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { composedAttention } from "./attention.ts";
 * const { out, weights } = composedAttention(randn([3, 4]), randn([5, 4]), randn([5, 2]));
 * console.log(out.shape, weights.shape); // [3, 2] [3, 5]
 * ```
 */
export function composedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: Omit<ScaledDotProductAttentionOptions, "implementation"> = {},
): AttentionResult {
  const p = plan(q, k, v, options);
  const r = composed(p);
  traceAttention([r.out, r.weights], p, "composedAttention");
  return r;
}

/** The causal mask `[L, S]`: true where key `j ≤` query `i`. */
function causalMask(L: number, S: number, device: string): Tensor {
  return arange(0, L, 1, { dtype: "int32", device }).unsqueeze(1).ge(arange(0, S, 1, { dtype: "int32", device }));
}

function composed(p: Plan): AttentionResult {
  const { q, L, S, scale } = p;
  const H = p.batch.length ? p.batch[p.batch.length - 1] : 1;
  // PyTorch's reference: key/value heads repeat_interleave'd up to the query heads, masks applied with masked_fill.
  const k = p.gqa ? p.k.repeatInterleave(H / p.k.shape[p.k.ndim - 3], -3) : p.k;
  const v = p.gqa ? p.v.repeatInterleave(H / p.v.shape[p.v.ndim - 3], -3) : p.v;
  let s = q.matmul(k.transpose(-2, -1)).mul(scale);
  if (p.isCausal) s = s.maskedFill(causalMask(L, S, q.device).logicalNot(), -Infinity);
  let dead: Tensor | null = null;
  if (p.mask) {
    s = p.mask.dtype === "bool" ? s.maskedFill(p.mask.logicalNot(), -Infinity) : s.add(p.mask.to(q.dtype));
    // Rows with every score -inf: softmax over zeros instead (no NaN in the gradient), then weights 0.
    dead = noGrad(() => s.amax(-1, { keepdim: true }).eq(-Infinity));
    s = s.maskedFill(dead, 0);
  }
  let w = softmax(s, -1);
  if (dead) w = w.maskedFill(dead, 0);
  if (p.dropoutP > 0) {
    const keep = rand([...p.batch, L, S], { generator: p.generator, device: q.device, dtype: q.dtype }).ge(p.dropoutP);
    w = w.mul(keep.to(q.dtype)).mul(1 / (1 - p.dropoutP));
  }
  return { out: w.matmul(v), weights: w };
}

/** Why the fused kernel cannot serve this call, or null when it can. */
function fusedUnsuitable(p: Plan): string | null {
  const backend = getBackend(p.q.device);
  if (!backend.attentionForward || !backend.attentionBackward) {
    return `the "${p.q.device}" backend has no attentionForward/attentionBackward kernel`;
  }
  if (p.mask && p.mask.dtype !== "bool" && p.mask.requiresGrad) return "a floating attnMask that requires grad";
  if (p.gqa && p.k.shape[p.k.ndim - 3] !== p.v.shape[p.v.ndim - 3]) return "key and value head counts differ";
  if (p.L === 0 || p.S === 0 || p.E === 0 || p.Ev === 0 || numel(p.batch) === 0) return "an empty dimension";
  return null;
}

function viewOf(t: Tensor): View {
  return { storage: t.storage, shape: t.shape, strides: t.strides, offset: t.offset };
}

/** `t` broadcast to `[...batch, rows, cols]` and merged to `[B, H, rows, cols]`, last stride 1 (no graph). */
function as4d(t: Tensor, batch: Shape, rows: number, cols: number, lastStride1: boolean): Tensor {
  const H = batch.length ? batch[batch.length - 1] : 1;
  const B = batch.length > 1 ? numel(batch.slice(0, -1)) : 1;
  let r = t.expand([...batch, rows, cols]).reshape([B, H, rows, cols]);
  if (lastStride1 && r.strides[3] !== 1 && cols > 1) r = r.contiguous();
  return r;
}

function fused(p: Plan): Tensor {
  const { q, k, v, L, S, E, Ev } = p;
  const backend = getBackend(q.device);
  const batch = p.batch;
  const H = batch.length ? batch[batch.length - 1] : 1;
  const B = batch.length > 1 ? numel(batch.slice(0, -1)) : 1;
  const Hk = p.gqa ? p.kBatch[p.kBatch.length - 1] : H;
  const { q4, k4, v4, m4 } = noGrad(() => ({
    q4: as4d(q, batch, L, E, true),
    k4: as4d(k, p.kBatch, S, E, true),
    v4: as4d(v, p.vBatch, S, Ev, true),
    m4: p.mask ? as4d(p.mask.dtype === "bool" ? p.mask : p.mask.to(q.dtype), batch, L, S, false) : null,
  }));
  const offset = p.dropoutP > 0 ? p.generator.reserve(B * H * L * S) : 0;
  const args: AttentionArgs = {
    q: viewOf(q4),
    k: viewOf(k4),
    v: viewOf(v4),
    mask: m4 ? viewOf(m4) : null,
    isCausal: p.isCausal,
    scale: p.scale,
    dropoutP: p.dropoutP,
    seed: p.generator.seed,
    offset,
  };
  const out4 = empty([B, H, L, Ev], q.dtype, q.device);
  const lse = empty([B, H, L], q.dtype, q.device);
  backend.attentionForward!(args, out4.storage, lse.storage);
  const out = out4.reshape([...batch, L, Ev]);
  record(out, "ScaledDotProductAttentionBackward", [q, k, v], (g) => {
    let g4 = g.reshape([B, H, L, Ev]);
    if (g4.strides[3] !== 1 && Ev > 1) g4 = g4.contiguous();
    const gq = empty([B, H, L, E], q.dtype, q.device);
    const gk = empty([B, Hk, S, E], q.dtype, q.device);
    const gv = empty([B, Hk, S, Ev], q.dtype, q.device);
    getBackend(q.device).attentionBackward!(
      args,
      viewOf(out4),
      viewOf(lse),
      viewOf(g4),
      gq.storage,
      gk.storage,
      gv.storage,
    );
    return [
      sumToShape(gq.reshape([...batch, L, E]), q.shape),
      sumToShape(gk.reshape([...p.kBatch, S, E]), k.shape),
      sumToShape(gv.reshape([...p.vBatch, S, Ev]), v.shape),
    ];
  }, [q4, k4, v4, m4, out4, lse]);
  if (!out.gradFn) lse.dispose();
  return out;
}
