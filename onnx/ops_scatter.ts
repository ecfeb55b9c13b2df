/**
 * ONNX mappings of the scatter family: `scatter` as ScatterElements,
 * `scatterAdd`, `scatterReduce` (sum, prod) and `indexAdd` as
 * ScatterElements with a reduction (opset 16 and later; max and min
 * reductions arrive in opset 18, past the opsets written here).
 *
 * @module
 */

import type { DynInts, Emitter, OpContext } from "./graph.ts";

/** The updates of input 2: a tensor, or a number broadcast to the index's shape. */
function updates(ctx: OpContext): string {
  const t = ctx.output(0).dtype;
  const u = ctx.operand(2, t);
  if (ctx.rec.inputs[2].kind !== "scalar") return u;
  return ctx.node("Expand", [u, ctx.node("Shape", [ctx.input(1)])[0]])[0];
}

/** Fails below opset 16, where ScatterElements has no reduction. */
function needReduction(ctx: OpContext, what: string): void {
  if (ctx.opset < 16) {
    ctx.fail(`${what} needs ScatterElements' reduction, ONNX opset 16 or later; export with 16 or 17`);
  }
}

function scatterWith(ctx: OpContext, x: string, u: string, reduction?: string): string {
  const attrs: Parameters<OpContext["node"]>[2] = { axis: { i: ctx.attr<number>("dim") } };
  if (reduction) attrs.reduction = { s: reduction };
  return ctx.node("ScatterElements", [x, ctx.input(1), u], attrs)[0];
}

/** The scatter mappings, by traced op name. */
export const SCATTER_OPS: Record<string, Emitter> = {
  scatter: (ctx) => [scatterWith(ctx, ctx.input(0), updates(ctx))],
  scatterAdd: (ctx) => {
    needReduction(ctx, "scatterAdd");
    return [scatterWith(ctx, ctx.input(0), updates(ctx), "add")];
  },
  scatterReduce: (ctx) => {
    const reduce = ctx.attr<string>("reduce");
    const reduction = reduce === "sum" ? "add" : reduce === "prod" ? "mul" : null;
    if (!reduction) {
      return ctx.fail(
        `scatterReduce with reduce "${reduce}" has no ONNX mapping up to opset 17 (ScatterElements' max and min ` +
          `arrive in opset 18; mean has none); "sum" and "prod" export`,
      );
    }
    needReduction(ctx, `scatterReduce "${reduce}"`);
    let x = ctx.input(0);
    // includeSelf false: the indexed destinations start from the reduction's identity instead of the input.
    if (!ctx.attr<boolean>("includeSelf")) {
      const t = ctx.output(0).dtype;
      const start = ctx.constant([reduce === "prod" ? 1 : 0], t, []);
      x = scatterWith(ctx, x, ctx.node("Expand", [start, ctx.node("Shape", [ctx.input(1)])[0]])[0]);
    }
    return [scatterWith(ctx, x, updates(ctx), reduction)];
  },
  // x.indexAdd(dim, index, source): the index along dim broadcast over the source's other dims, a scatter with add.
  indexAdd: (ctx) => {
    needReduction(ctx, "indexAdd");
    const x = ctx.inTensor(0), d = ctx.attr<number>("dim"), t = ctx.output(0).dtype;
    if (x.ndim === 0 || ctx.inTensor(2).ndim !== x.ndim) ctx.fail("a 0-d input or source has no mapping here");
    const n = ctx.inShape(1);
    const along: DynInts = {
      polys: x.shape.map((
        _,
        i,
      ) => (i === d ? n.polys[0] : { constant: 1, linear: n.polys[0].linear.map(() => 0), quadratic: [] })),
      values: x.shape.map((_, i) => (i === d ? n.values[0] : 1)),
    };
    const column = ctx.node("Reshape", [ctx.input(1), ctx.ints(along)])[0];
    const wide = ctx.node("Expand", [column, ctx.node("Shape", [ctx.input(2)])[0]])[0];
    const alpha = ctx.attr<number>("alpha");
    const src = alpha === 1 ? ctx.input(2) : ctx.node("Mul", [ctx.input(2), ctx.constant([alpha], t, [])])[0];
    return ctx.node("ScatterElements", [ctx.input(0), wide, src], { axis: { i: d }, reduction: { s: "add" } });
  },
};
