/**
 * The CPU backend's fused recurrent-cell kernels in TypeScript (any float
 * dtype, arithmetic in float64, rounded once on store): the reference the
 * WebAssembly kernels (`rnn_wasm.ts`) are tested against and the fallback
 * where they do not apply. The equations are `Backend.rnnCellForward`'s and
 * `Backend.rnnCellBackward`'s.
 *
 * @module
 */

import type { RnnCellBackwardArgs, RnnCellForwardArgs, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import type { DataOf } from "./fused.ts";

/** The logistic function, without overflow for large |x| (as the elementwise table's). */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** A view's array and the element index of row `r`, column `j` (rows are contiguous, `width` apart). */
interface Rows {
  readonly a: TypedArray;
  readonly off: number;
  readonly width: number;
}

function rows(data: DataOf, v: View): Rows {
  return { a: data(v.storage), off: v.offset, width: v.shape[1] ?? v.shape[0] };
}

const at = (m: Rows, r: number, j: number): number => m.a[m.off + r * m.width + j];

/** Gate width per hidden unit of each cell. */
export function gateCount(mode: RnnCellForwardArgs["mode"]): number {
  return mode === "lstm" ? 4 : mode === "gru" ? 3 : 1;
}

/** See `Backend.rnnCellForward`. */
export function rnnCellForward(data: DataOf, args: RnnCellForwardArgs): void {
  const { mode } = args;
  const n = args.h.shape[0], hid = args.h.shape[1];
  const xg = rows(data, args.xGates), hg = rows(data, args.hGates), h = rows(data, args.h);
  if (mode === "rnnTanh" || mode === "rnnRelu") {
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < hid; j++) {
        const v = at(xg, r, j) + at(hg, r, j);
        h.a[h.off + r * hid + j] = mode === "rnnTanh" ? Math.tanh(v) : (v > 0 ? v : 0);
      }
    }
    return;
  }
  const prev = rows(data, args.prev!), sv = rows(data, args.saved!);
  if (mode === "lstm") {
    const c = rows(data, args.c!);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < hid; j++) {
        const i = sigmoid(at(xg, r, j) + at(hg, r, j));
        const f = sigmoid(at(xg, r, hid + j) + at(hg, r, hid + j));
        const g = Math.tanh(at(xg, r, 2 * hid + j) + at(hg, r, 2 * hid + j));
        const o = sigmoid(at(xg, r, 3 * hid + j) + at(hg, r, 3 * hid + j));
        const cv = f * at(prev, r, j) + i * g;
        const s = sv.off + r * 4 * hid + j;
        sv.a[s] = i;
        sv.a[s + hid] = f;
        sv.a[s + 2 * hid] = g;
        sv.a[s + 3 * hid] = o;
        c.a[c.off + r * hid + j] = cv;
        h.a[h.off + r * hid + j] = o * Math.tanh(cv);
      }
    }
    return;
  }
  // GRU: the recurrent side's bias goes in before the reset gate multiplies its n part.
  const bias = args.hBias ? data(args.hBias.storage) : null;
  const bOff = args.hBias?.offset ?? 0, bStr = args.hBias?.strides[0] ?? 0;
  const b = (k: number) => (bias ? bias[bOff + k * bStr] : 0);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < hid; j++) {
      const rg = sigmoid(at(xg, r, j) + at(hg, r, j) + b(j));
      const z = sigmoid(at(xg, r, hid + j) + at(hg, r, hid + j) + b(hid + j));
      const hn = at(hg, r, 2 * hid + j) + b(2 * hid + j);
      const nv = Math.tanh(at(xg, r, 2 * hid + j) + rg * hn);
      const s = sv.off + r * 4 * hid + j;
      sv.a[s] = rg;
      sv.a[s + hid] = z;
      sv.a[s + 2 * hid] = nv;
      sv.a[s + 3 * hid] = hn;
      h.a[h.off + r * hid + j] = (1 - z) * nv + z * at(prev, r, j);
    }
  }
}

/** See `Backend.rnnCellBackward`. */
export function rnnCellBackward(data: DataOf, args: RnnCellBackwardArgs): void {
  const { mode, recRows } = args;
  const n = args.gradH.shape[0], hid = args.gradH.shape[1];
  const gh = rows(data, args.gradH), dx = rows(data, args.gradXGates);
  const recs = args.gradHRec.map((v) => rows(data, v));
  const dhAt = (r: number, j: number): number => {
    let d = at(gh, r, j);
    if (r < recRows) { for (const m of recs) d += at(m, r, j); }
    return d;
  };
  if (mode === "rnnTanh" || mode === "rnnRelu") {
    const h = rows(data, args.out!);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < hid; j++) {
        const hv = at(h, r, j), d = dhAt(r, j);
        dx.a[dx.off + r * hid + j] = mode === "rnnTanh" ? d * (1 - hv * hv) : (hv > 0 ? d : 0);
      }
    }
    return;
  }
  const sv = rows(data, args.saved!), prev = rows(data, args.prev!), gp = rows(data, args.gradPrev!);
  if (mode === "lstm") {
    const c = rows(data, args.out!), gc = rows(data, args.gradC!);
    const cRec = args.gradCRec ? rows(data, args.gradCRec) : null;
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < hid; j++) {
        const s = sv.off + r * 4 * hid + j;
        const i = sv.a[s], f = sv.a[s + hid], g = sv.a[s + 2 * hid], o = sv.a[s + 3 * hid];
        const tc = Math.tanh(at(c, r, j));
        const dh = dhAt(r, j);
        let dc = at(gc, r, j) + dh * o * (1 - tc * tc);
        if (cRec && r < recRows) dc += at(cRec, r, j);
        const d = dx.off + r * 4 * hid + j;
        dx.a[d] = dc * g * i * (1 - i);
        dx.a[d + hid] = dc * at(prev, r, j) * f * (1 - f);
        dx.a[d + 2 * hid] = dc * i * (1 - g * g);
        dx.a[d + 3 * hid] = dh * tc * o * (1 - o);
        gp.a[gp.off + r * hid + j] = dc * f;
      }
    }
    return;
  }
  const dhg = rows(data, args.gradHGates!);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < hid; j++) {
      const s = sv.off + r * 4 * hid + j;
      const rg = sv.a[s], z = sv.a[s + hid], nv = sv.a[s + 2 * hid], hn = sv.a[s + 3 * hid];
      const dh = dhAt(r, j);
      const dn = dh * (1 - z) * (1 - nv * nv);
      const dz = dh * (at(prev, r, j) - nv) * z * (1 - z);
      const dr = dn * hn * rg * (1 - rg);
      const d = dx.off + r * 3 * hid + j, e = dhg.off + r * 3 * hid + j;
      dx.a[d] = dhg.a[e] = dr;
      dx.a[d + hid] = dhg.a[e + hid] = dz;
      dx.a[d + 2 * hid] = dn;
      dhg.a[e + 2 * hid] = dn * rg;
      gp.a[gp.off + r * hid + j] = dh * z;
    }
  }
}
