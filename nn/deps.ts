/**
 * What nn takes from `@dendrite/tensor`, plus small shared helpers.
 *
 * @module
 */

export {
  type Device,
  type DType,
  type Generator,
  gradcheck,
  noGrad,
  ones,
  rand,
  randn,
  type Shape,
  Tensor,
  tensor,
  toDevice,
  zeros,
} from "@dendrite/tensor";
import type { Tensor } from "@dendrite/tensor";

/** Formats a tensor's shape the way errors print it: `[2, 3]`. */
export function fmtShapeOf(t: Tensor | readonly number[]): string {
  const shape = Array.isArray(t) ? t : (t as Tensor).shape;
  return `[${shape.join(", ")}]`;
}
