/**
 * CPU convolution kernels (forward and both backward kernels).
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";

/** Convolution forward. */
export function conv2dForward(_x: TypedArray, _w: TypedArray, _out: TypedArray, _g: Conv2dGeometry): void {
  throw new Error("conv2d: CPU kernel not implemented yet");
}

/** Gradient with respect to the input. */
export function conv2dBackwardInput(_go: TypedArray, _w: TypedArray, _out: TypedArray, _g: Conv2dGeometry): void {
  throw new Error("conv2dBackwardInput: CPU kernel not implemented yet");
}

/** Gradient with respect to the weight. */
export function conv2dBackwardWeight(_go: TypedArray, _x: TypedArray, _out: TypedArray, _g: Conv2dGeometry): void {
  throw new Error("conv2dBackwardWeight: CPU kernel not implemented yet");
}
