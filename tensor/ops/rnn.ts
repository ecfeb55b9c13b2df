/**
 * One recurrent layer in one direction as a single op (`rnnLayer`): the
 * loop over time of an LSTM, GRU or plain RNN, given the input side of the
 * gates for every step (`x·W_ihᵀ + b`, which the caller computes as one GEMM).
 *
 * Where the backend has the fused cell kernels (`Backend.rnnCellForward` and
 * `rnnCellBackward`), each step is one GEMM for the recurrent term and one
 * kernel for the gates' pointwise maths, all through the backend with no
 * tensor or graph node per step; the whole layer is one autograd node whose
 * backward runs the steps in reverse (one kernel and one GEMM each) and
 * computes `W_hh`'s gradient as one GEMM over all steps. Elsewhere (and when
 * {@link setFusedRnn} turns it off) the layer is composed of ordinary tensor
 * ops per step: the reference the fused path is tested against.
 *
 * Variable-length batches follow PyTorch's packed layout: sequences sorted by
 * length (longest first), `batchSizes[t]` of them active at step `t`, so the
 * active rows are always a leading block. A finished sequence's state is left
 * as it was at its last step; in the reverse direction a sequence starts from
 * its `h0` at its own last step.
 *
 * @module
 */

import { isGradEnabled } from "@dendrite/autograd";
import { getBackend, type RnnCellMode, type View } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { fmtShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { commonDevice, empty, record } from "./core.ts";
import { cat, stack } from "./join.ts";
import { tensor } from "./creation.ts";
import { tidy } from "../memory.ts";
import { traced } from "../trace.ts";

let fusedEnabled = true;

/**
 * Whether recurrent layers use the backend's fused cell kernels where it has
 * them (true, the default) or compose each step from tensor ops (false: the
 * reference path, which also supports double backward). Returns the previous
 * setting.
 *
 * @example
 * ```ts
 * import { setFusedRnn } from "./rnn.ts";
 * const before = setFusedRnn(false); // compose every step from tensor ops
 * setFusedRnn(before);
 * ```
 */
export function setFusedRnn(enabled: boolean): boolean {
  const prev = fusedEnabled;
  fusedEnabled = enabled;
  return prev;
}

/** Whether recurrent layers use the fused cell kernels where the backend has them (see {@link setFusedRnn}). */
export function isFusedRnnEnabled(): boolean {
  return fusedEnabled;
}

/** The tensors of one layer-direction. */
export interface RnnLayerInputs {
  /** The input side of the gates for every step `[T, B, G]`: `x·W_ihᵀ + b_ih`, plus `b_hh` except for GRU. */
  readonly xGates: Tensor;
  /** `W_hh` `[G, P]` (P = the projection size for an LSTM with one, else H). */
  readonly wHh: Tensor;
  /** GRU's `b_hh` `[G]` (kept apart: its n part sits inside the reset product); null otherwise. */
  readonly bHh?: Tensor | null;
  /** LSTM's projection `W_hr` `[P, H]`, or null. */
  readonly wHr?: Tensor | null;
  /** The initial state `[B, P]`. */
  readonly h0: Tensor;
  /** LSTM's initial cell state `[B, H]`; null otherwise. */
  readonly c0?: Tensor | null;
}

/** Options of {@link rnnLayer}. */
export interface RnnLayerOptions {
  /**
   * Active sequences per step (`[T]`, non-increasing, the first equal to B):
   * a packed batch sorted by length. Default: all B at every step.
   */
  readonly batchSizes?: readonly number[] | null;
  /** Run from the last step to the first (the backward direction of a bidirectional layer). */
  readonly reverse?: boolean;
}

/** What {@link rnnLayer} returns. */
export interface RnnLayerOutput {
  /**
   * The state after every step `[T, B, P]` (time order, whatever the
   * direction). With `batchSizes`, positions past a sequence's end hold no
   * meaningful value (a packed output leaves them out).
   */
  readonly output: Tensor;
  /** The final state `[B, P]`: each sequence's state at its own end. */
  readonly h: Tensor;
  /** LSTM's final cell state `[B, H]`; null otherwise. */
  readonly c: Tensor | null;
}

/** Gates per hidden unit. */
const GATES: Record<RnnCellMode, number> = { lstm: 4, gru: 3, rnnTanh: 1, rnnRelu: 1 };

interface Dims {
  readonly T: number;
  readonly B: number;
  /** Gate width. */
  readonly G: number;
  /** Hidden size. */
  readonly H: number;
  /** Size of h (P = H without projection). */
  readonly P: number;
}

function checkInputs(op: string, mode: RnnCellMode, inp: RnnLayerInputs, o: RnnLayerOptions): Dims {
  const { xGates, wHh, h0 } = inp;
  const bHh = inp.bHh ?? null, wHr = inp.wHr ?? null, c0 = inp.c0 ?? null;
  commonDevice(op, xGates, wHh, bHh, wHr, h0, c0);
  if (!isFloating(xGates.dtype)) throw new TypeError(`${op}: expected floating-point gates, got ${xGates.dtype}`);
  for (const [name, t] of [["wHh", wHh], ["bHh", bHh], ["wHr", wHr], ["h0", h0], ["c0", c0]] as const) {
    if (t && t.dtype !== xGates.dtype) {
      throw new TypeError(`${op}: ${name} has dtype ${t.dtype}, the gates ${xGates.dtype}`);
    }
  }
  if (xGates.ndim !== 3) throw new RangeError(`${op}: expected xGates [T, B, G], got ${fmtShape(xGates.shape)}`);
  const [T, B, G] = xGates.shape;
  const k = GATES[mode];
  if (G % k !== 0 || G === 0) {
    throw new RangeError(`${op}: the gate width ${G} of xGates ${fmtShape(xGates.shape)} is not ${k}·hidden`);
  }
  const H = G / k;
  if (mode !== "lstm" && wHr) throw new RangeError(`${op}: only an LSTM has a projection (wHr)`);
  const P = wHr ? wHr.shape[0] : H;
  if (wHr && (wHr.ndim !== 2 || wHr.shape[1] !== H)) {
    throw new RangeError(`${op}: expected wHr [P, ${H}], got ${fmtShape(wHr.shape)}`);
  }
  if (wHh.ndim !== 2 || wHh.shape[0] !== G || wHh.shape[1] !== P) {
    throw new RangeError(`${op}: expected wHh [${G}, ${P}], got ${fmtShape(wHh.shape)}`);
  }
  if (bHh && (mode !== "gru" || bHh.ndim !== 1 || bHh.shape[0] !== G)) {
    throw new RangeError(
      mode === "gru"
        ? `${op}: expected bHh [${G}], got ${fmtShape(bHh.shape)}`
        : `${op}: only a GRU takes bHh apart (fold b_hh into xGates)`,
    );
  }
  if (h0.ndim !== 2 || h0.shape[0] !== B || h0.shape[1] !== P) {
    throw new RangeError(`${op}: expected h0 [${B}, ${P}], got ${fmtShape(h0.shape)}`);
  }
  if (mode === "lstm") {
    if (!c0 || c0.ndim !== 2 || c0.shape[0] !== B || c0.shape[1] !== H) {
      throw new RangeError(`${op}: expected c0 [${B}, ${H}], got ${c0 ? fmtShape(c0.shape) : "null"}`);
    }
  } else if (c0) throw new RangeError(`${op}: only an LSTM has a cell state (c0)`);
  if (T === 0) throw new RangeError(`${op}: expected at least one time step, got xGates ${fmtShape(xGates.shape)}`);
  const bs = o.batchSizes;
  if (bs) {
    if (bs.length !== T) {
      throw new RangeError(`${op}: batchSizes has ${bs.length} entries for ${T} time steps`);
    }
    for (let t = 0; t < T; t++) {
      const prev = t === 0 ? B : bs[t - 1];
      if (!Number.isInteger(bs[t]) || bs[t] < 1 || bs[t] > prev || (t === 0 && bs[0] !== B)) {
        throw new RangeError(
          `${op}: batchSizes must be non-increasing integers from B = ${B} down to at least 1, got [${bs.join(", ")}]`,
        );
      }
    }
  }
  return { T, B, G, H, P };
}

/**
 * Runs one recurrent layer in one direction (see the module doc) and returns
 * its outputs, final state and (LSTM) final cell state. Differentiable with
 * respect to every tensor input.
 *
 * @example
 * ```ts
 * import { randn, zeros } from "../mod.ts";
 * import { rnnLayer } from "./rnn.ts";
 * const T = 5, B = 2, H = 3;
 * const { output, h, c } = rnnLayer("lstm", {
 *   xGates: randn([T, B, 4 * H]),
 *   wHh: randn([4 * H, H]).mul(0.3),
 *   h0: zeros([B, H]),
 *   c0: zeros([B, H]),
 * });
 * console.log(output.shape, h.shape, c?.shape); // [5, 2, 3] [2, 3] [2, 3]
 * ```
 */
export function rnnLayer(mode: RnnCellMode, inputs: RnnLayerInputs, options: RnnLayerOptions = {}): RnnLayerOutput {
  const op = `rnnLayer(${mode})`;
  if (!(mode in GATES)) throw new RangeError(`rnnLayer: unknown cell ${JSON.stringify(mode)}`);
  const dims = checkInputs(op, mode, inputs, options);
  const backend = getBackend(inputs.xGates.device);
  const out = fusedEnabled && backend.rnnCellForward && backend.rnnCellBackward
    ? fusedLayer(op, mode, inputs, dims, options)
    : composedLayer(mode, inputs, dims, options);
  const i = inputs;
  traced([out.output, out.h, ...(out.c ? [out.c] : [])], "rnnLayer", [
    i.xGates,
    i.wHh,
    i.bHh ?? null,
    i.wHr ?? null,
    i.h0,
    i.c0 ?? null,
  ], { mode, reverse: options.reverse ?? false, packed: (options.batchSizes ?? null) !== null });
  return out;
}

// ---- the composed reference ----------------------------------------------------------------------

/**
 * One step of a cell from tensor ops: `xg` the input side of the gates `[n, G]`,
 * `h` `[n, P]`, `c` `[n, H]` (LSTM), `wHhT` = `W_hhᵀ` `[P, G]`, `wHrT` = `W_hrᵀ`.
 */
function composedCell(
  mode: RnnCellMode,
  xg: Tensor,
  h: Tensor,
  c: Tensor | null,
  wHhT: Tensor,
  bHh: Tensor | null,
  wHrT: Tensor | null,
): { h: Tensor; c: Tensor | null } {
  let gh = h.matmul(wHhT);
  const H = gh.shape[1] / GATES[mode];
  if (mode === "lstm") {
    const gates = xg.add(gh);
    const i = gates.narrow(1, 0, H).sigmoid(), f = gates.narrow(1, H, H).sigmoid();
    const g = gates.narrow(1, 2 * H, H).tanh(), o = gates.narrow(1, 3 * H, H).sigmoid();
    const c2 = f.mul(c!).add(i.mul(g));
    const h2 = o.mul(c2.tanh());
    return { h: wHrT ? h2.matmul(wHrT) : h2, c: c2 };
  }
  if (mode === "gru") {
    if (bHh) gh = gh.add(bHh);
    const r = xg.narrow(1, 0, H).add(gh.narrow(1, 0, H)).sigmoid();
    const z = xg.narrow(1, H, H).add(gh.narrow(1, H, H)).sigmoid();
    const n = xg.narrow(1, 2 * H, H).add(r.mul(gh.narrow(1, 2 * H, H))).tanh();
    // (1 - z)·n + z·h
    return { h: z.neg().add(1).mul(n).add(z.mul(h)), c: null };
  }
  const pre = xg.add(gh);
  return { h: mode === "rnnTanh" ? pre.tanh() : pre.relu(), c: null };
}

/** `t`'s first `n` rows, padded back to `rows` with `rest`'s rows past `n` (or zeros). */
function withRows(t: Tensor, n: number, rows: number, rest: Tensor | null): Tensor {
  if (n === rows) return t;
  const tail = rest ? rest.narrow(0, n, rows - n) : empty([rows - n, t.shape[1]], t.dtype, t.device);
  return cat([t, tail], 0);
}

function composedLayer(mode: RnnCellMode, inp: RnnLayerInputs, d: Dims, o: RnnLayerOptions): RnnLayerOutput {
  const { T, B } = d;
  const bs = o.batchSizes ?? null;
  let h = inp.h0, c = inp.c0 ?? null;
  const wHhT = inp.wHh.t(), wHrT = inp.wHr ? inp.wHr.t() : null;
  const outs = new Array<Tensor>(T);
  for (let step = 0; step < T; step++) {
    const t = o.reverse ? T - 1 - step : step;
    const n = bs ? bs[t] : B;
    const rows = (x: Tensor) => (n === B ? x : x.narrow(0, 0, n));
    const next = composedCell(mode, rows(inp.xGates.select(0, t)), rows(h), c && rows(c), wHhT, inp.bHh ?? null, wHrT);
    outs[t] = withRows(next.h, n, B, null);
    // Sequences past their end (or, in reverse, not started yet) keep their state.
    h = withRows(next.h, n, B, h);
    if (c) c = withRows(next.c!, n, B, c);
  }
  return { output: stack(outs, 0), h, c };
}

// ---- the fused path ----------------------------------------------------------------------------------

/** Rows `[rows, width]` of `t`'s storage starting `at` elements past its offset. */
function rowsOf(t: Tensor, at: number, rows: number, width: number): View {
  return { storage: t.storage, shape: [rows, width], strides: [width, 1], offset: t.offset + at };
}

/** `W` `[a, b]` read as its transpose `[b, a]` (a view of the same storage). */
function transposed(w: Tensor): View {
  return {
    storage: w.storage,
    shape: [w.shape[1], w.shape[0]],
    strides: [w.strides[1], w.strides[0]],
    offset: w.offset,
  };
}

function fusedLayer(
  op: string,
  mode: RnnCellMode,
  inp: RnnLayerInputs,
  d: Dims,
  o: RnnLayerOptions,
): RnnLayerOutput {
  const { T, B, G, H, P } = d;
  const be = getBackend(inp.xGates.device);
  const dtype = inp.xGates.dtype, device = inp.xGates.device;
  const lstm = mode === "lstm", gru = mode === "gru";
  const bs = o.batchSizes ?? null, reverse = o.reverse ?? false;
  const xg = inp.xGates.contiguous();
  const bHh = inp.bHh ? inp.bHh.contiguous() : null;
  const wHh = inp.wHh, wHr = inp.wHr ?? null;
  const h0 = inp.h0.contiguous(), c0 = inp.c0 ? inp.c0.contiguous() : null;
  // One buffer holds every state: S (T+1 slots of h, [B, P] each) then, for an LSTM, C (T+1 slots of c).
  // Step t reads slot `inSlot` and writes slot `outSlot`; slot 0 (forward) or T (reverse) holds h0.
  const sizeS = (T + 1) * B * P, sizeC = lstm ? (T + 1) * B * H : 0;
  const y = empty([sizeS + sizeC], dtype, device);
  const sRows = (slot: number, rows: number, from = 0) => rowsOf(y, slot * B * P + from * P, rows, P);
  const cRows = (slot: number, rows: number, from = 0) => rowsOf(y, sizeS + slot * B * H + from * H, rows, H);
  const slots = (t: number) => (reverse ? { inSlot: t + 1, outSlot: t } : { inSlot: t, outSlot: t + 1 });
  const rowsAt = (t: number) => (bs ? bs[t] : B);
  /** Rows of step t's previous state that start from h0 here: all at the first step, and in reverse the newly active. */
  const freshFrom = (t: number): number => {
    if (reverse) return t === T - 1 ? 0 : rowsAt(t + 1);
    return t === 0 ? 0 : rowsAt(t);
  };
  const saved = lstm || gru ? empty([T, B, 4 * H], dtype, device) : null;
  const hRaw = wHr ? empty([T, B, H], dtype, device) : null;
  const gh = empty([B, G], dtype, device);
  const proj = wHr ? empty([B, P], dtype, device) : null;
  // W_hhᵀ (and W_hrᵀ) copied contiguous once: the per-step GEMMs then pack their B operand from whole rows.
  const wHhT = empty([P, G], dtype, device), wHrT = wHr ? empty([H, P], dtype, device) : null;
  be.copy(transposed(wHh), wHhT);
  if (wHr) be.copy(transposed(wHr), wHrT!);
  try {
    for (let step = 0; step < T; step++) {
      const t = reverse ? T - 1 - step : step;
      const n = rowsAt(t);
      const { inSlot, outSlot } = slots(t);
      const lo = freshFrom(t);
      if (lo < n) {
        be.copy(rowsOf(h0, lo * P, n - lo, P), sRows(inSlot, n - lo, lo));
        if (lstm) be.copy(rowsOf(c0!, lo * H, n - lo, H), cRows(inSlot, n - lo, lo));
      }
      be.matmul(sRows(inSlot, n), wHhT, gh.storage);
      const hOut = hRaw ? rowsOf(hRaw, t * B * H, n, H) : sRows(outSlot, n);
      be.rnnCellForward!({
        mode,
        xGates: rowsOf(xg, t * B * G, n, G),
        hGates: rowsOf(gh, 0, n, G),
        hBias: gru ? bHh : null,
        prev: lstm ? cRows(inSlot, n) : gru ? sRows(inSlot, n) : null,
        h: hOut,
        c: lstm ? cRows(outSlot, n) : null,
        saved: saved ? rowsOf(saved, t * B * 4 * H, n, 4 * H) : null,
      });
      if (proj) {
        be.matmul(hOut, wHrT!, proj.storage);
        be.copy(rowsOf(proj, 0, n, P), sRows(outSlot, n));
      }
    }
  } finally {
    for (const t of [gh, proj, wHhT, wHrT]) t?.dispose();
  }
  const name = `${mode === "lstm" ? "LSTM" : mode === "gru" ? "GRU" : "RNN"}LayerBackward`;
  const inputs = [xg, wHh, bHh, wHr, h0, c0];
  record(y, name, inputs, (gY) => {
    if (isGradEnabled()) {
      throw new Error(
        `${op}: the fused recurrent kernels have no double backward; call setFusedRnn(false) to compose the ` +
          `layer from tensor ops`,
      );
    }
    const gy = gY.contiguous();
    const gyS = gy.narrow(0, 0, sizeS).view([T + 1, B, P]);
    const gyC = lstm ? gy.narrow(0, sizeS, sizeC).view([T + 1, B, H]) : null;
    // Gradients of the gates: zero where a step's row is inactive (so the weight GEMMs below skip it).
    const dxg = empty([T, B, G], dtype, device);
    const dhg = gru ? empty([T, B, G], dtype, device) : dxg;
    const rec = empty([B, P], dtype, device);
    // Ping-pong buffers for what one step hands the step before it: LSTM dL/dc_prev, GRU dh·z.
    const carry = lstm || gru ? [empty([B, H], dtype, device), empty([B, H], dtype, device)] : null;
    const dTot = wHr ? empty([T, B, P], dtype, device) : null;
    const dhRaw = wHr ? empty([B, H], dtype, device) : null;
    const dh0 = empty([B, P], dtype, device), dc0 = lstm ? empty([B, H], dtype, device) : null;
    try {
      let recRows = 0;
      for (let step = T - 1; step >= 0; step--) {
        const t = reverse ? T - 1 - step : step;
        const n = rowsAt(t);
        const { inSlot, outSlot } = slots(t);
        const carryIn = carry && recRows > 0 ? rowsOf(carry[step % 2], 0, recRows, H) : null;
        const carryOut = carry ? carry[(step + 1) % 2] : null;
        let gradH: View = rowsOf(gy, outSlot * B * P, n, P);
        let hRec: View[] = recRows > 0 ? [rowsOf(rec, 0, recRows, P), ...(gru ? [carryIn!] : [])] : [];
        if (wHr) {
          // With a projection the whole dL/dh must exist before going back through W_hr: dh_raw = dh·W_hr.
          const m = Math.min(n, recRows);
          tidy(() => {
            const own = gyS.select(0, outSlot).narrow(0, 0, n);
            const total = m > 0 ? cat([own.narrow(0, 0, m).add(rec.narrow(0, 0, m)), own.narrow(0, m, n - m)], 0) : own;
            be.copy(total, rowsOf(dTot!, t * B * P, n, P));
          });
          be.matmul(rowsOf(dTot!, t * B * P, n, P), wHr, dhRaw!.storage);
          gradH = rowsOf(dhRaw!, 0, n, H);
          hRec = [];
        }
        be.rnnCellBackward!({
          mode,
          gradH,
          gradHRec: hRec,
          recRows,
          gradC: lstm ? rowsOf(gy, sizeS + outSlot * B * H, n, H) : null,
          gradCRec: lstm ? carryIn : null,
          saved: saved ? rowsOf(saved, t * B * 4 * H, n, 4 * H) : null,
          prev: lstm ? cRows(inSlot, n) : gru ? sRows(inSlot, n) : null,
          out: lstm ? cRows(outSlot, n) : gru ? null : sRows(outSlot, n),
          gradXGates: rowsOf(dxg, t * B * G, n, G),
          gradHGates: gru ? rowsOf(dhg, t * B * G, n, G) : null,
          gradPrev: carryOut ? rowsOf(carryOut, 0, n, H) : null,
        });
        // What flows on to the previous step's h: dG·W_hh (+ GRU's dh·z, handed over in `carry`).
        be.matmul(rowsOf(dhg, t * B * G, n, G), wHh, rec.storage);
        recRows = n;
        const lo = freshFrom(t);
        if (lo < n) {
          // These rows' previous state was h0 (and c0): their gradients end here.
          tidy(() => {
            let g = rec.narrow(0, lo, n - lo).add(gyS.select(0, inSlot).narrow(0, lo, n - lo));
            if (gru) g = g.add(carryOut!.narrow(0, lo, n - lo));
            be.copy(g, rowsOf(dh0, lo * P, n - lo, P));
            if (lstm) {
              const gc = carryOut!.narrow(0, lo, n - lo).add(gyC!.select(0, inSlot).narrow(0, lo, n - lo));
              be.copy(gc, rowsOf(dc0!, lo * H, n - lo, H));
            }
          });
        }
      }
      const [gx, gW, gB, gWr, gH0, gC0] = inputs.map((t) => t?.requiresGrad ?? false);
      return tidy(() => {
        const flat = (t: Tensor, w: number) => t.reshape([T * B, w]);
        // Every step's previous state, in step order: slots 0..T-1 (forward) or 1..T (reverse).
        const sPrev = y.narrow(0, reverse ? B * P : 0, T * B * P).view([T * B, P]);
        return [
          gx ? dxg : null,
          gW ? flat(dhg, G).t().matmul(sPrev) : null,
          gB ? flat(dhg, G).sum(0) : null,
          gWr ? flat(dTot!, P).t().matmul(flat(hRaw!, H)) : null,
          gH0 ? dh0 : null,
          gC0 ? dc0 : null,
        ];
      });
    } finally {
      if (gy !== gY) gy.dispose();
      for (const t of [gyS, gyC, rec, ...(carry ?? []), dTot, dhRaw, saved, hRaw]) t?.dispose();
      if (!inputs[0]?.requiresGrad) dxg.dispose();
      if (dhg !== dxg) dhg.dispose();
      if (!h0.requiresGrad) dh0.dispose();
      if (dc0 && !c0?.requiresGrad) dc0.dispose();
    }
    // What the rule reads: the weights, every state (the output buffer, whose views the caller holds) and the
    // saved activations; not the inputs' values (a caller may refill h0 for the next chunk).
  }, [wHh, wHr, y, saved, hRaw]);
  if (!y.gradFn) {
    saved?.dispose();
    hRaw?.dispose();
  }
  // The outputs are views of the one buffer; their gradients meet in its node.
  const sAll = y.narrow(0, 0, sizeS).view([T + 1, B, P]);
  const output = sAll.narrow(0, reverse ? 0 : 1, T);
  const cAll = lstm ? y.narrow(0, sizeS, sizeC).view([T + 1, B, H]) : null;
  if (reverse || !bs) {
    const last = reverse ? 0 : T;
    return { output, h: sAll.select(0, last), c: cAll ? cAll.select(0, last) : null };
  }
  // Forward with lengths: sequence b ended at step len_b - 1, so its final state is in slot len_b.
  const index: number[] = [];
  for (let b = 0; b < B; b++) {
    let len = 0;
    while (len < T && bs[len] > b) len++;
    index.push(len * B + b);
  }
  const idx = tensor(index, { dtype: "int32", device });
  return {
    output,
    h: sAll.reshape([(T + 1) * B, P]).indexSelect(0, idx),
    c: cAll ? cAll.reshape([(T + 1) * B, H]).indexSelect(0, idx) : null,
  };
}
