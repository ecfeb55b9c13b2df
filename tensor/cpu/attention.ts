/**
 * The CPU backend's fused attention in TypeScript (the reference for the
 * WebAssembly kernels of `attention_wasm.ts`, and what runs for float64 or
 * with `setCpuKernels("ts")`): the FlashAttention recurrence one query row at
 * a time. Keys are visited in tiles of {@link TILE}; each tile's scores live
 * in a `TILE`-long buffer, the running maximum `m` and normaliser `l` rescale
 * the output accumulator when the maximum moves, and only `lse = m + log l`
 * is kept per row. The backward recomputes every weight from `lse`. Arithmetic
 * is float64, rounded on store.
 *
 * @module
 */

import type { AttentionArgs, Storage, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { randomBits } from "../random.ts";

/** The typed array of a CPU storage (passed in so this file does not import the backend). */
export type DataOf = (s: Storage) => TypedArray;

/** Keys per tile of the online softmax. */
export const TILE = 64;

/** `[B, H, Hk, L, S, E, Ev]` of the arguments. */
export function attentionDims(a: AttentionArgs): [number, number, number, number, number, number, number] {
  const [B, H, L, E] = a.q.shape;
  return [B, H, a.k.shape[1], L, a.k.shape[2], E, a.v.shape[3]];
}

/** The smallest 24-bit draw `u·2²⁴` that keeps a weight: `u ≥ p ⟺ ⌊bits/2⁸⌋ ≥ ⌈p·2²⁴⌉`. */
export function dropoutThreshold(p: number): number {
  return Math.ceil(p * 16777216);
}

/** Reads element `(b, h, r, c)` positions of a 4-D view. */
function base(v: View, b: number, h: number, r: number): number {
  return v.offset + b * v.strides[0] + h * v.strides[1] + r * v.strides[2];
}

/** Per-row context shared by the forward and backward passes: the mask, causality, dropout. */
class RowScores {
  readonly #a: AttentionArgs;
  readonly #q: TypedArray;
  readonly #k: TypedArray;
  readonly #mask: TypedArray | null;
  readonly #boolMask: boolean;
  readonly #threshold: number;
  readonly #H: number;
  readonly #L: number;
  readonly #S: number;
  readonly #E: number;

  constructor(data: DataOf, a: AttentionArgs) {
    this.#a = a;
    this.#q = data(a.q.storage);
    this.#k = data(a.k.storage);
    this.#mask = a.mask ? data(a.mask.storage) : null;
    this.#boolMask = this.#mask instanceof Uint8Array;
    this.#threshold = dropoutThreshold(a.dropoutP);
    const [, H, , L, S, E] = attentionDims(a);
    this.#H = H;
    this.#L = L;
    this.#S = S;
    this.#E = E;
  }

  /** Scores of query row (b, h, i) against keys `[j0, j0 + n)` of key head `kh` into `s` (-inf where masked). */
  scores(b: number, h: number, kh: number, i: number, j0: number, n: number, s: Float64Array): void {
    const a = this.#a, q = this.#q, k = this.#k, E = this.#E;
    const qb = base(a.q, b, h, i);
    for (let t = 0; t < n; t++) {
      const j = j0 + t;
      if (a.isCausal && j > i) {
        s[t] = -Infinity;
        continue;
      }
      const kb = base(a.k, b, kh, j);
      let dot = 0;
      for (let e = 0; e < E; e++) dot += q[qb + e] * k[kb + e];
      let x = a.scale * dot;
      if (this.#mask) {
        const m = this.#mask[base(a.mask!, b, h, i) + j * a.mask!.strides[3]];
        if (this.#boolMask) x = m ? x : -Infinity;
        else x += m;
      }
      s[t] = x;
    }
  }

  /** The dropout multiplier of weight (b, h, i, j): 0 if dropped, `1/(1-p)` if kept, 1 without dropout. */
  keep(b: number, h: number, i: number, j: number): number {
    const a = this.#a;
    if (a.dropoutP === 0) return 1;
    const counter = a.offset + ((b * this.#H + h) * this.#L + i) * this.#S + j;
    return (randomBits(a.seed, counter) >>> 8) >= this.#threshold ? 1 / (1 - a.dropoutP) : 0;
  }
}

/** See `Backend.attentionForward`. */
export function attentionForward(data: DataOf, a: AttentionArgs, out: Storage, lse: Storage): void {
  const [B, H, Hk, L, S, _E, Ev] = attentionDims(a);
  const v = data(a.v.storage), o = data(out), ls = data(lse);
  const rows = new RowScores(data, a);
  const s = new Float64Array(TILE), acc = new Float64Array(Ev);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor((h * Hk) / H);
      for (let i = 0; i < L; i++) {
        let m = -Infinity, l = 0;
        acc.fill(0);
        const end = a.isCausal ? Math.min(S, i + 1) : S;
        for (let j0 = 0; j0 < end; j0 += TILE) {
          const n = Math.min(TILE, end - j0);
          rows.scores(b, h, kh, i, j0, n, s);
          let tileMax = -Infinity;
          for (let t = 0; t < n; t++) if (s[t] > tileMax) tileMax = s[t];
          if (tileMax === -Infinity) continue;
          const mNew = Math.max(m, tileMax);
          // Rescale what was summed under the old maximum (exp(-inf) = 0 on the first tile).
          const alpha = Math.exp(m - mNew);
          l *= alpha;
          for (let e = 0; e < Ev; e++) acc[e] *= alpha;
          for (let t = 0; t < n; t++) {
            const p = Math.exp(s[t] - mNew);
            l += p;
            const pd = p * rows.keep(b, h, i, j0 + t);
            if (pd === 0) continue;
            const vb = base(a.v, b, kh, j0 + t);
            for (let e = 0; e < Ev; e++) acc[e] += pd * v[vb + e];
          }
          m = mNew;
        }
        const ob = ((b * H + h) * L + i) * Ev;
        const inv = l > 0 ? 1 / l : 0;
        for (let e = 0; e < Ev; e++) o[ob + e] = acc[e] * inv;
        ls[(b * H + h) * L + i] = l > 0 ? m + Math.log(l) : -Infinity;
      }
    }
  }
}

/** See `Backend.attentionBackward`. */
export function attentionBackward(
  data: DataOf,
  a: AttentionArgs,
  out: View,
  lse: View,
  gradOut: View,
  gradQ: Storage,
  gradK: Storage,
  gradV: Storage,
): void {
  const [B, H, Hk, L, S, E, Ev] = attentionDims(a);
  const q = data(a.q.storage), k = data(a.k.storage), v = data(a.v.storage);
  const od = data(out.storage), ld = data(lse.storage), gd = data(gradOut.storage);
  const gq = data(gradQ), gk = data(gradK), gv = data(gradV);
  gq.fill(0);
  gk.fill(0);
  gv.fill(0);
  const rows = new RowScores(data, a);
  const s = new Float64Array(TILE), dq = new Float64Array(E);
  const lseAt = (b: number, h: number, i: number) =>
    ld[lse.offset + b * lse.strides[0] + h * lse.strides[1] + i * lse.strides[2]];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor((h * Hk) / H);
      for (let i = 0; i < L; i++) {
        const rowLse = lseAt(b, h, i);
        if (rowLse === -Infinity) continue; // every key masked: weights 0, gradients 0
        const gb = base(gradOut, b, h, i), ob = base(out, b, h, i), qb = base(a.q, b, h, i);
        // D = Σ_e dO·O = Σ_j P̃_ij·(dO·v_j): the row term of the softmax gradient.
        let D = 0;
        for (let e = 0; e < Ev; e++) D += gd[gb + e] * od[ob + e];
        dq.fill(0);
        const end = a.isCausal ? Math.min(S, i + 1) : S;
        for (let j0 = 0; j0 < end; j0 += TILE) {
          const n = Math.min(TILE, end - j0);
          rows.scores(b, h, kh, i, j0, n, s);
          for (let t = 0; t < n; t++) {
            if (s[t] === -Infinity) continue;
            const j = j0 + t;
            const p = Math.exp(s[t] - rowLse);
            const keep = rows.keep(b, h, i, j);
            const vb = base(a.v, b, kh, j), kb = base(a.k, b, kh, j);
            const gvb = ((b * Hk + kh) * S + j) * Ev, gkb = ((b * Hk + kh) * S + j) * E;
            let dp = 0;
            for (let e = 0; e < Ev; e++) {
              gv[gvb + e] += p * keep * gd[gb + e];
              dp += gd[gb + e] * v[vb + e];
            }
            const ds = p * (dp * keep - D) * a.scale;
            if (ds === 0) continue;
            for (let e = 0; e < E; e++) {
              dq[e] += ds * k[kb + e];
              gk[gkb + e] += ds * q[qb + e];
            }
          }
        }
        const qo = ((b * H + h) * L + i) * E;
        for (let e = 0; e < E; e++) gq[qo + e] = dq[e];
      }
    }
  }
}
