/**
 * 2-D convolution, beside its derivative rule. The forward and both backward
 * passes are Backend kernels (`conv2d`, `conv2dBackwardInput`,
 * `conv2dBackwardWeight`); the bias is an ordinary broadcast add.
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import { fmtShape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { zeros } from "./creation.ts";
import { cat, stack } from "./join.ts";
import { traced } from "../trace.ts";

/** A size per spatial axis: one number for both, or `[h, w]`. */
export type Size2 = number | readonly [number, number];

/** Padding of a convolution: a size, or "same" (output as large as the input, stride 1) or "valid" (none). */
export type Conv2dPadding = Size2 | "same" | "valid";

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: Size2;
  /** Zero padding on each side (default 0). */
  padding?: Conv2dPadding;
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
  /** Channel groups: input and output channels split into this many independent convolutions (default 1). */
  groups?: number;
}

/** `[h, w]` from a {@link Size2}, checked to be integers ≥ `min`. */
export function pair(op: string, name: string, v: Size2, min: number): [number, number] {
  const ok = typeof v === "number" || (Array.isArray(v) && v.length === 2);
  const p: [number, number] = typeof v === "number" ? [v, v] : ok ? [v[0], v[1]] : [NaN, NaN];
  if (p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Output size of a sliding window along one axis (PyTorch's formula; ceil mode for pooling). */
export function windowOutSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  // In ceil mode the last window must start inside the input or its left padding.
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * 2-D convolution (cross-correlation, like PyTorch) of x `[N, Cin, H, W]` (or
 * unbatched `[Cin, H, W]`) with weight `[Cout, Cin/groups, kH, kW]`, plus an
 * optional bias `[Cout]`.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { conv2d } from "./conv.ts";
 * const y = conv2d(randn([2, 3, 8, 8]), randn([4, 3, 3, 3]), null, { padding: "same" });
 * console.log(y.shape); // [2, 4, 8, 8]
 * ```
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = "conv2d";
  if (!(x instanceof Tensor) || !(weight instanceof Tensor)) {
    throw new TypeError(`${op}: input and weight must be Tensors`);
  }
  commonDevice(op, x, weight, bias);
  if (x.ndim === 3) {
    return conv2d(x.unsqueeze(0), weight, bias, options).squeeze(0);
  }
  if (x.ndim !== 4) {
    throw new RangeError(`${op}: expected input [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
  }
  if (weight.ndim !== 4) {
    throw new RangeError(`${op}: expected weight [Cout, Cin/groups, kH, kW], got ${fmtShape(weight.shape)}`);
  }
  if (x.dtype !== weight.dtype || (x.dtype !== "float32" && x.dtype !== "float64")) {
    throw new TypeError(`${op}: input and weight must share a floating dtype, got ${x.dtype} and ${weight.dtype}`);
  }
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer`);
  const [n, cIn, h, w] = x.shape;
  const [cOut, cInG, kh, kw] = weight.shape;
  if (cIn !== cInG * groups || cOut % groups !== 0) {
    throw new RangeError(
      `${op}: weight ${fmtShape(weight.shape)} with groups=${groups} expects input [N, ${cInG * groups}, H, W]${
        cOut % groups !== 0 ? ` and ${cOut} output channels divisible by ${groups}` : ""
      }, got input ${fmtShape(x.shape)}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cOut)) {
    throw new RangeError(`${op}: expected bias [${cOut}], got ${fmtShape(bias.shape)}`);
  }
  const [strideH, strideW] = pair(op, "stride", options.stride ?? 1, 1);
  const [dilationH, dilationW] = pair(op, "dilation", options.dilation ?? 1, 1);
  const padding = options.padding ?? 0;
  let padH: number, padW: number;
  // "same" with an odd total padding puts the extra row/column at the bottom/right (PyTorch):
  // we pad symmetrically by the larger half and drop the first output row/column.
  let trimH = 0, trimW = 0;
  if (padding === "valid") padH = padW = 0;
  else if (padding === "same") {
    if (strideH !== 1 || strideW !== 1) throw new RangeError(`${op}: padding="same" requires stride 1`);
    const totH = dilationH * (kh - 1), totW = dilationW * (kw - 1);
    padH = totH - Math.floor(totH / 2);
    padW = totW - Math.floor(totW / 2);
    trimH = totH % 2, trimW = totW % 2;
  } else [padH, padW] = pair(op, "padding", padding, 0);
  const outH = windowOutSize(h, kh, strideH, padH, dilationH);
  const outW = windowOutSize(w, kw, strideW, padW, dilationW);
  if (outH <= 0 || outW <= 0) {
    throw new RangeError(
      `${op}: kernel ${kh}×${kw} (dilation ${dilationH}×${dilationW}) is larger than the padded input ${h + 2 * padH}×${
        w + 2 * padW
      } of input ${fmtShape(x.shape)}`,
    );
  }
  const g: Conv2dGeometry = {
    n,
    cIn,
    h,
    w,
    cOut,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    outH,
    outW,
  };
  let y = convCore(x, weight, g);
  if (trimH || trimW) y = y.narrow(2, trimH, h).narrow(3, trimW, w);
  if (bias) y = y.add(bias.reshape([1, cOut, 1, 1]));
  // The padding as ONNX writes it, [top, left, bottom, right]: the trimmed first row/column of "same" is one less
  // padding at the top/left.
  const pads = [padH - trimH, padW - trimW, padH, padW];
  return traced(y, op, [x, weight, bias ?? null], {
    kernel: [kh, kw],
    stride: [strideH, strideW],
    pads,
    dilation: [dilationH, dilationW],
    groups,
  });
}

/** Options of {@link unfold}. */
export interface UnfoldOptions {
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
  /** Zero padding on each side (default 0). */
  padding?: Size2;
  /** Step between windows (default 1). */
  stride?: Size2;
}

/**
 * Extracts sliding local blocks (PyTorch's `F.unfold`, im2col): x `[N, C, H, W]` (or `[C, H, W]`) becomes
 * `[N, C·kH·kW, L]`, column l holding the window at output position l (row-major over the output grid), rows ordered
 * channel-major then kernel row, kernel column — so `conv2d(x, w)` is `w.reshape([Cout, -1])` times these columns.
 * It is composed of views: one strided slice of the zero-padded input per kernel tap, stacked; so its gradient (and
 * the gradient's gradient) comes from those ops.
 *
 * @example
 * ```ts
 * import { arange } from "../mod.ts";
 * import { unfold } from "./conv.ts";
 * const cols = unfold(arange(16).reshape([1, 1, 4, 4]), 2, { stride: 2 });
 * console.log(cols.shape); // [1, 4, 4]: four 2×2 windows
 * ```
 */
export function unfold(x: Tensor, kernelSize: Size2, options: UnfoldOptions = {}): Tensor {
  const op = "unfold";
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor`);
  if (x.ndim === 3) return unfold(x.unsqueeze(0), kernelSize, options).squeeze(0);
  if (x.ndim !== 4) throw new RangeError(`${op}: expected input [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
  const [kh, kw] = pair(op, "kernelSize", kernelSize, 1);
  const [sh, sw] = pair(op, "stride", options.stride ?? 1, 1);
  const [ph, pw] = pair(op, "padding", options.padding ?? 0, 0);
  const [dh, dw] = pair(op, "dilation", options.dilation ?? 1, 1);
  const [n, c, h, w] = x.shape;
  const oh = windowOutSize(h, kh, sh, ph, dh), ow = windowOutSize(w, kw, sw, pw, dw);
  if (oh <= 0 || ow <= 0) {
    throw new RangeError(
      `${op}: kernel ${kh}×${kw} (dilation ${dh}×${dw}) is larger than the padded input ${h + 2 * ph}×${w + 2 * pw}`,
    );
  }
  let padded = x;
  if (ph > 0) {
    const rows = zeros([n, c, ph, w], { dtype: x.dtype, device: x.device });
    padded = cat([rows, padded, rows], 2);
  }
  if (pw > 0) {
    const cols = zeros([n, c, h + 2 * ph, pw], { dtype: x.dtype, device: x.device });
    padded = cat([cols, padded, cols], 3);
  }
  const taps: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // Tap (i, j) of every window: rows i·dH, i·dH + sH, …; columns likewise.
      taps.push(
        padded.slice(2, i * dh, i * dh + (oh - 1) * sh + 1, sh).slice(3, j * dw, j * dw + (ow - 1) * sw + 1, sw),
      );
    }
  }
  return stack(taps, 2).reshape([n, c * kh * kw, oh * ow]);
}

// The three convolution kernels as differentiable ops. The forward is bilinear in (input, weight), so each backward
// kernel is bilinear too and its derivatives are the other two kernels (PyTorch's conv double backward): with
// `createGraph` a gradient through a convolution can be differentiated again, to any order. In an ordinary backward
// pass grad mode is off and `record` records nothing, so these cost what the bare kernels cost.

/** `conv2d` of x and weight on geometry `g` (no bias, no "same" trim), recorded. */
function convCore(x: Tensor, weight: Tensor, g: Conv2dGeometry): Tensor {
  const out = empty([g.n, g.cOut, g.outH, g.outW], x.dtype, x.device, "conv2d");
  backendOf(x, "conv2d").conv2d(x, weight, out.storage, g);
  return record(out, "Conv2dBackward", [x, weight], (gy) => [
    x.requiresGrad ? convInputGrad(gy, weight, g, x.shape) : null,
    weight.requiresGrad ? convWeightGrad(gy, x, g, weight.shape) : null,
  ], [weight.requiresGrad ? x : null, x.requiresGrad ? weight : null]);
}

/**
 * The gradient of conv2d's input, `Jₓᵀ·gy` (a transposed convolution of gy with the weight), recorded; also
 * `convTranspose2d`'s forward, which so inherits every derivative order.
 */
export function convInputGrad(gy: Tensor, weight: Tensor, g: Conv2dGeometry, xShape: readonly number[]): Tensor {
  const gc = gy.contiguous();
  const gx = empty(xShape, gc.dtype, gc.device, "conv2d");
  backendOf(gc, "conv2d").conv2dBackwardInput(gc, weight.contiguous(), gx.storage, g);
  // <gg, Jₓᵀ(w)·gy> = <conv(gg, w), gy>: so ∂/∂gy is conv(gg, w) and ∂/∂w is the weight gradient of conv(gg, ·) at gy.
  return record(gx, "Conv2dBackwardInputBackward", [gy, weight], (gg) => [
    gy.requiresGrad ? convCore(gg, weight, g) : null,
    weight.requiresGrad ? convWeightGrad(gy, gg, g, weight.shape) : null,
  ], [weight.requiresGrad ? gy : null, gy.requiresGrad ? weight : null]);
}

/** The gradient of conv2d's weight from gy and the input x, recorded. */
function convWeightGrad(gy: Tensor, x: Tensor, g: Conv2dGeometry, wShape: readonly number[]): Tensor {
  const gc = gy.contiguous();
  const gw = empty(wShape, gc.dtype, gc.device, "conv2d");
  backendOf(gc, "conv2d").conv2dBackwardWeight(gc, x, gw.storage, g);
  // <gg, J_wᵀ(x)·gy> = <conv(x, gg), gy>: so ∂/∂gy is conv(x, gg) and ∂/∂x is the input gradient of conv(·, gg) at gy.
  return record(gw, "Conv2dBackwardWeightBackward", [gy, x], (gg) => [
    gy.requiresGrad ? convCore(x, gg, g) : null,
    x.requiresGrad ? convInputGrad(gy, gg, g, x.shape) : null,
  ], [x.requiresGrad ? gy : null, gy.requiresGrad ? x : null]);
}
