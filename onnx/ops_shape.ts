/**
 * ONNX mappings of the view, joining, indexing and creation ops. Shapes,
 * slice bounds and ranges that vary with a dynamic axis are computed in the
 * graph (see `sizes.ts`); a reshape with one varying size writes -1 for it.
 *
 * @module
 */

import { type DynInts, type Emitter, isStatic, type OnnxType, type OpContext } from "./graph.ts";
import { isConstant, type Poly } from "./sizes.ts";

const constPoly = (v: number, like: Poly): Poly => ({ constant: v, linear: like.linear.map(() => 0), quadratic: [] });

function samePoly(a: Poly, b: Poly): boolean {
  return a.constant === b.constant && a.linear.every((c, i) => c === b.linear[i]) &&
    a.quadratic.every((q, i) => q[2] === b.quadratic[i][2]);
}

/** A scalar attribute (possibly varying with a dynamic axis) as a 0-d tensor of `type`. */
function scalarAttr(ctx: OpContext, key: string, type: OnnxType): string {
  if (!ctx.varies(key)) return ctx.constant([ctx.attr<number>(key)], type, []);
  const d = ctx.attrInts(key);
  const n = ctx.node("Squeeze", [ctx.ints(d), ctx.constant([0], "int64", [1])])[0];
  return type === "int64" ? n : ctx.node("Cast", [n], { to: { i: type === "int32" ? 6 : 1 } })[0];
}

/** The largest int64 ONNX Slice takes as "to the end". */
const TO_END = 2 ** 53 - 1;

/** The view, joining, indexing and creation mappings, by traced op name. */
export const SHAPE_OPS: Record<string, Emitter> = {
  reshape: (ctx) => {
    const shape = ctx.outShape(0);
    const varying = shape.polys.filter((p) => !isConstant(p)).length;
    // One varying size: -1 lets ONNX infer it from the element count, with no size arithmetic in the graph.
    const target: DynInts = varying === 1
      ? { polys: shape.polys.map((p) => (isConstant(p) ? p : constPoly(-1, p))), values: shape.values }
      : shape;
    return ctx.node("Reshape", [ctx.input(0), ctx.ints(target)]);
  },
  permute: (ctx) => ctx.node("Transpose", [ctx.input(0)], { perm: { ints: ctx.attr<number[]>("dims") } }),
  expand: (ctx) => {
    const out = ctx.outShape(0), inp = ctx.inShape(0);
    const lead = out.polys.length - inp.polys.length;
    // A size the input already has stays 1 (Expand broadcasts), so it needs no arithmetic even when it varies.
    const target: DynInts = {
      polys: out.polys.map((p, i) => (i >= lead && samePoly(p, inp.polys[i - lead]) ? constPoly(1, p) : p)),
      values: out.values,
    };
    return ctx.node("Expand", [ctx.input(0), ctx.ints(target)]);
  },
  squeeze: (ctx) => {
    const dims = ctx.attr<number[]>("dims");
    return ctx.node("Squeeze", [ctx.input(0), ctx.constant(dims, "int64", [dims.length])]);
  },
  unsqueeze: (ctx) => ctx.node("Unsqueeze", [ctx.input(0), ctx.constant([ctx.attr<number>("dim")], "int64", [1])]),
  slice: (ctx) => {
    const dim = ctx.attr<number>("dim"), step = ctx.attr<number>("step");
    const start = ctx.attrInts("start"), end = ctx.attrInts("end");
    const size = ctx.inShape(0).polys[dim];
    const toEnd = samePoly(end.polys[0], size);
    return ctx.node("Slice", [
      ctx.input(0),
      ctx.ints(start),
      toEnd ? ctx.constant([TO_END], "int64", [1]) : ctx.ints(end),
      ctx.constant([dim], "int64", [1]),
      ctx.constant([step], "int64", [1]),
    ]);
  },
  cat: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("Concat", ctx.rec.inputs.map((_, i) => ctx.operand(i, t)), {
      axis: { i: ctx.attr<number>("dim") },
    });
  },
  indexSelect: (ctx) => ctx.node("Gather", [ctx.input(0), ctx.input(1)], { axis: { i: ctx.attr<number>("dim") } }),
  gather: (ctx) => ctx.node("GatherElements", [ctx.input(0), ctx.input(1)], { axis: { i: ctx.attr<number>("dim") } }),
  embedding: (ctx) => ctx.node("Gather", [ctx.input(1), ctx.input(0)], { axis: { i: 0 } }),
  tril: (ctx) => trilu(ctx, 0),
  triu: (ctx) => trilu(ctx, 1),
  constant: (ctx) => {
    const shape = ctx.outShape(0);
    if (!isStatic(shape)) {
      ctx.fail(
        `forward makes a constant tensor whose shape [${shape.values.join(", ")}] changes with a dynamic axis; ` +
          `make it from the input (zerosLike, expand) or with full/arange, which export their shape`,
      );
    }
    return [ctx.tensorInit(ctx.output(0), "constant")];
  },
  full: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("ConstantOfShape", [ctx.ints(ctx.outShape(0))], {
      value: { t: { values: [ctx.attr<number>("value")], type: t, dims: [1] } },
    });
  },
  arange: (ctx) => {
    const t = ctx.output(0).dtype as OnnxType;
    return ctx.node("Range", [scalarAttr(ctx, "start", t), scalarAttr(ctx, "end", t), scalarAttr(ctx, "step", t)]);
  },
};

function trilu(ctx: OpContext, upper: number): string[] {
  if (ctx.opset < 14) ctx.fail(`ONNX's Trilu needs opset 14 or later, the export asks for ${ctx.opset}`);
  const k = ctx.constant([ctx.attr<number>("diagonal")], "int64", []);
  return ctx.node("Trilu", [ctx.input(0), k], { upper: { i: upper } });
}
