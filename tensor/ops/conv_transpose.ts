/**
 * 2-D transposed convolution, beside its derivative rule, on the convolution
 * kernels: a transposed convolution is the gradient of a convolution with
 * respect to its input, so its forward is `conv2dBackwardInput`, its input
 * gradient is `conv2d` and its weight gradient is `conv2dBackwardWeight`, all
 * three with the geometry of the convolution it transposes (whose input is
 * this op's output, and whose output is this op's input).
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import { fmtShape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { commonDevice } from "./core.ts";
import { convInputGrad, pair, type Size2 } from "./conv.ts";
import { traced } from "../trace.ts";

/** Options of {@link convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Step between the input cells' windows in the output (default 1). */
  stride?: Size2;
  /** `dilation·(kernel−1) − padding` zero padding of the equivalent convolution: rows/columns cut from each side of the full output (default 0). */
  padding?: Size2;
  /** Extra rows/columns added to one side of the output; smaller than the stride or the dilation (default 0). */
  outputPadding?: Size2;
  /** Channel groups: input and output channels split into this many independent transposed convolutions (default 1). */
  groups?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
}

/**
 * PyTorch's output size of a transposed convolution along one axis:
 * `(size − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1`.
 */
export function convTransposeOutSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  outputPadding: number,
): number {
  return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
}

/**
 * 2-D transposed convolution (PyTorch's `F.conv_transpose2d`, sometimes called
 * a deconvolution) of x `[N, Cin, H, W]` (or unbatched `[Cin, H, W]`) with
 * weight `[Cin, Cout/groups, kH, kW]` and an optional bias `[Cout]`: every
 * input cell adds its value times the kernel into the output, windows `stride`
 * apart. The output is `[N, Cout, Hout, Wout]` with
 * `Hout = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1`.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { convTranspose2d } from "./conv_transpose.ts";
 * // Doubles 7×7 feature maps to 14×14, as a DCGAN generator does.
 * const y = convTranspose2d(randn([2, 8, 7, 7]), randn([8, 4, 4, 4]), null, { stride: 2, padding: 1 });
 * console.log(y.shape); // [2, 4, 14, 14]
 * ```
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  const op = "convTranspose2d";
  if (!(x instanceof Tensor) || !(weight instanceof Tensor)) {
    throw new TypeError(`${op}: input and weight must be Tensors`);
  }
  commonDevice(op, x, weight, bias);
  if (x.ndim === 3) return convTranspose2d(x.unsqueeze(0), weight, bias, options).squeeze(0);
  if (x.ndim !== 4) {
    throw new RangeError(`${op}: expected input [N, Cin, H, W] or [Cin, H, W], got ${fmtShape(x.shape)}`);
  }
  if (weight.ndim !== 4) {
    throw new RangeError(`${op}: expected weight [Cin, Cout/groups, kH, kW], got ${fmtShape(weight.shape)}`);
  }
  if (x.dtype !== weight.dtype || (x.dtype !== "float32" && x.dtype !== "float64")) {
    throw new TypeError(`${op}: input and weight must share a floating dtype, got ${x.dtype} and ${weight.dtype}`);
  }
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
  const [n, cIn, h, w] = x.shape;
  const [wIn, cOutG, kh, kw] = weight.shape;
  if (cIn % groups !== 0) {
    throw new RangeError(`${op}: groups=${groups} must divide the ${cIn} input channels of input ${fmtShape(x.shape)}`);
  }
  if (wIn !== cIn) {
    throw new RangeError(
      `${op}: weight ${fmtShape(weight.shape)} expects input [N, ${wIn}, H, W], got input ${fmtShape(x.shape)}`,
    );
  }
  const cOut = cOutG * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cOut)) {
    throw new RangeError(`${op}: expected bias [${cOut}], got ${fmtShape(bias.shape)}`);
  }
  const [strideH, strideW] = pair(op, "stride", options.stride ?? 1, 1);
  const [padH, padW] = pair(op, "padding", options.padding ?? 0, 0);
  const [opH, opW] = pair(op, "outputPadding", options.outputPadding ?? 0, 0);
  const [dilationH, dilationW] = pair(op, "dilation", options.dilation ?? 1, 1);
  if ((opH >= strideH && opH >= dilationH) || (opW >= strideW && opW >= dilationW)) {
    throw new RangeError(
      `${op}: outputPadding ${opH}×${opW} must be smaller than either the stride ${strideH}×${strideW} or the dilation ${dilationH}×${dilationW}`,
    );
  }
  const outH = convTransposeOutSize(h, kh, strideH, padH, dilationH, opH);
  const outW = convTransposeOutSize(w, kw, strideW, padW, dilationW, opW);
  if (outH <= 0 || outW <= 0) {
    throw new RangeError(
      `${op}: input ${
        fmtShape(x.shape)
      } with kernel ${kh}×${kw}, stride ${strideH}×${strideW}, padding ${padH}×${padW}, dilation ${dilationH}×${dilationW} and outputPadding ${opH}×${opW} gives an output of ${outH}×${outW}, which is too small`,
    );
  }
  // The convolution this op transposes: its input is our output, its output our input.
  const g: Conv2dGeometry = {
    n,
    cIn: cOut,
    h: outH,
    w: outW,
    cOut: cIn,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    outH: h,
    outW: w,
  };
  // The transposed convolution is conv2d's input gradient, recorded with its derivatives (conv2d and conv2d's weight
  // gradient, each recorded in turn), so gradients through it can be differentiated again (createGraph).
  let y = convInputGrad(x, weight, g, [n, cOut, outH, outW]);
  if (bias) y = y.add(bias.reshape([1, cOut, 1, 1]));
  // One traced op (superseding the bias add), with the padding as ONNX writes it: [top, left, bottom, right].
  return traced(y, op, [x, weight, bias ?? null], {
    kernel: [kh, kw],
    stride: [strideH, strideW],
    pads: [padH, padW, padH, padW],
    outputPadding: [opH, opW],
    dilation: [dilationH, dilationW],
    groups,
  });
}
