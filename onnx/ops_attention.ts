/**
 * ONNX mapping of scaled dot-product attention (`F.scaledDotProductAttention`,
 * and `composedAttention`, which also returns the weights): written out as
 * MatMul, Mul, Where/Add, Softmax and MatMul over the standard opsets (13–17),
 * with no contrib ops, so every runtime runs it. The traced op is the same
 * whichever path ran (the fused kernel or the composed ops).
 *
 * @module
 */

import { type DynInts, type Emitter, isStatic, type OpContext } from "./graph.ts";
import type { Poly } from "./sizes.ts";

const constPoly = (v: number, like: Poly): Poly => ({ constant: v, linear: like.linear.map(() => 0), quadratic: [] });

/** An int64 0-d tensor holding size `p` (computed in the graph when it varies). */
function scalarSize(ctx: OpContext, d: DynInts): string {
  if (isStatic(d)) return ctx.constant([d.polys[0].constant], "int64", []);
  return ctx.node("Squeeze", [ctx.ints(d), ctx.constant([0], "int64", [1])])[0];
}

/** The causal mask `[L, S]`, true where key `j ≤` query `i` (a constant unless L or S varies). */
function causalKeep(ctx: OpContext): string {
  const q = ctx.inShape(0), k = ctx.inShape(1);
  const L: DynInts = { polys: [q.polys[q.polys.length - 2]], values: [q.values[q.values.length - 2]] };
  const S: DynInts = { polys: [k.polys[k.polys.length - 2]], values: [k.values[k.values.length - 2]] };
  if (isStatic(L) && isStatic(S)) {
    const l = L.values[0], s = S.values[0];
    const keep = Array.from({ length: l * s }, (_, n) => (n % s <= Math.floor(n / s) ? 1 : 0));
    return ctx.constant(keep, "bool", [l, s]);
  }
  const zero = ctx.constant([0], "int64", []), one = ctx.constant([1], "int64", []);
  const rows = ctx.node("Range", [zero, scalarSize(ctx, L), one])[0];
  const cols = ctx.node("Range", [zero, scalarSize(ctx, S), one])[0];
  const column = ctx.node("Unsqueeze", [rows, ctx.constant([1], "int64", [1])])[0];
  return ctx.node("GreaterOrEqual", [column, cols])[0];
}

/** Key or value input `i` `[..., Hk, S, D]` with each head repeated up to `H` heads (PyTorch's repeat_interleave). */
function repeatHeads(ctx: OpContext, i: number, H: number): string {
  const t = ctx.inTensor(i), rank = t.ndim, Hk = t.shape[rank - 3];
  if (Hk === H) return ctx.input(i);
  const shape = ctx.inShape(i);
  const widened = ctx.node("Unsqueeze", [ctx.input(i), ctx.constant([rank - 2], "int64", [1])])[0];
  const reps = new Array(rank + 1).fill(1);
  reps[rank - 2] = H / Hk;
  const expanded = ctx.node("Expand", [widened, ctx.constant(reps, "int64", [rank + 1])])[0];
  const target: DynInts = {
    polys: shape.polys.map((p, d) => (d === rank - 3 ? constPoly(H, p) : p)),
    values: shape.values.map((v, d) => (d === rank - 3 ? H : v)),
  };
  return ctx.node("Reshape", [expanded, ctx.ints(target)])[0];
}

/**
 * `softmax(q·kᵀ·scale + mask)·v`. As the composed path: a bool mask keeps
 * scores where true, a float one is added, and a query row whose every score
 * is -∞ gets zero weights (not NaN).
 */
function attention(withWeights: boolean): Emitter {
  return (ctx) => {
    if (ctx.attr<number>("dropoutP") > 0) {
      ctx.fail(
        "dropout on the attention weights has no ONNX mapping; onnx.export runs the model in eval mode, so this is " +
          "a functional call with dropoutP > 0: pass `this.training ? p : 0`",
      );
    }
    const t = ctx.output(0).dtype;
    const q = ctx.inTensor(0);
    const H = q.ndim >= 3 ? q.shape[q.ndim - 3] : 1;
    const gqa = ctx.attr<boolean>("enableGqa");
    const k = gqa ? repeatHeads(ctx, 1, H) : ctx.input(1);
    const v = gqa ? repeatHeads(ctx, 2, H) : ctx.input(2);
    const rank = ctx.inTensor(1).ndim;
    const perm = [...Array.from({ length: rank - 2 }, (_, d) => d), rank - 1, rank - 2];
    const kt = ctx.node("Transpose", [k], { perm: { ints: perm } })[0];
    const scale = ctx.constant([ctx.attr<number>("scale")], t, []);
    let s = ctx.node("Mul", [ctx.node("MatMul", [ctx.input(0), kt])[0], scale])[0];
    const minusInf = ctx.constant([-Infinity], t, []);
    if (ctx.attr<boolean>("isCausal")) s = ctx.node("Where", [causalKeep(ctx), s, minusInf])[0];
    let dead: string | null = null;
    if (ctx.has(3)) {
      s = ctx.inTensor(3).dtype === "bool"
        ? ctx.node("Where", [ctx.input(3), s, minusInf])[0]
        : ctx.node("Add", [s, ctx.operand(3, t)])[0];
      // A row with every score -∞: softmax over zeros instead, then zero weights (the composed path's rule).
      const top = ctx.node("ReduceMax", [s], { axes: { ints: [-1] }, keepdims: { i: 1 } })[0];
      dead = ctx.node("Equal", [top, minusInf])[0];
      s = ctx.node("Where", [dead, ctx.constant([0], t, []), s])[0];
    }
    let w = ctx.node("Softmax", [s], { axis: { i: -1 } })[0];
    if (dead) w = ctx.node("Where", [dead, ctx.constant([0], t, []), w])[0];
    const out = ctx.node("MatMul", [w, v])[0];
    return withWeights ? [out, w] : [out];
  };
}

/** The attention mappings, by traced op name. */
export const ATTENTION_OPS: Record<string, Emitter> = {
  scaledDotProductAttention: attention(false),
  composedAttention: attention(true),
};
