/**
 * ONNX mappings of the image layers generative models are built from:
 * transposed convolution (ConvTranspose), resizing (Resize, with PyTorch's
 * source-index rules) and group normalization (InstanceNormalization over the
 * groups: ONNX's GroupNormalization arrives in opset 18).
 *
 * @module
 */

import type { Attr, Emitter, OpContext } from "./graph.ts";
import { isConstant } from "./sizes.ts";
import { axisTaps } from "@dendrite/tensor";

/** `[C, 1, …, 1]`: a per-channel `[C]` tensor shaped to broadcast over `[N, C, …]` of rank `rank`. */
const perChannel = (c: number, rank: number) => [c, ...new Array<number>(rank - 2).fill(1)];

/**
 * Normalizes each group of `x` viewed as `[N, G, m]` to mean 0 and variance 1
 * (biased): InstanceNormalization for float32 (fused in the runtimes), the
 * plain arithmetic otherwise (ONNX Runtime's InstanceNormalization is float32 only).
 */
function normalizeGroups(ctx: OpContext, grouped: string, groups: number, eps: number): string {
  const t = ctx.inTensor(0).dtype;
  if (t === "float32") {
    const ones = ctx.constant(new Array(groups).fill(1), t, [groups]);
    const zeros = ctx.constant(new Array(groups).fill(0), t, [groups]);
    return ctx.node("InstanceNormalization", [grouped, ones, zeros], { epsilon: { f: eps } })[0];
  }
  const mean = ctx.node("ReduceMean", [grouped], { axes: { ints: [2] }, keepdims: { i: 1 } })[0];
  const dev = ctx.node("Sub", [grouped, mean])[0];
  const v = ctx.node("ReduceMean", [ctx.node("Mul", [dev, dev])[0]], { axes: { ints: [2] }, keepdims: { i: 1 } })[0];
  return ctx.node("Div", [dev, ctx.node("Sqrt", ctx.node("Add", [v, ctx.constant([eps], t, [])]))[0]])[0];
}

/** An ONNX scale that divides exactly in binary: a whole number or 1/2ʲ (so x/scale has no rounding to cross ⌊⌋). */
const exactScale = (s: number) => Number.isInteger(s) || (s > 0 && s < 1 && Number.isInteger(Math.log2(1 / s)));

/**
 * Whether Resize reproduces PyTorch's interpolation along one axis. Resize with `scales` makes ⌊in·f⌋ cells (with
 * f in float32 in ONNX Runtime and ONNX's shape inference, where PyTorch's is float64; both roundings checked) and reads source
 * dst/f; with `sizes`, dst·in/out. Bilinear blends continuously, so a last-bit difference in the source position
 * does not matter; nearest takes ⌊source⌋, which a rounding below a whole number would move by a cell, so it needs a
 * scale that divides exactly.
 */
function resizeReproduces(inSize: number, outSize: number, factor: number | null, mode: string): boolean {
  if (factor !== null) {
    const f32 = Math.fround(factor);
    if (Math.floor(inSize * f32) !== outSize || Math.floor(Math.fround(inSize * f32)) !== outSize) return false;
    return mode === "bilinear" || exactScale(factor);
  }
  return mode === "bilinear" || exactScale(outSize / inSize);
}

/** The `[out, in]` matrix of one axis's taps: row o holds the weights output cell o gives the input cells. */
function tapMatrix(
  inSize: number,
  outSize: number,
  factor: number | null,
  mode: "nearest" | "bilinear",
  align: boolean,
) {
  const taps = axisTaps(inSize, outSize, factor, mode, align);
  const m = new Array<number>(outSize * inSize).fill(0);
  for (let o = 0; o < outSize; o++) {
    m[o * inSize + taps.i0[o]] += taps.l0[o];
    m[o * inSize + taps.i1[o]] += taps.l1[o];
  }
  return m;
}

/**
 * `interpolate` as Resize: nearest with "asymmetric" coordinates and "floor" (PyTorch's ⌊dst·scale⌋), bilinear as
 * "linear" with "half_pixel" (clamped at the edges, as PyTorch's) or "align_corners"; `scales` when PyTorch's rule
 * uses the scale factor itself, `sizes` otherwise. Where Resize would not reproduce PyTorch's cells (a fractional
 * nearest scale, or a float32 output size that differs), a fixed-size image is resized exactly as two MatMuls with
 * PyTorch's own interpolation matrices, `A_h · x · A_wᵀ`.
 */
function emitInterpolate(ctx: OpContext): string[] {
  const mode = ctx.attr<"nearest" | "bilinear">("mode"), align = ctx.attr<boolean>("alignCorners");
  const factor = ctx.attr<[number, number] | null>("scaleFactor");
  const inRule = factor !== null && ctx.attr<boolean>("factorInRule") ? factor : null;
  const inShape = ctx.inShape(0), axisName = (d: number) => (d === 2 ? "height" : "width");
  // ⌊size·factor⌋ is a polynomial of a dynamic height or width (as every size the exporter computes must be) only
  // for a whole factor.
  [2, 3].forEach((d, k) => {
    if (factor !== null && !isConstant(inShape.polys[d]) && !Number.isInteger(factor[k])) {
      ctx.fail(
        `a scaleFactor of ${factor[k]} along the dynamic ${axisName(d)} gives ⌊size·${factor[k]}⌋, which the ` +
          `exporter cannot follow: use a whole scaleFactor or a fixed size there, or drop that axis from dynamicAxes`,
      );
    }
  });
  const [, , h, w] = ctx.inTensor(0).shape, [, , outH, outW] = ctx.output(0).shape;
  const x = ctx.input(0);
  const reproduces = resizeReproduces(h, outH, inRule && inRule[0], mode) &&
    resizeReproduces(w, outW, inRule && inRule[1], mode);
  if (!reproduces) {
    const dynamic = [2, 3].find((d) => !isConstant(inShape.polys[d]));
    if (dynamic !== undefined) {
      ctx.fail(
        `Resize cannot reproduce PyTorch's ${mode} cells from ${h}×${w} to ${outH}×${outW} exactly, and the exact ` +
          `interpolation matrices need a fixed ${axisName(dynamic)}: drop it from dynamicAxes`,
      );
    }
    const t = ctx.inTensor(0).dtype;
    const ah = ctx.constant(tapMatrix(h, outH, inRule && inRule[0], mode, align), t, [outH, h]);
    const aw = tapMatrix(w, outW, inRule && inRule[1], mode, align);
    const awT = ctx.constant(Array.from({ length: w * outW }, (_, k) => aw[(k % outW) * w + Math.floor(k / outW)]), t, [
      w,
      outW,
    ]);
    return ctx.node("MatMul", [ah, ctx.node("MatMul", [x, awT])[0]]);
  }
  const attrs: Record<string, Attr> = mode === "nearest"
    ? { mode: { s: "nearest" }, coordinate_transformation_mode: { s: "asymmetric" }, nearest_mode: { s: "floor" } }
    : { mode: { s: "linear" }, coordinate_transformation_mode: { s: align ? "align_corners" : "half_pixel" } };
  if (inRule !== null) {
    return ctx.node("Resize", [x, "", ctx.constant([1, 1, inRule[0], inRule[1]], "float32", [4])], attrs);
  }
  return ctx.node("Resize", [x, "", "", ctx.ints(ctx.outShape(0))], attrs);
}

/** The image-layer mappings, by traced op name. */
export const IMAGE_OPS: Record<string, Emitter> = {
  // The weight [Cin, Cout/groups, kH, kW] is laid out as ONNX's; pads cut from both sides, outputPadding adds at the end.
  convTranspose2d: (ctx) => {
    const inputs = [ctx.input(0), ctx.input(1)];
    if (ctx.has(2)) inputs.push(ctx.input(2));
    return ctx.node("ConvTranspose", inputs, {
      kernel_shape: { ints: ctx.attr<number[]>("kernel") },
      strides: { ints: ctx.attr<number[]>("stride") },
      pads: { ints: ctx.attr<number[]>("pads") },
      output_padding: { ints: ctx.attr<number[]>("outputPadding") },
      dilations: { ints: ctx.attr<number[]>("dilation") },
      group: { i: ctx.attr<number>("groups") },
    });
  },
  interpolate: emitInterpolate,
  // x [N, C, …] viewed as [N, G, m] (Reshape's 0 keeps N, so a dynamic batch needs no shape arithmetic), normalized
  // per group, viewed back, then scaled and shifted per channel.
  groupNorm: (ctx) => {
    const x = ctx.input(0), xt = ctx.inTensor(0), t = xt.dtype;
    const groups = ctx.attr<number>("numGroups"), eps = ctx.attr<number>("eps");
    const c = xt.shape[1], rank = xt.ndim;
    const grouped = ctx.node("Reshape", [x, ctx.constant([0, groups, -1], "int64", [3])])[0];
    const normalized = normalizeGroups(ctx, grouped, groups, eps);
    let y = ctx.node("Reshape", [normalized, ctx.node("Shape", [x])[0]])[0];
    const shaped = (i: number) =>
      ctx.node("Reshape", [ctx.operand(i, t), ctx.constant(perChannel(c, rank), "int64", [rank - 1])])[0];
    if (ctx.has(1)) y = ctx.node("Mul", [y, shaped(1)])[0];
    if (ctx.has(2)) y = ctx.node("Add", [y, shaped(2)])[0];
    return [y];
  },
};
