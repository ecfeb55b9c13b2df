/**
 * ONNX mapping of the traced `rnnLayer` op (one direction of one recurrent
 * layer over the input side of the gates), which the cells (`nn.RNNCell`,
 * `LSTMCell`, `GRUCell`) run as one step: ONNX's RNN, LSTM or GRU node with
 * a permutation matrix as its input weight, which hands it the precomputed
 * gates in ONNX's gate order exactly. The whole layers (`nn.LSTM`, …) are
 * exported by their module rule in `modules.ts` instead.
 *
 * @module
 */

import type { RnnCellMode } from "@dendrite/tensor";
import type { Emitter, OpContext } from "./graph.ts";

/** Per mode: ONNX's op, and PyTorch's gate blocks in ONNX's order (LSTM i,o,f,c; GRU z,r,h). */
const ONNX_CELL: Record<RnnCellMode, { op: string; order: number[] }> = {
  lstm: { op: "LSTM", order: [0, 3, 1, 2] },
  gru: { op: "GRU", order: [1, 0, 2] },
  rnnTanh: { op: "RNN", order: [0] },
  rnnRelu: { op: "RNN", order: [0] },
};

/** Row indices that put `[G, …]`'s gate blocks of `h` rows in ONNX's order. */
function gateRows(order: readonly number[], h: number): number[] {
  return order.flatMap((g) => Array.from({ length: h }, (_, r) => g * h + r));
}

/** `[1, ...]`: a direction axis in front of input `i` reordered along its gate rows (`Gather` on axis 0). */
function reordered(ctx: OpContext, i: number, rows: readonly number[]): string {
  const gathered = ctx.node("Gather", [ctx.input(i), ctx.constant(rows, "int64", [rows.length])], { axis: { i: 0 } });
  return ctx.node("Unsqueeze", [gathered[0], ctx.constant([0], "int64", [1])])[0];
}

/** The `rnnLayer` mapping: inputs `xGates [T, B, G]`, `wHh`, `bHh`, `wHr`, `h0`, `c0`; outputs `output, h(, c)`. */
export const RNN_OPS: Record<string, Emitter> = {
  rnnLayer: (ctx) => {
    const mode = ctx.attr<RnnCellMode>("mode");
    if (ctx.attr<boolean>("packed")) {
      ctx.fail("a packed batch (batchSizes) cannot be exported; run every sequence to the full length");
    }
    if (ctx.has(3)) ctx.fail("an LSTM projection (wHr) has no counterpart in ONNX's LSTM");
    const { op, order } = ONNX_CELL[mode];
    const [G, H] = ctx.inTensor(1).shape;
    const t = ctx.inTensor(0).dtype;
    const rows = gateRows(order, H);
    // W = the permutation matrix: X·Wᵀ is xGates with its gate blocks in ONNX's order (each entry times 1, exactly).
    const perm = new Array<number>(G * G).fill(0);
    rows.forEach((src, dst) => (perm[dst * G + src] = 1));
    const W = ctx.constant(perm, t, [1, G, G]);
    const R = reordered(ctx, 1, rows);
    // GRU's b_hh is the recurrence bias Rb (inside the reset product with linear_before_reset); the input side is 0.
    const B = ctx.has(2)
      ? ctx.node("Concat", [ctx.constant(new Array(G).fill(0), t, [1, G]), reordered(ctx, 2, rows)], {
        axis: { i: 1 },
      })[0]
      : "";
    const axis0 = ctx.constant([0], "int64", [1]);
    const state = (i: number) => ctx.node("Unsqueeze", [ctx.input(i), axis0])[0];
    const inputs = [ctx.input(0), W, R, B, "", state(4)];
    if (mode === "lstm") inputs.push(state(5));
    const attrs: Parameters<OpContext["node"]>[2] = {
      hidden_size: { i: H },
      direction: { s: ctx.attr<boolean>("reverse") ? "reverse" : "forward" },
    };
    if (mode === "gru") attrs.linear_before_reset = { i: 1 };
    if (op === "RNN") attrs.activations = { strings: [mode === "rnnRelu" ? "Relu" : "Tanh"] };
    const outs = ctx.node(op, inputs, attrs, mode === "lstm" ? 3 : 2);
    // Y [T, 1, B, H] → [T, B, H]; Y_h, Y_c [1, B, H] → [B, H].
    const output = ctx.node("Squeeze", [outs[0], ctx.constant([1], "int64", [1])])[0];
    const finals = outs.slice(1).map((s) => ctx.node("Squeeze", [s, axis0])[0]);
    return [output, ...finals];
  },
};
