/**
 * 2-D pooling, each beside its derivative rule: max pooling (its argmax
 * indices are kept for the backward kernel), average pooling, and adaptive
 * average pooling (any output size, PyTorch's window formula). The backward
 * rules record their own derivatives, so gradients through pooling can be
 * differentiated again (`createGraph`).
 *
 * @module
 */

import type { Pool2dGeometry } from "../backend.ts";
import { fmtShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { tensor } from "./creation.ts";
import { pair, type Size2, windowOutSize } from "./conv.ts";
import { traced } from "../trace.ts";

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Step between windows (default: the kernel size). */
  stride?: Size2 | null;
  /** Implicit -∞ padding on each side, at most half the kernel (default 0). */
  padding?: Size2;
  /** Spacing between window taps (default 1). */
  dilation?: Size2;
  /** Round the output size up, so windows may run past the edge (default false). */
  ceilMode?: boolean;
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions {
  /** Step between windows (default: the kernel size). */
  stride?: Size2 | null;
  /** Implicit zero padding on each side, at most half the kernel (default 0). */
  padding?: Size2;
  /** Round the output size up (default false). */
  ceilMode?: boolean;
  /** Whether padded cells count in the divisor (default true, like PyTorch). */
  countIncludePad?: boolean;
}

function geometry(
  op: string,
  x: Tensor,
  kernelSize: Size2,
  stride: Size2 | null | undefined,
  padding: Size2,
  dilation: Size2,
  ceilMode: boolean,
  countIncludePad: boolean,
): Pool2dGeometry {
  if (x.ndim !== 4) throw new RangeError(`${op}: expected input [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new TypeError(`${op}: expected a floating-point input, got dtype ${x.dtype}`);
  }
  const [kh, kw] = pair(op, "kernelSize", kernelSize, 1);
  const [strideH, strideW] = pair(op, "stride", stride ?? kernelSize, 1);
  const [padH, padW] = pair(op, "padding", padding, 0);
  const [dilationH, dilationW] = pair(op, "dilation", dilation, 1);
  if (padH > kh / 2 || padW > kw / 2) {
    throw new RangeError(`${op}: padding ${padH}×${padW} must be at most half the kernel size ${kh}×${kw}`);
  }
  const [n, c, h, w] = x.shape;
  const outH = windowOutSize(h, kh, strideH, padH, dilationH, ceilMode);
  const outW = windowOutSize(w, kw, strideW, padW, dilationW, ceilMode);
  if (outH <= 0 || outW <= 0) {
    throw new RangeError(
      `${op}: kernel ${kh}×${kw} is larger than the padded input ${h + 2 * padH}×${w + 2 * padW} of input ${
        fmtShape(x.shape)
      }`,
    );
  }
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    outH,
    outW,
    countIncludePad,
  };
}

/** A pooling op's window as a trace reports it. */
function poolAttrs(g: Pool2dGeometry, ceilMode: boolean): Record<string, unknown> {
  return {
    kernel: [g.kh, g.kw],
    stride: [g.strideH, g.strideW],
    padding: [g.padH, g.padW],
    dilation: [g.dilationH, g.dilationW],
    ceilMode,
  };
}

/** Runs `fn` on a 4-D view of a 3-D (unbatched) input and drops the batch dim again. */
function batched(x: Tensor, fn: (x4: Tensor) => Tensor): Tensor {
  return x.ndim === 3 ? fn(x.unsqueeze(0)).squeeze(0) : fn(x);
}

/**
 * Max pooling of x `[N, C, H, W]` (or `[C, H, W]`) over `kernelSize` windows.
 * Use {@link maxPool2dWithIndices} to also get the argmax positions.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { maxPool2d } from "./pool.ts";
 * console.log(maxPool2d(randn([1, 3, 8, 8]), 2).shape); // [1, 3, 4, 4]
 * ```
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): Tensor {
  return maxPool2dWithIndices(x, kernelSize, options)[0];
}

/** Max pooling returning `[values, indices]`; indices are int32 flat `h*w` positions in each plane (PyTorch's). */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: Size2,
  options: MaxPool2dOptions = {},
): [Tensor, Tensor] {
  if (x.ndim === 3) {
    const [v, i] = maxPool2dWithIndices(x.unsqueeze(0), kernelSize, options);
    return [v.squeeze(0), i.squeeze(0)];
  }
  const op = "maxPool2d";
  const g = geometry(
    op,
    x,
    kernelSize,
    options.stride,
    options.padding ?? 0,
    options.dilation ?? 1,
    options.ceilMode ?? false,
    false,
  );
  const shape = [g.n, g.c, g.outH, g.outW];
  const out = empty(shape, x.dtype, x.device, op);
  const indices = empty(shape, "int32", x.device, op);
  backendOf(x, op).maxPool2d(x, out.storage, indices.storage, g);
  const inShape = x.shape;
  record(out, "MaxPool2dBackward", [x], (gy) => {
    const gx = empty(inShape, gy.dtype, gy.device);
    backendOf(gy, op).maxPool2dBackward(gy.contiguous(), indices, gx.storage, g);
    // The backward is linear in gy (the argmax positions are constants): its derivative reads gg back at the
    // argmax positions, a gather (PyTorch's max_pool double backward), so `createGraph` works through it.
    return [record(gx, "MaxPool2dBackwardBackward", [gy], (gg) => [
      gg.reshape([g.n, g.c, -1]).gather(2, indices.reshape([g.n, g.c, -1])).reshape(shape),
    ], [indices])];
  }, [indices]);
  return traced([out, indices], op, [x], poolAttrs(g, options.ceilMode ?? false));
}

/**
 * Average pooling of x `[N, C, H, W]` (or `[C, H, W]`) over `kernelSize` windows.
 *
 * @example
 * ```ts
 * import { ones } from "../mod.ts";
 * import { avgPool2d } from "./pool.ts";
 * console.log(avgPool2d(ones([1, 1, 4, 4]), 2).shape); // [1, 1, 2, 2]
 * ```
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  return batched(x, (x4) => {
    const op = "avgPool2d";
    const g = geometry(
      op,
      x4,
      kernelSize,
      options.stride,
      options.padding ?? 0,
      1,
      options.ceilMode ?? false,
      options.countIncludePad ?? true,
    );
    return traced(avgPoolCore(x4, g), op, [x4], {
      ...poolAttrs(g, options.ceilMode ?? false),
      countIncludePad: g.countIncludePad,
    });
  });
}

/**
 * Average pooling on geometry `g`, recorded. Pooling is linear, so its backward is its adjoint and the adjoint's
 * derivative is the pooling again: each records the other, and `createGraph` works to any order.
 */
function avgPoolCore(x: Tensor, g: Pool2dGeometry): Tensor {
  const out = empty([g.n, g.c, g.outH, g.outW], x.dtype, x.device, "avgPool2d");
  backendOf(x, "avgPool2d").avgPool2d(x, out.storage, g);
  const inShape = x.shape;
  // Linear: neither rule reads a tensor, so nothing is saved.
  return record(out, "AvgPool2dBackward", [x], (gy) => {
    const gx = empty(inShape, gy.dtype, gy.device);
    backendOf(gy, "avgPool2d").avgPool2dBackward(gy.contiguous(), gx.storage, g);
    return [record(gx, "AvgPool2dBackwardBackward", [gy], (gg) => [avgPoolCore(gg, g)], [])];
  }, []);
}

/** The `[out, size]` matrix whose row `i` averages PyTorch's adaptive window `[⌊i·size/out⌋, ⌈(i+1)·size/out⌉)`. */
function adaptiveMatrix(size: number, out: number, x: Tensor): Tensor {
  const m: number[][] = [];
  for (let i = 0; i < out; i++) {
    const lo = Math.floor((i * size) / out), hi = Math.ceil(((i + 1) * size) / out);
    const row = new Array<number>(size).fill(0);
    for (let j = lo; j < hi; j++) row[j] = 1 / (hi - lo);
    m.push(row);
  }
  return tensor(m, { dtype: x.dtype, device: x.device });
}

/**
 * Adaptive average pooling to a fixed output size `[outH, outW]` (a number:
 * square; `null` in a pair keeps that input size), with PyTorch's windows
 * `[⌊i·H/outH⌋, ⌈(i+1)·H/outH⌉)`. Sizes that divide the input use the
 * average-pooling kernel; others use two small averaging matrices (the
 * window mean is separable), so the gradient is exact either way.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { adaptiveAvgPool2d } from "./pool.ts";
 * console.log(adaptiveAvgPool2d(randn([2, 8, 7, 7]), 1).shape); // [2, 8, 1, 1]
 * ```
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  return batched(x, (x4) => {
    const op = "adaptiveAvgPool2d";
    if (x4.ndim !== 4) {
      throw new RangeError(`${op}: expected input [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
    }
    const [, , h, w] = x4.shape;
    const oh = typeof outputSize === "number" ? outputSize : outputSize[0] ?? h;
    const ow = typeof outputSize === "number" ? outputSize : outputSize[1] ?? w;
    if (![oh, ow].every((s) => Number.isInteger(s) && s >= 1)) {
      throw new RangeError(`${op}: output size must be positive integers, got ${JSON.stringify(outputSize)}`);
    }
    let y: Tensor;
    if (oh === 1 && ow === 1) y = x4.mean([2, 3], { keepdim: true });
    else if (h % oh === 0 && w % ow === 0) y = avgPool2d(x4, [h / oh, w / ow]);
    else {
      const ah = adaptiveMatrix(h, oh, x4), aw = adaptiveMatrix(w, ow, x4);
      y = ah.matmul(x4.matmul(aw.t()));
    }
    return traced(y, op, [x4], { outputSize: [oh, ow] });
  });
}

/** Re-exported so `Size2` users need one import. */
export type { Size2 };
