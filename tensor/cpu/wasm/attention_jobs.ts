/**
 * The fused attention's loops, FlashAttention-2 style, as chunks of threaded
 * jobs (run alike by the calling thread and the GEMM workers; the kernels are
 * `attention_kernel.ts`'s, the TypeScript reference is `../attention.ts`):
 *
 * - forward, one chunk per (batch, head, block of {@link BR} queries): for each
 *   tile of {@link BC} keys, `S = Q·Kᵀ`, scale and masks, the online softmax
 *   (rescaling the output accumulator when a row's maximum moves), dropout,
 *   `O += P·V`; finally `O / l` and `lse = m + log l`. Nothing `L×S` is kept;
 * - backward, one chunk per (batch, key/value head): for each key tile, every
 *   query block of the heads that share it recomputes `P = exp(S - lse)` and
 *   accumulates `dV += Pᵀ·dO`, `dS = P∘(dP - D)` with `dP = dO·Vᵀ` and
 *   `D = rowsum(dO∘O)`, `dK += dSᵀ·Q·scale`, `dQ += dS·K·scale` (dQ for the
 *   whole sequence in the chunk's scratch, so no two threads write one value).
 *
 * Tiles are copied into per-thread scratch padded to the kernels' multiples
 * (rows of 4, columns of 8); padded rows and columns never reach an output.
 * The job's description lives in the heap ({@link ATTN_FIELDS}), its address
 * the job's one argument word.
 *
 * @module
 */

import { MM_COLS, MM_ROWS } from "./attention_kernel.ts";

/** Query rows per block. */
export const BR = 64;
/** Keys per tile. */
export const BC = 64;

/** The attention kernels' exports (see `attention_kernel.ts`). */
export interface AttentionExports {
  readonly attn_mm: (...args: number[]) => void;
  readonly attn_fix: (...args: number[]) => void;
  readonly attn_online: (...args: number[]) => void;
  readonly attn_dropout: (...args: number[]) => void;
  readonly attn_bwd_p: (...args: number[]) => void;
  readonly attn_bwd_ds: (...args: number[]) => void;
  readonly attn_copy: (...args: number[]) => void;
  readonly attn_copy_t: (...args: number[]) => void;
  readonly attn_scale_rows: (...args: number[]) => void;
  readonly attn_rowdot: (...args: number[]) => void;
}

/**
 * The words of an attention job, in order: sizes; element strides and byte
 * addresses of every operand (`*b`, `*h`, `*r` the batch, head and row
 * strides; `mc` the mask's column stride); `scale`, `keepScale` as float32
 * bits; the dropout draw (`seedh = pcg(seed)`, the first counter as `offLo`,
 * `offHi`); each thread's scratch. `serial` tells jobs apart (a thread decodes
 * a job once, not once per chunk).
 */
export const ATTN_FIELDS = [
  "serial",
  "B",
  "H",
  "Hk",
  "L",
  "S",
  "E",
  "Ev",
  "q",
  "qb",
  "qh",
  "qr",
  "k",
  "kb",
  "kh",
  "kr",
  "v",
  "vb",
  "vh",
  "vr",
  "mkind",
  "m",
  "mb",
  "mh",
  "mr",
  "mc",
  "causal",
  "scale",
  "dropout",
  "threshold",
  "keepScale",
  "seedh",
  "offLo",
  "offHi",
  "scratch",
  "scratchBytes",
  "out",
  "lse",
  "o",
  "ob",
  "oh",
  "or",
  "l",
  "lb",
  "lh",
  "lr",
  "g",
  "gb",
  "gh",
  "gr",
  "gq",
  "gk",
  "gv",
] as const;

/** One attention job's words by name (`scale` and `keepScale` decoded to numbers). */
export type AttentionJob = Record<(typeof ATTN_FIELDS)[number], number>;

const FLOAT_FIELDS = new Set(["scale", "keepScale"]);

/** Writes a job's words at byte address `at` of the heap `h` (needs {@link ATTN_FIELDS}`.length` words). */
export function encodeAttentionJob(h: Float32Array, at: number, j: AttentionJob): void {
  const w = new Int32Array(h.buffer, at, ATTN_FIELDS.length), f = new Float32Array(h.buffer, at, ATTN_FIELDS.length);
  ATTN_FIELDS.forEach((name, i) => {
    if (FLOAT_FIELDS.has(name)) f[i] = j[name];
    else w[i] = j[name];
  });
}

/** The last job this thread decoded (a job's chunks all read the same description). */
let decoded: AttentionJob | null = null;
let decodedAt = -1;

function decodeAttentionJob(h: Float32Array, at: number): AttentionJob {
  const w = new Int32Array(h.buffer, at, ATTN_FIELDS.length);
  if (decoded && decodedAt === at && decoded.serial === w[0]) return decoded;
  const f = new Float32Array(h.buffer, at, ATTN_FIELDS.length);
  const j = {} as AttentionJob;
  ATTN_FIELDS.forEach((name, i) => (j[name] = FLOAT_FIELDS.has(name) ? f[i] : w[i]));
  decoded = j;
  decodedAt = at;
  return j;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Head dims padded to the kernels' column multiple. */
export function paddedDims(E: number, Ev: number): { Ep: number; Evp: number } {
  return { Ep: roundUp(E, MM_COLS), Evp: roundUp(Ev, MM_COLS) };
}

/** Float32 scratch per thread of the forward job. */
export function forwardScratchFloats(E: number, Ev: number): number {
  const { Ep, Evp } = paddedDims(E, Ev);
  return BR * Ep + Ep * BC + BC * Evp + BR * BC + BR * Evp + 2 * BR;
}

/** Float32 scratch per thread of the backward job (dQ and D for a whole sequence of every head of a group). */
export function backwardScratchFloats(H: number, Hk: number, L: number, E: number, Ev: number): number {
  const { Ep, Evp } = paddedDims(E, Ev);
  const g = H / Hk, Lp = roundUp(L, BR);
  return g * Lp * (Ep + 1) + BC * Ep * 3 + Evp * BC + BC * Evp + BR * Ep + BR * Evp + 3 * BR * BC + 2 * BR;
}

/** Forward chunks of a job: (batch, head, query block). */
export function forwardChunks(j: { B: number; H: number; L: number }): number {
  return j.B * j.H * Math.ceil(j.L / BR);
}

/** The dropout counter of (b, h, row i, key j) split into the i32 words the kernel takes. */
function counter(j: AttentionJob, b: number, h: number, i: number, c: number): [number, number] {
  const n = (j.offHi >>> 0) * 4294967296 + (j.offLo >>> 0) + ((b * j.H + h) * j.L + i) * j.S + c;
  const hi = Math.floor(n / 4294967296);
  return [(n - hi * 4294967296) | 0, hi | 0];
}

/** Byte address of row `r` of (b, h) of an operand with base `at` and element strides. */
function rowAt(at: number, sb: number, sh: number, sr: number, b: number, h: number, r: number): number {
  return at + (b * sb + h * sh + r * sr) * 4;
}

/** Byte address of the mask at (b, h, i, c) (bytes for a bool mask, float32 otherwise). */
function maskAt(j: AttentionJob, b: number, h: number, i: number, c: number): number {
  const e = b * j.mb + h * j.mh + i * j.mr + c * j.mc;
  return j.mkind === 1 ? j.m + e : j.m + e * 4;
}

/** Runs chunk `u` of the forward job described at `desc` on thread `t`. */
export function attentionForwardChunk(
  x: AttentionExports,
  heap: () => Float32Array,
  desc: number,
  t: number,
  u: number,
) {
  const j = decodeAttentionJob(heap(), desc);
  const { H, Hk, L, S, E, Ev } = j;
  const { Ep, Evp } = paddedDims(E, Ev);
  const blocks = Math.ceil(L / BR);
  const bh = Math.floor(u / blocks), b = Math.floor(bh / H), h = bh % H, kh = Math.floor((h * Hk) / H);
  const i0 = (u % blocks) * BR, rows = Math.min(BR, L - i0), rp = roundUp(rows, MM_ROWS);
  const qs = j.scratch + t * j.scratchBytes, kt = qs + BR * Ep * 4, vs = kt + Ep * BC * 4;
  const sb = vs + BC * Evp * 4, ob = sb + BR * BC * 4, ml = ob + BR * Evp * 4;
  x.attn_copy(qs, Ep, rowAt(j.q, j.qb, j.qh, j.qr, b, h, i0), j.qr, rows, E, Ep, rp);
  x.attn_copy(ob, Evp, 0, 0, 0, 0, Evp, rp);
  let hp = heap();
  for (let r = 0; r < rows; r++) {
    hp[ml / 4 + 2 * r] = -Infinity;
    hp[ml / 4 + 2 * r + 1] = 0;
  }
  const end = j.causal ? Math.min(S, i0 + rows) : S;
  for (let j0 = 0; j0 < end; j0 += BC) {
    const nc = Math.min(BC, end - j0), cp = roundUp(nc, MM_COLS);
    x.attn_copy_t(kt, BC, rowAt(j.k, j.kb, j.kh, j.kr, b, kh, j0), j.kr, nc, E);
    x.attn_mm(rp, cp, E, qs, Ep, 1, kt, BC, sb, BC, 0, 1);
    x.attn_fix(
      sb,
      BC,
      rows,
      cp,
      nc,
      i0,
      j0,
      j.causal,
      j.mkind,
      j.mkind ? maskAt(j, b, h, i0, j0) : 0,
      j.mr,
      j.mc,
      j.scale,
    );
    x.attn_online(sb, BC, rows, cp, ml, ob, Evp, Evp / 4);
    if (j.dropout) {
      const [lo, hi] = counter(j, b, h, i0, j0);
      x.attn_dropout(sb, sb, BC, rows, cp, j.seedh, lo, hi, S, j.threshold, j.keepScale);
    }
    x.attn_copy(vs, Evp, rowAt(j.v, j.vb, j.vh, j.vr, b, kh, j0), j.vr, nc, Ev, Evp, nc);
    x.attn_mm(rp, Evp, nc, sb, BC, 1, vs, Evp, ob, Evp, 1, 1);
  }
  x.attn_scale_rows(j.out + ((b * H + h) * L + i0) * Ev * 4, Ev, ob, Evp, rows, Ev, ml);
  hp = heap();
  const lseAt = j.lse / 4 + (b * H + h) * L + i0;
  for (let r = 0; r < rows; r++) {
    const m = hp[ml / 4 + 2 * r], l = hp[ml / 4 + 2 * r + 1];
    hp[lseAt + r] = l > 0 ? m + Math.log(l) : -Infinity;
  }
}

/** Runs chunk `u` (batch `⌊u/Hk⌋`, key/value head `u mod Hk`) of the backward job at `desc` on thread `t`. */
export function attentionBackwardChunk(
  x: AttentionExports,
  heap: () => Float32Array,
  desc: number,
  t: number,
  u: number,
) {
  const j = decodeAttentionJob(heap(), desc);
  const { H, Hk, L, S, E, Ev } = j;
  const { Ep, Evp } = paddedDims(E, Ev);
  const b = Math.floor(u / Hk), kh = u % Hk, g = H / Hk, h0 = kh * g;
  const blocks = Math.ceil(L / BR), Lp = blocks * BR;
  // Scratch: dQ [g, Lp, Ep], D [g, Lp], K [BC, Ep], Kᵀ [Ep, BC], Vᵀ [Evp, BC], dK [BC, Ep], dV [BC, Evp],
  // Q [BR, Ep], dO [BR, Evp], S/P, P̃, dP/dS [BR, BC] each, lse and D of a block [BR] each.
  const dq = j.scratch + t * j.scratchBytes, dd = dq + g * Lp * Ep * 4, ks = dd + g * Lp * 4;
  const kt = ks + BC * Ep * 4, vt = kt + Ep * BC * 4, dk = vt + Evp * BC * 4, dv = dk + BC * Ep * 4;
  const qs = dv + BC * Evp * 4, dos = qs + BR * Ep * 4, sb = dos + BR * Evp * 4, pd = sb + BR * BC * 4;
  const dp = pd + BR * BC * 4, lb = dp + BR * BC * 4, db = lb + BR * 4;
  for (let hi = 0; hi < g; hi++) {
    const go = rowAt(j.g, j.gb, j.gh, j.gr, b, h0 + hi, 0), o = rowAt(j.o, j.ob, j.oh, j.or, b, h0 + hi, 0);
    x.attn_rowdot(go, j.gr, o, j.or, L, Ev, dd + hi * Lp * 4);
  }
  let hp: Float32Array;
  x.attn_copy(dq, Ep, 0, 0, 0, 0, Ep, g * Lp);
  for (let j0 = 0; j0 < S; j0 += BC) {
    const nc = Math.min(BC, S - j0), cp = roundUp(nc, MM_COLS);
    const kAt = rowAt(j.k, j.kb, j.kh, j.kr, b, kh, j0);
    x.attn_copy(ks, Ep, kAt, j.kr, nc, E, Ep, cp);
    x.attn_copy_t(kt, BC, kAt, j.kr, nc, E);
    x.attn_copy_t(vt, BC, rowAt(j.v, j.vb, j.vh, j.vr, b, kh, j0), j.vr, nc, Ev);
    x.attn_copy(dk, Ep, 0, 0, 0, 0, Ep, cp);
    x.attn_copy(dv, Evp, 0, 0, 0, 0, Evp, cp);
    for (let hi = 0; hi < g; hi++) {
      const h = h0 + hi;
      for (let i0 = 0; i0 < L; i0 += BR) {
        const rows = Math.min(BR, L - i0), rp = roundUp(rows, MM_ROWS);
        if (j.causal && i0 + rows - 1 < j0) continue; // every key of the tile is after every query of the block
        x.attn_copy(qs, Ep, rowAt(j.q, j.qb, j.qh, j.qr, b, h, i0), j.qr, rows, E, Ep, rp);
        x.attn_copy(dos, Evp, rowAt(j.g, j.gb, j.gh, j.gr, b, h, i0), j.gr, rows, Ev, Evp, rp);
        hp = heap();
        const l0 = rowAt(j.l, j.lb, j.lh, j.lr, b, h, i0) / 4;
        for (let r = 0; r < rows; r++) {
          hp[lb / 4 + r] = hp[l0 + r * j.lr];
          hp[db / 4 + r] = hp[dd / 4 + hi * Lp + i0 + r];
        }
        x.attn_mm(rp, cp, E, qs, Ep, 1, kt, BC, sb, BC, 0, 1);
        const mAt = j.mkind ? maskAt(j, b, h, i0, j0) : 0;
        x.attn_fix(sb, BC, rows, cp, nc, i0, j0, j.causal, j.mkind, mAt, j.mr, j.mc, j.scale);
        x.attn_bwd_p(sb, BC, rows, cp, lb);
        let pTilde = sb;
        const [lo, hiWord] = j.dropout ? counter(j, b, h, i0, j0) : [0, 0];
        if (j.dropout) {
          x.attn_dropout(sb, pd, BC, rows, cp, j.seedh, lo, hiWord, S, j.threshold, j.keepScale);
          pTilde = pd;
        }
        x.attn_mm(cp, Evp, rows, pTilde, 1, BC, dos, Evp, dv, Evp, 1, 1);
        x.attn_mm(rp, cp, Ev, dos, Evp, 1, vt, BC, dp, BC, 0, 1);
        if (j.dropout) x.attn_dropout(dp, dp, BC, rows, cp, j.seedh, lo, hiWord, S, j.threshold, j.keepScale);
        x.attn_bwd_ds(sb, dp, BC, rows, cp, db);
        x.attn_mm(rp, Ep, nc, dp, BC, 1, ks, Ep, dq + (hi * Lp + i0) * Ep * 4, Ep, 1, j.scale);
        x.attn_mm(cp, Ep, rows, dp, 1, BC, qs, Ep, dk, Ep, 1, j.scale);
      }
    }
    x.attn_copy(j.gk + ((b * Hk + kh) * S + j0) * E * 4, E, dk, Ep, nc, E, E, nc);
    x.attn_copy(j.gv + ((b * Hk + kh) * S + j0) * Ev * 4, Ev, dv, Evp, nc, Ev, Ev, nc);
  }
  for (let hi = 0; hi < g; hi++) {
    x.attn_copy(j.gq + (b * H + h0 + hi) * L * E * 4, E, dq + hi * Lp * Ep * 4, Ep, L, E, E, L);
  }
}
