/**
 * The fused recurrent-cell kernels of the CPU backend with the WebAssembly
 * SIMD code of `wasm/rnn_kernel.ts`: drop-in versions of `rnn_cell.ts`'s
 * `rnnCellForward` and `rnnCellBackward`, each returning whether it did the
 * work. They apply when every operand is float32 in the heap, laid out as the
 * contract says (whole rows, `[rows, width]` with strides `[width, 1]`);
 * otherwise nothing is written and the TypeScript kernel runs.
 *
 * @module
 */

import type { RnnCellBackwardArgs, RnnCellForwardArgs, View } from "../backend.ts";
import { cpuData } from "./storage.ts";
import { heapAddress, heapAlloc, heapFree, heapZero, wasmOps } from "./wasm/runtime.ts";

/** Byte address of row 0 of a float32 row block of `width` columns in the heap, or -1. */
function rowsAddr(v: View | null, width: number, rows: number): number {
  if (!v) return -1;
  const [r, w] = v.shape;
  if (v.shape.length !== 2 || w !== width || r < rows || (r > 1 && v.strides[0] !== width) || v.strides[1] !== 1) {
    return -1;
  }
  const a = cpuData(v.storage);
  if (!(a instanceof Float32Array) || v.offset < 0 || v.offset + r * w > a.length) return -1;
  const at = heapAddress(a);
  return at < 0 ? -1 : at + v.offset * 4;
}

const GATES = { lstm: 4, gru: 3, rnnTanh: 1, rnnRelu: 1 } as const;

/**
 * `Backend.rnnCellForward` in WebAssembly SIMD, or false (nothing written)
 * when an operand is not float32 in the heap or not a row block.
 *
 * @example
 * ```ts
 * import { wasmRnnCellForward } from "./rnn_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const [x, h, y] = [0, 1, 2].map(() => heapAllocStorage(Float32Array, 8));
 * if (x && h && y) {
 *   const v = (s: Float32Array) => ({ storage: new CpuStorage(s), shape: [2, 4], strides: [4, 1], offset: 0 });
 *   x.data.fill(0.5);
 *   const args = { mode: "rnnTanh" as const, xGates: v(x.data), hGates: v(h.data), hBias: null, prev: null };
 *   wasmRnnCellForward({ ...args, h: v(y.data), c: null, saved: null }); // y = tanh(0.5)
 * }
 * ```
 */
export function wasmRnnCellForward(a: RnnCellForwardArgs): boolean {
  const ops = wasmOps();
  if (!ops) return false;
  const n = a.h.shape[0], hid = a.h.shape[1], g = GATES[a.mode] * hid;
  const xg = rowsAddr(a.xGates, g, n), hg = rowsAddr(a.hGates, g, n), h = rowsAddr(a.h, hid, n);
  if (xg < 0 || hg < 0 || h < 0) return false;
  if (a.mode === "rnnTanh" || a.mode === "rnnRelu") {
    (a.mode === "rnnTanh" ? ops.rnn_tanh_fwd : ops.rnn_relu_fwd)(n, hid, xg, hg, h);
    return true;
  }
  const prev = rowsAddr(a.prev, hid, n), saved = rowsAddr(a.saved, 4 * hid, n);
  if (prev < 0 || saved < 0) return false;
  if (a.mode === "lstm") {
    const c = rowsAddr(a.c, hid, n);
    if (c < 0) return false;
    ops.rnn_lstm_fwd(n, hid, xg, hg, prev, h, c, saved);
    return true;
  }
  // GRU: the bias is read as one row of 3H floats; without one, a zeroed scratch row stands in.
  const bias = a.hBias ? rowsAddr({ ...a.hBias, shape: [1, g], strides: [g, a.hBias.strides[0]] }, g, 1) : -2;
  if (bias === -1) return false;
  const b = bias >= 0 ? bias : heapAlloc(4 * g);
  if (b < 0) return false;
  if (bias < 0) heapZero(b, 4 * g);
  try {
    ops.rnn_gru_fwd(n, hid, xg, hg, b, prev, h, saved);
  } finally {
    if (bias < 0) heapFree(b);
  }
  return true;
}

/**
 * `Backend.rnnCellBackward` in WebAssembly SIMD, or false (nothing written)
 * when an operand is not float32 in the heap or not a row block, or the
 * recurrent gradients are not the ones the cell's kernel takes (LSTM and RNN:
 * one `gradHRec`, LSTM also `gradCRec`; GRU: two).
 *
 * @example
 * ```ts
 * import { wasmRnnCellBackward } from "./rnn_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const [g, h, d] = [0, 1, 2].map(() => heapAllocStorage(Float32Array, 4));
 * if (g && h && d) {
 *   const v = (s: Float32Array) => ({ storage: new CpuStorage(s), shape: [1, 4], strides: [4, 1], offset: 0 });
 *   g.data.fill(1);
 *   h.data.set([0.5, -0.5, 0, 0.9]);
 *   wasmRnnCellBackward({
 *     mode: "rnnTanh", gradH: v(g.data), gradHRec: [], recRows: 0, gradC: null, gradCRec: null, saved: null,
 *     prev: null, out: v(h.data), gradXGates: v(d.data), gradHGates: null, gradPrev: null,
 *   }); // d = 1 - h²
 * }
 * ```
 */
export function wasmRnnCellBackward(a: RnnCellBackwardArgs): boolean {
  const ops = wasmOps();
  if (!ops) return false;
  const n = a.gradH.shape[0], hid = a.gradH.shape[1], g = GATES[a.mode] * hid;
  const recRows = Math.min(a.recRows, n);
  const wantRecs = a.mode === "gru" ? 2 : 1;
  if (recRows > 0 && a.gradHRec.length !== wantRecs) return false;
  const rec = (k: number) => (recRows > 0 ? rowsAddr(a.gradHRec[k], hid, recRows) : 0);
  const gh = rowsAddr(a.gradH, hid, n), dx = rowsAddr(a.gradXGates, g, n), r0 = rec(0);
  if (gh < 0 || dx < 0 || r0 < 0) return false;
  if (a.mode === "rnnTanh" || a.mode === "rnnRelu") {
    const h = rowsAddr(a.out, hid, n);
    if (h < 0) return false;
    (a.mode === "rnnTanh" ? ops.rnn_tanh_bwd : ops.rnn_relu_bwd)(n, hid, recRows, gh, r0, h, dx);
    return true;
  }
  const saved = rowsAddr(a.saved, 4 * hid, n), prev = rowsAddr(a.prev, hid, n), gp = rowsAddr(a.gradPrev, hid, n);
  if (saved < 0 || prev < 0 || gp < 0) return false;
  if (a.mode === "lstm") {
    const gc = rowsAddr(a.gradC, hid, n), c = rowsAddr(a.out, hid, n);
    const cRec = recRows > 0 ? rowsAddr(a.gradCRec, hid, recRows) : 0;
    if (gc < 0 || c < 0 || cRec < 0) return false;
    ops.rnn_lstm_bwd(n, hid, recRows, gh, r0, gc, cRec, saved, prev, c, dx, gp);
    return true;
  }
  const r1 = rec(1), dhg = rowsAddr(a.gradHGates, g, n);
  if (r1 < 0 || dhg < 0) return false;
  ops.rnn_gru_bwd(n, hid, recRows, gh, r0, r1, saved, prev, dx, dhg, gp);
  return true;
}
