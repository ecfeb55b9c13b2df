/**
 * In-place updates for optimizers and initialisers. They write into a
 * tensor's storage and are never recorded, so they refuse tensors that take
 * part in a graph while grad mode is on (PyTorch's rule for leaves).
 *
 * @module
 */

import { isGradEnabled, noGrad } from "@dendrite/autograd";
import { broadcastShapes, broadcastStrides, fmtShape } from "../shape.ts";
import type { Tensor, TensorOrScalar } from "../tensor.ts";
import { backendOf, commonDevice } from "./core.ts";
import { fullLikeValue } from "./convert.ts";

/** Writes `src` (broadcast to `t`'s shape) into `t`'s elements. */
export function assign(t: Tensor, src: TensorOrScalar, op: string): void {
  t.checkAlive(op);
  if (isGradEnabled() && t.requiresGrad) {
    throw new Error(
      `${op}: a ${
        t.isLeaf ? "leaf " : ""
      }tensor that requires grad cannot be modified in place while grad mode is on; wrap the update in noGrad(() => ...)`,
    );
  }
  const value = typeof src === "number" ? fullLikeValue(t, src) : src;
  commonDevice(op, t, value);
  const shape = broadcastShapes(op, value.shape, t.shape);
  if (shape.length !== t.ndim || shape.some((s, i) => s !== t.shape[i])) {
    throw new RangeError(
      `${op}: a value of shape ${fmtShape(value.shape)} cannot be written into a tensor of shape ${fmtShape(t.shape)}`,
    );
  }
  backendOf(t, op).copy(
    {
      storage: value.storage,
      shape: t.shape,
      strides: broadcastStrides(value.shape, value.strides, t.shape),
      offset: value.offset,
    },
    t,
  );
}

/** Runs `fn` without recording, for the out-of-place half of an in-place op. */
export function compute(fn: () => Tensor): Tensor {
  return noGrad(fn);
}

/**
 * `t = fn(t)` in place: computes out of place without recording, writes the
 * result into `t`'s elements, and frees the temporary at once (device memory
 * would otherwise wait for the garbage collector).
 */
export function update(t: Tensor, fn: () => Tensor, op: string): void {
  const result = compute(fn);
  try {
    assign(t, result, op);
  } finally {
    if (result !== t) result.dispose();
  }
}
