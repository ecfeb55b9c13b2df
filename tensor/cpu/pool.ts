/**
 * CPU pooling kernels.
 *
 * @module
 */

import type { Pool2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";

/** Max pooling forward. */
export function maxPool2d(_x: TypedArray, _out: TypedArray, _idx: Int32Array, _g: Pool2dGeometry): void {
  throw new Error("maxPool2d: CPU kernel not implemented yet");
}
/** Max pooling backward. */
export function maxPool2dBackward(_go: TypedArray, _idx: Int32Array, _out: TypedArray, _g: Pool2dGeometry): void {
  throw new Error("maxPool2dBackward: CPU kernel not implemented yet");
}
/** Average pooling forward. */
export function avgPool2d(_x: TypedArray, _out: TypedArray, _g: Pool2dGeometry): void {
  throw new Error("avgPool2d: CPU kernel not implemented yet");
}
/** Average pooling backward. */
export function avgPool2dBackward(_go: TypedArray, _out: TypedArray, _g: Pool2dGeometry): void {
  throw new Error("avgPool2dBackward: CPU kernel not implemented yet");
}
