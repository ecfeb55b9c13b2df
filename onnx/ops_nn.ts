/**
 * ONNX mappings of reductions, matmul, softmax and the layer ops:
 * convolution, pooling, batch and layer normalization.
 *
 * @module
 */

import type { DType } from "@dendrite/tensor";
import { dataType, type Emitter, isStatic, type OpContext } from "./graph.ts";

const keep = (ctx: OpContext) => ({ keepdims: { i: ctx.attr<boolean>("keepdim") ? 1 : 0 } });

/** A reduction whose axes are an attribute up to opset 17 (ReduceMean, ReduceMax, …). */
function reduceAttr(opType: string): Emitter {
  return (ctx) => ctx.node(opType, [ctx.input(0)], { axes: { ints: ctx.attr<number[]>("dims") }, ...keep(ctx) });
}

/** `[values, indices]` of max/min along a dim; ONNX's ArgMax gives int64, ours are int32. */
function extremeWithIndex(reduce: string, arg: string): Emitter {
  return (ctx) => {
    const d = ctx.attr<number>("dim"), x = ctx.input(0);
    const values = ctx.node(reduce, [x], { axes: { ints: [d] }, ...keep(ctx) })[0];
    const idx = ctx.node(arg, [x], { axis: { i: d }, ...keep(ctx) })[0];
    return [values, ctx.node("Cast", [idx], { to: { i: dataType("int32") } })[0]];
  };
}

function argReduce(opType: string): Emitter {
  return (ctx) => {
    const dim = ctx.attr<number | null>("dim");
    const cast = (n: string) => ctx.node("Cast", [n], { to: { i: dataType("int32") } })[0];
    if (dim !== null) return [cast(ctx.node(opType, [ctx.input(0)], { axis: { i: dim }, ...keep(ctx) })[0])];
    const flat = ctx.node("Reshape", [ctx.input(0), ctx.constant([-1], "int64", [1])])[0];
    const r = cast(ctx.node(opType, [flat], { axis: { i: 0 }, keepdims: { i: 0 } })[0]);
    if (!ctx.attr<boolean>("keepdim")) return [r];
    const rank = ctx.inTensor(0).ndim;
    return ctx.node("Reshape", [r, ctx.constant(new Array(rank).fill(1), "int64", [rank])]);
  };
}

/** The element count over `dims` of input 0, as a 0-d tensor of `type` (computed when it varies). */
function countOver(ctx: OpContext, dims: readonly number[], type: DType): string {
  const shape = ctx.inShape(0);
  const polys = dims.map((d) => shape.polys[d]);
  const sub = { polys, values: dims.map((d) => shape.values[d]) };
  if (isStatic(sub)) return ctx.constant([polys.reduce((p, q) => p * q.constant, 1)], type, []);
  const n = ctx.node("ReduceProd", [ctx.ints(sub)], { keepdims: { i: 0 } })[0];
  return ctx.node("Cast", [n], { to: { i: dataType(type) } })[0];
}

/** The reduction and layer mappings, by traced op name. */
export const NN_OPS: Record<string, Emitter> = {
  sum: (ctx) => {
    const dims = ctx.attr<number[]>("dims");
    return ctx.node("ReduceSum", [ctx.input(0), ctx.constant(dims, "int64", [dims.length])], keep(ctx));
  },
  mean: reduceAttr("ReduceMean"),
  prod: reduceAttr("ReduceProd"),
  amax: reduceAttr("ReduceMax"),
  amin: reduceAttr("ReduceMin"),
  logsumexp: reduceAttr("ReduceLogSumExp"),
  max: extremeWithIndex("ReduceMax", "ArgMax"),
  min: extremeWithIndex("ReduceMin", "ArgMin"),
  argmax: argReduce("ArgMax"),
  argmin: argReduce("ArgMin"),
  // The mean of squared deviations times n / (n - correction), n counted from the input's shape.
  var: (ctx) => {
    const dims = ctx.attr<number[]>("dims"), x = ctx.input(0), t = ctx.inTensor(0).dtype;
    const mean = ctx.node("ReduceMean", [x], { axes: { ints: dims }, keepdims: { i: 1 } })[0];
    const dev = ctx.node("Sub", [x, mean])[0];
    const ms = ctx.node("ReduceMean", [ctx.node("Mul", [dev, dev])[0]], { axes: { ints: dims }, ...keep(ctx) })[0];
    const n = countOver(ctx, dims, t);
    const corrected = ctx.node("Sub", [n, ctx.constant([ctx.attr<number>("correction")], t, [])])[0];
    return ctx.node("Mul", [ms, ctx.node("Div", [n, corrected])[0]]);
  },
  // PyTorch's export: Gemm for a 2-D input, else MatMul with the transposed weight (folded by ONNX Runtime).
  linear: (ctx) => {
    const t = ctx.output(0).dtype, x = ctx.operand(0, t), w = ctx.operand(1, t);
    if (ctx.inTensor(0).ndim === 2) {
      return ctx.node("Gemm", ctx.has(2) ? [x, w, ctx.operand(2, t)] : [x, w], { transB: { i: 1 } });
    }
    const y = ctx.node("MatMul", [x, ctx.node("Transpose", [w], { perm: { ints: [1, 0] } })[0]]);
    return ctx.has(2) ? ctx.node("Add", [y[0], ctx.operand(2, t)]) : y;
  },
  matmul: (ctx) => {
    const t = ctx.output(0).dtype;
    return ctx.node("MatMul", [ctx.operand(0, t), ctx.operand(1, t)]);
  },
  softmax: (ctx) => ctx.node("Softmax", [ctx.input(0)], { axis: { i: ctx.attr<number>("dim") } }),
  logSoftmax: (ctx) => ctx.node("LogSoftmax", [ctx.input(0)], { axis: { i: ctx.attr<number>("dim") } }),
  conv2d: (ctx) => {
    const inputs = [ctx.input(0), ctx.input(1)];
    if (ctx.has(2)) inputs.push(ctx.input(2));
    return ctx.node("Conv", inputs, {
      kernel_shape: { ints: ctx.attr<number[]>("kernel") },
      strides: { ints: ctx.attr<number[]>("stride") },
      pads: { ints: ctx.attr<number[]>("pads") },
      dilations: { ints: ctx.attr<number[]>("dilation") },
      group: { i: ctx.attr<number>("groups") },
    });
  },
  // Only the values: ONNX's indices count over the whole tensor, ours within each plane.
  maxPool2d: (ctx) => {
    const [pH, pW] = ctx.attr<number[]>("padding");
    const values = ctx.node("MaxPool", [ctx.input(0)], {
      kernel_shape: { ints: ctx.attr<number[]>("kernel") },
      strides: { ints: ctx.attr<number[]>("stride") },
      pads: { ints: [pH, pW, pH, pW] },
      dilations: { ints: ctx.attr<number[]>("dilation") },
      ceil_mode: { i: ctx.attr<boolean>("ceilMode") ? 1 : 0 },
    })[0];
    return [values, ""];
  },
  avgPool2d: (ctx) => {
    const [pH, pW] = ctx.attr<number[]>("padding");
    return ctx.node("AveragePool", [ctx.input(0)], {
      kernel_shape: { ints: ctx.attr<number[]>("kernel") },
      strides: { ints: ctx.attr<number[]>("stride") },
      pads: { ints: [pH, pW, pH, pW] },
      ceil_mode: { i: ctx.attr<boolean>("ceilMode") ? 1 : 0 },
      count_include_pad: { i: ctx.attr<boolean>("countIncludePad") ? 1 : 0 },
    });
  },
  adaptiveAvgPool2d: (ctx) => {
    const [oh, ow] = ctx.attr<number[]>("outputSize");
    if (oh === 1 && ow === 1) return ctx.node("GlobalAveragePool", [ctx.input(0)]);
    const shape = ctx.inShape(0);
    if (!isStatic({ polys: shape.polys.slice(2), values: [] })) {
      ctx.fail(`adaptive pooling to ${oh}×${ow} needs a fixed input height and width; drop them from dynamicAxes`);
    }
    const [, , h, w] = ctx.inTensor(0).shape;
    if (h % oh === 0 && w % ow === 0) {
      const k = [h / oh, w / ow];
      return ctx.node("AveragePool", [ctx.input(0)], { kernel_shape: { ints: k }, strides: { ints: k } });
    }
    // PyTorch's windows [⌊i·n/out⌋, ⌈(i+1)·n/out⌉) as averaging matrices: y = A_h · x · A_wᵀ.
    const t = ctx.inTensor(0).dtype;
    const ah = ctx.constant(adaptiveMatrix(h, oh), t, [oh, h]);
    const awT = ctx.constant(transpose(adaptiveMatrix(w, ow), ow, w), t, [w, ow]);
    return ctx.node("MatMul", [ah, ctx.node("MatMul", [ctx.input(0), awT])[0]]);
  },
  batchNorm: (ctx) => {
    if (ctx.attr<boolean>("training")) {
      ctx.fail(
        "batch norm with batch statistics (training mode, or a layer without running statistics) has no ONNX " +
          "mapping; onnx.export runs the model in eval mode, so give the layer trackRunningStats",
      );
    }
    const x = ctx.inTensor(0), c = x.shape[1], t = x.dtype;
    const scale = ctx.has(3) ? ctx.input(3) : ctx.constant(new Array(c).fill(1), t, [c]);
    const shift = ctx.has(4) ? ctx.input(4) : ctx.constant(new Array(c).fill(0), t, [c]);
    return ctx.node("BatchNormalization", [ctx.input(0), scale, shift, ctx.operand(1, t), ctx.operand(2, t)], {
      epsilon: { f: ctx.attr<number>("eps") },
    });
  },
  layerNorm: (ctx) => {
    const ns = ctx.attr<number[]>("normalizedShape"), eps = ctx.attr<number>("eps");
    const x = ctx.input(0), t = ctx.inTensor(0).dtype, size = ns.reduce((a, b) => a * b, 1);
    if (ctx.opset >= 17) {
      const scale = ctx.has(1) ? ctx.input(1) : ctx.constant(new Array(size).fill(1), t, ns);
      const inputs = [x, scale];
      if (ctx.has(2)) inputs.push(ctx.input(2));
      return [ctx.node("LayerNormalization", inputs, { axis: { i: -ns.length }, epsilon: { f: eps } }, 1)[0]];
    }
    const rank = ctx.inTensor(0).ndim, axes = ns.map((_, i) => rank - ns.length + i);
    const mean = ctx.node("ReduceMean", [x], { axes: { ints: axes }, keepdims: { i: 1 } })[0];
    const dev = ctx.node("Sub", [x, mean])[0];
    const v = ctx.node("ReduceMean", [ctx.node("Mul", [dev, dev])[0]], { axes: { ints: axes }, keepdims: { i: 1 } })[0];
    const std = ctx.node("Sqrt", [ctx.node("Add", [v, ctx.constant([eps], t, [])])[0]])[0];
    let y = ctx.node("Div", [dev, std])[0];
    if (ctx.has(1)) y = ctx.node("Mul", [y, ctx.input(1)])[0];
    if (ctx.has(2)) y = ctx.node("Add", [y, ctx.input(2)])[0];
    return [y];
  },
};

function adaptiveMatrix(size: number, out: number): number[] {
  const m = new Array<number>(out * size).fill(0);
  for (let i = 0; i < out; i++) {
    const lo = Math.floor((i * size) / out), hi = Math.ceil(((i + 1) * size) / out);
    for (let j = lo; j < hi; j++) m[i * size + j] = 1 / (hi - lo);
  }
  return m;
}

function transpose(m: number[], rows: number, cols: number): number[] {
  const out = new Array<number>(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j];
  return out;
}
