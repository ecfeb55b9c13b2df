/**
 * Conformance of the optional fused attention kernels (`attentionForward`,
 * `attentionBackward`), part of `backend_conformance.ts`'s suite: random
 * head-interleaved queries, keys and values (last stride 1, the rest strided
 * and offset), every mask kind (none, bool broadcast from `[L, S]`, bool key
 * padding `[B, 1, 1, S]`, float `[B, H, L, S]` with `-inf` and fully masked
 * rows), causal, grouped query heads and dropout, compared with a direct
 * float64 computation written here: whole rows of scores, an ordinary softmax,
 * the weights' gradient `P∘(dP - Σ P·dP)`.
 *
 * @module
 */

import type { AttentionArgs, Backend, View } from "./backend.ts";
import { allocArray, type DType } from "./dtype.ts";
import { assertAllClose, castTo, readAll, type Rng, type Tolerance } from "./backend_conformance.ts";

/** Uploads `[B, H, R, C]` values stored as `[B, R, H, C]` (heads interleaved, padded, at an offset); returns the view. */
function interleaved(
  backend: Backend,
  rng: Rng,
  dtype: DType,
  shape: readonly number[],
  lo: number,
  hi: number,
): { view: View; values: number[] } {
  const [B, H, R, C] = shape;
  const pad = rng.int(0, 3), offset = rng.int(0, 4);
  const sC = 1, sH = C + pad, sR = H * sH, sB = R * sR + rng.int(0, 3);
  const data = allocArray(dtype, offset + B * sB + 4);
  const values: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let r = 0; r < R; r++) {
        for (let c = 0; c < C; c++) {
          const x = castTo(dtype, rng.uniform(lo, hi));
          data[offset + b * sB + h * sH + r * sR + c * sC] = x;
          values.push(x);
        }
      }
    }
  }
  return { view: { storage: backend.upload(data), shape: [B, H, R, C], strides: [sB, sH, sR, sC], offset }, values };
}

// The dropout draw as `tensor/random.ts` documents it, written again from the description.
function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

function uniform(seed: number, counter: number): number {
  const lo = counter % 4294967296, hi = Math.floor(counter / 4294967296);
  return (pcg((pcg((pcg(seed) ^ hi) >>> 0) + lo) >>> 0) >>> 8) / 16777216;
}

type MaskKind = "none" | "bool [L, S]" | "bool [B, 1, 1, S]" | "float [B, H, L, S]";

/** A mask view `[B, H, L, S]` and its logical values (broadcast views read with stride 0). */
function makeMask(
  backend: Backend,
  rng: Rng,
  dtype: DType,
  kind: MaskKind,
  [B, H, L, S]: number[],
): { view: View; at: (b: number, h: number, i: number, j: number) => number } | null {
  if (kind === "none") return null;
  if (kind === "bool [L, S]") {
    const m = Array.from({ length: L * S }, () => (rng.next() < 0.7 ? 1 : 0));
    m.fill(0, 0, S); // query row 0 attends nothing
    const view = { storage: backend.upload(Uint8Array.from(m)), shape: [B, H, L, S], strides: [0, 0, S, 1], offset: 0 };
    return { view, at: (_b, _h, i, j) => m[i * S + j] };
  }
  if (kind === "bool [B, 1, 1, S]") {
    const m = Array.from({ length: B * S }, (_, x) => ((x % S) < S - 1 - (x / S | 0) ? 1 : 0));
    const view = { storage: backend.upload(Uint8Array.from(m)), shape: [B, H, L, S], strides: [S, 0, 0, 1], offset: 0 };
    return { view, at: (b, _h, _i, j) => m[b * S + j] };
  }
  const n = B * H * L * S;
  const host = allocArray(dtype, n + 2);
  for (let x = 0; x < n; x++) host[x + 2] = rng.next() < 0.15 ? -Infinity : castTo(dtype, rng.uniform(-2, 2));
  if (B > 1 && L > 1) { for (let j = 0; j < S; j++) host[2 + ((1 * H + 0) * L + 1) * S + j] = -Infinity; // a fully masked row
   }
  const view = { storage: backend.upload(host), shape: [B, H, L, S], strides: [H * L * S, L * S, S, 1], offset: 2 };
  return { view, at: (b, h, i, j) => host[2 + ((b * H + h) * L + i) * S + j] };
}

/** Registers the attention cases with `test` (skipped when the backend lacks either kernel). */
export function attentionTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
  fTol: (dtype: DType) => Tolerance,
): void {
  const fwd = backend.attentionForward?.bind(backend), bwd = backend.attentionBackward?.bind(backend);
  if (!fwd || !bwd) return;
  const cases: { dims: number[]; mask: MaskKind; causal: boolean; p: number }[] = [
    { dims: [2, 2, 2, 5, 7, 4, 3], mask: "none", causal: false, p: 0 },
    { dims: [2, 2, 2, 6, 6, 8, 8], mask: "bool [L, S]", causal: false, p: 0 },
    { dims: [2, 4, 2, 5, 9, 4, 6], mask: "bool [B, 1, 1, S]", causal: false, p: 0.2 },
    { dims: [2, 2, 1, 4, 5, 3, 2], mask: "float [B, H, L, S]", causal: false, p: 0 },
    { dims: [1, 2, 2, 70, 70, 16, 16], mask: "none", causal: true, p: 0 },
    { dims: [1, 2, 1, 9, 4, 5, 7], mask: "none", causal: true, p: 0.3 },
    { dims: [1, 1, 1, 3, 150, 33, 65], mask: "float [B, H, L, S]", causal: false, p: 0.5 },
    { dims: [1, 1, 1, 130, 66, 64, 64], mask: "bool [L, S]", causal: false, p: 0.1 },
  ];
  test("attentionForward/Backward (optional): masks, causal, grouped heads, dropout, strided heads", async (rng) => {
    for (const dtype of floats) {
      for (const c of cases) {
        const [B, H, Hk, L, S, E, Ev] = c.dims;
        const q = interleaved(backend, rng, dtype, [B, H, L, E], -1, 1);
        const k = interleaved(backend, rng, dtype, [B, Hk, S, E], -1, 1);
        const v = interleaved(backend, rng, dtype, [B, Hk, S, Ev], -1, 1);
        const go = interleaved(backend, rng, dtype, [B, H, L, Ev], -1, 1);
        const mask = makeMask(backend, rng, dtype, c.mask, [B, H, L, S]);
        const scale = 1 / Math.sqrt(E) * 1.3, seed = 77, offset = 2 ** 32 - 5000; // dropout counters cross 2^32
        const p = castTo(dtype, c.p);
        const args: AttentionArgs = {
          q: q.view,
          k: k.view,
          v: v.view,
          mask: mask?.view ?? null,
          isCausal: c.causal,
          scale,
          dropoutP: p,
          seed,
          offset,
        };
        const out = backend.alloc(dtype, B * H * L * Ev), lse = backend.alloc(dtype, B * H * L);
        fwd(args, out, lse);
        const gq = backend.alloc(dtype, B * H * L * E);
        const gk = backend.alloc(dtype, B * Hk * S * E), gv = backend.alloc(dtype, B * Hk * S * Ev);
        const view = (s: typeof out, shape: number[]): View => ({
          storage: s,
          shape,
          strides: [shape[1] * shape[2] * (shape[3] ?? 1), shape[2] * (shape[3] ?? 1), shape[3] ?? 1, 1].slice(
            0,
            shape.length,
          ),
          offset: 0,
        });
        bwd(args, view(out, [B, H, L, Ev]), view(lse, [B, H, L]), go.view, gq, gk, gv);

        const eOut = new Array<number>(B * H * L * Ev).fill(0), eLse: number[] = [];
        const eGq = new Array<number>(B * H * L * E).fill(0);
        const eGk = new Array<number>(B * Hk * S * E).fill(0), eGv = new Array<number>(B * Hk * S * Ev).fill(0);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const kh = Math.floor(h / (H / Hk));
            for (let i = 0; i < L; i++) {
              const qi = ((b * H + h) * L + i) * E, oi = ((b * H + h) * L + i) * Ev;
              const s: number[] = [];
              for (let j = 0; j < S; j++) {
                let dot = 0;
                for (let e = 0; e < E; e++) dot += q.values[qi + e] * k.values[((b * Hk + kh) * S + j) * E + e];
                let x = scale * dot;
                if (c.causal && j > i) x = -Infinity;
                if (mask) {
                  const m = mask.at(b, h, i, j);
                  x = c.mask.startsWith("bool") ? (m ? x : -Infinity) : x + m;
                }
                s.push(x);
              }
              const mx = Math.max(...s);
              const z = s.reduce((acc, x) => acc + (mx === -Infinity ? 0 : Math.exp(x - mx)), 0);
              const P = s.map((x) => (z === 0 ? 0 : Math.exp(x - mx) / z));
              eLse.push(castTo(dtype, z === 0 ? -Infinity : mx + Math.log(z)));
              const keep = s.map((_, j) =>
                p === 0 ? 1 : uniform(seed, offset + ((b * H + h) * L + i) * S + j) >= p ? 1 / (1 - p) : 0
              );
              // Backward: dP_j = keep_j·(dO·v_j), dS_j = P_j·(dP_j - Σ P·dP).
              const dP: number[] = [];
              for (let j = 0; j < S; j++) {
                const vj = ((b * Hk + kh) * S + j) * Ev;
                let d = 0;
                for (let e = 0; e < Ev; e++) {
                  eOut[oi + e] += P[j] * keep[j] * v.values[vj + e];
                  eGv[vj + e] += P[j] * keep[j] * go.values[oi + e];
                  d += go.values[oi + e] * v.values[vj + e];
                }
                dP.push(keep[j] * d);
              }
              const rowTerm = P.reduce((acc, pj, j) => acc + pj * dP[j], 0);
              for (let j = 0; j < S; j++) {
                const dS = P[j] * (dP[j] - rowTerm) * scale;
                const kj = ((b * Hk + kh) * S + j) * E;
                for (let e = 0; e < E; e++) {
                  eGq[qi + e] += dS * k.values[kj + e];
                  eGk[kj + e] += dS * q.values[qi + e];
                }
              }
            }
          }
        }
        const what = `${dtype} dims ${JSON.stringify(c.dims)} mask ${c.mask} causal ${c.causal} p ${c.p}`;
        const tol = dtype === "float64" ? fTol(dtype) : { atol: 2e-5, rtol: 1e-4 };
        assertAllClose(await readAll(backend, out), eOut.map((x) => castTo(dtype, x)), tol, `attention out ${what}`);
        assertAllClose(await readAll(backend, lse), eLse, tol, `attention lse ${what}`);
        assertAllClose(await readAll(backend, gq), eGq.map((x) => castTo(dtype, x)), tol, `attention gradQ ${what}`);
        assertAllClose(await readAll(backend, gk), eGk.map((x) => castTo(dtype, x)), tol, `attention gradK ${what}`);
        assertAllClose(await readAll(backend, gv), eGv.map((x) => castTo(dtype, x)), tol, `attention gradV ${what}`);
        for (const s of [out, lse, gq, gk, gv, q.view.storage, k.view.storage, v.view.storage, go.view.storage]) {
          backend.free(s);
        }
        if (mask) backend.free(mask.view.storage);
      }
    }
  });
}
