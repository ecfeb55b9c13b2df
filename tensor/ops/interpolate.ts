/**
 * 2-D interpolation (resizing) of images, beside its derivative rule, on the
 * Backend's `interpolate2d` / `interpolate2dBackward` kernels.
 *
 * @module
 */

import type { Interpolate2dGeometry } from "../backend.ts";
import { fmtShape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { pair, type Size2 } from "./conv.ts";
import { traced } from "../trace.ts";

/** How {@link interpolate} fills output cells: the nearest input cell, or the bilinear blend of the four around. */
export type InterpolateMode = "nearest" | "bilinear";

/** Options of {@link interpolate}: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** The output size `[H, W]` (or one number for both). */
  size?: Size2 | null;
  /** The factor the input size is multiplied by (and rounded down), per axis or one for both. */
  scaleFactor?: number | readonly [number, number] | null;
  /** "nearest" (default) or "bilinear". */
  mode?: InterpolateMode;
  /**
   * Bilinear only: align the centres of the corner cells of input and output
   * (scale `(in − 1)/(out − 1)`) instead of their outer edges (default false).
   */
  alignCorners?: boolean | null;
  /**
   * With `scaleFactor`: compute the output size from it, then interpolate as
   * if that size had been asked for (default false: PyTorch's default, which
   * uses the factor itself in the source-index rule).
   */
  recomputeScaleFactor?: boolean | null;
}

function scalePair(op: string, v: number | readonly [number, number]): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [
    NaN,
    NaN,
  ];
  if (p.some((s) => typeof s !== "number" || !(s > 0) || !Number.isFinite(s))) {
    throw new RangeError(`${op}: scaleFactor must be a positive number or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/**
 * Checks what can be checked of interpolation options before seeing an input
 * (PyTorch's rules: a known mode, exactly one of size and scale factor,
 * positive sizes and factors, alignCorners only for bilinear); `op` names the
 * caller in errors.
 */
export function checkInterpolateOptions(op: string, options: InterpolateOptions): void {
  const mode = options.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") {
    throw new RangeError(`${op}: mode must be "nearest" or "bilinear", got ${JSON.stringify(mode)}`);
  }
  const hasSize = options.size !== undefined && options.size !== null;
  const hasScale = options.scaleFactor !== undefined && options.scaleFactor !== null;
  if (hasSize && hasScale) {
    throw new RangeError(
      `${op}: only one of size and scaleFactor should be given, got size ${
        JSON.stringify(options.size)
      } and scaleFactor ${JSON.stringify(options.scaleFactor)}`,
    );
  }
  if (!hasSize && !hasScale) throw new RangeError(`${op}: either size or scaleFactor should be given`);
  if (hasSize) pair(op, "size", options.size!, 1);
  else scalePair(op, options.scaleFactor!);
  if (options.alignCorners !== undefined && options.alignCorners !== null && mode !== "bilinear") {
    throw new RangeError(`${op}: alignCorners can only be set with mode "bilinear", got mode "${mode}"`);
  }
}

/**
 * The geometry of an interpolation of `shape` `[N, C, H, W]`, checked with
 * PyTorch's rules (see {@link checkInterpolateOptions}, and outputs of at least
 * one cell); `op` names the caller in errors.
 */
export function interpolateGeometry(
  op: string,
  shape: readonly number[],
  options: InterpolateOptions,
): Interpolate2dGeometry {
  checkInterpolateOptions(op, options);
  if (shape.length !== 4) {
    throw new RangeError(`${op}: expected a 4-D input [N, C, H, W] (2-D interpolation), got ${fmtShape(shape)}`);
  }
  const mode = options.mode ?? "nearest", alignCorners = options.alignCorners ?? false;
  const [n, c, h, w] = shape;
  if (h < 1 || w < 1) throw new RangeError(`${op}: input sizes must be at least 1, got input ${fmtShape(shape)}`);
  let outH: number, outW: number, scaleFactorH: number | null = null, scaleFactorW: number | null = null;
  if (options.size !== undefined && options.size !== null) [outH, outW] = pair(op, "size", options.size, 1);
  else {
    const [sh, sw] = scalePair(op, options.scaleFactor!);
    outH = Math.floor(h * sh);
    outW = Math.floor(w * sw);
    if (outH < 1 || outW < 1) {
      throw new RangeError(
        `${op}: input ${
          fmtShape(shape)
        } with scaleFactor ${sh}×${sw} gives an output of ${outH}×${outW}; output sizes must be at least 1`,
      );
    }
    if (!options.recomputeScaleFactor) [scaleFactorH, scaleFactorW] = [sh, sw];
  }
  return { n, c, h, w, outH, outW, mode, alignCorners, scaleFactorH, scaleFactorW };
}

/**
 * Resizes images `[N, C, H, W]` to a `size` or by a `scaleFactor`, with
 * PyTorch's `F.interpolate` rules for "nearest" and "bilinear" (with and
 * without `alignCorners`), differentiable in its input.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { interpolate } from "./interpolate.ts";
 * const x = tensor([[[[1, 2], [3, 4]]]]);
 * interpolate(x, { scaleFactor: 2 }); // each pixel becomes a 2×2 block
 * interpolate(x, { size: [3, 3], mode: "bilinear", alignCorners: true }); // centre 2.5
 * ```
 */
export function interpolate(x: Tensor, options: InterpolateOptions = {}): Tensor {
  const op = "interpolate";
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor`);
  const g = interpolateGeometry(op, x.shape, options);
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new TypeError(`${op}: expected a floating-point input, got dtype ${x.dtype}`);
  }
  const y = interpolateCore(x, g);
  const factor = options.size === undefined || options.size === null ? scalePair(op, options.scaleFactor!) : null;
  return traced(y, op, [x], {
    mode: g.mode,
    alignCorners: g.alignCorners,
    size: [g.outH, g.outW],
    scaleFactor: factor,
    // Whether the source-index rule uses the factor itself (PyTorch's default) or the sizes it gave.
    factorInRule: g.scaleFactorH !== null,
  });
}

// Interpolation is linear in its input, so its backward is the adjoint map and the adjoint's derivative is the forward
// map again: both recorded, a gradient through interpolate can be differentiated again (createGraph). The rules read
// only the geometry, never x: an in-place change to x after this op is harmless.
function interpolateCore(x: Tensor, g: Interpolate2dGeometry): Tensor {
  const out = empty([g.n, g.c, g.outH, g.outW], x.dtype, x.device);
  backendOf(x, "interpolate").interpolate2d(x, out.storage, g);
  return record(out, "Interpolate2dBackward", [x], (gy) => [interpolateAdjoint(gy, g, x.shape)], []);
}

function interpolateAdjoint(gy: Tensor, g: Interpolate2dGeometry, xShape: readonly number[]): Tensor {
  const gx = empty(xShape, gy.dtype, gy.device);
  backendOf(gy, "interpolate").interpolate2dBackward(gy, gx.storage, g);
  return record(gx, "Interpolate2dBackwardBackward", [gy], (gg) => [interpolateCore(gg, g)], []);
}
