/**
 * In-place updates for optimizers and initialisers. They write into a
 * tensor's storage and are never recorded, so they refuse tensors that take
 * part in a graph while grad mode is on (PyTorch's rule for leaves). Every
 * write bumps the storage's version counter, which autograd checks before a
 * derivative rule reads a tensor it saved. Every check runs before the write.
 *
 * @module
 */

import { isGradEnabled, noGrad } from "@dendrite/autograd";
import type { View } from "../backend.ts";
import { broadcastShapes, broadcastStrides, fmtShape, shapesEqual } from "../shape.ts";
import { ownsStorage, type Tensor, type TensorOrScalar } from "../tensor.ts";
import { backendOf, commonDevice, empty } from "./core.ts";
import { traceInPlace } from "../trace.ts";

/** Throws unless `t` may be written in place now. */
export function checkWritable(t: Tensor, op: string): void {
  t.checkAlive(op);
  traceInPlace(t, op);
  if (isGradEnabled() && t.requiresGrad) {
    throw new Error(
      `${op}: a ${
        t.isLeaf ? "leaf " : ""
      }tensor that requires grad cannot be modified in place while grad mode is on; wrap the update in noGrad(() => ...)`,
    );
  }
}

/** `value` as a view broadcast to `t`'s shape, or an error naming `op` when that would change `t`'s shape. */
function broadcastInto(op: string, value: Tensor, t: Tensor): View {
  const shape = broadcastShapes(op, value.shape, t.shape);
  if (!shapesEqual(shape, t.shape)) {
    throw new RangeError(
      `${op}: a value of shape ${fmtShape(value.shape)} cannot be written into a tensor of shape ${fmtShape(t.shape)}`,
    );
  }
  return {
    storage: value.storage,
    shape: t.shape,
    strides: broadcastStrides(value.shape, value.strides, t.shape),
    offset: value.offset,
  };
}

/** Writes `src` (broadcast to `t`'s shape) into `t`'s elements. */
export function assign(t: Tensor, src: TensorOrScalar, op: string): void {
  checkWritable(t, op);
  if (typeof src === "number") {
    const backend = backendOf(t, op);
    if (ownsStorage(t)) {
      backend.fill(t.storage, src); // fill_/zero_ on a whole tensor: no temporary at all
      t.storage.version++;
      return;
    }
    // A one-element value read with stride 0 everywhere (not a full-size temporary).
    const one = empty([], t.dtype, t.device);
    backend.fill(one.storage, src);
    backend.copy({ storage: one.storage, shape: t.shape, strides: t.shape.map(() => 0), offset: 0 }, t);
    one.dispose();
    t.storage.version++;
    return;
  }
  commonDevice(op, t, src);
  backendOf(t, op).copy(broadcastInto(op, src, t), t);
  t.storage.version++;
}

/**
 * `t += alpha * other` in place. One pass without temporaries when the
 * backend has the fused `axpy` kernel and `t` owns its whole storage
 * (parameters do); otherwise computed out of place and copied in.
 */
export function addScaled(t: Tensor, other: TensorOrScalar, alpha: number, op: string): void {
  const backend = backendOf(t, op);
  if (
    typeof other !== "number" && backend.axpy && t.dtype === other.dtype && ownsStorage(t) &&
    other.storage !== t.storage
  ) {
    checkWritable(t, op);
    commonDevice(op, t, other);
    backend.axpy(t.storage, broadcastInto(op, other, t), alpha);
    t.storage.version++;
    return;
  }
  update(t, () => t.add(other, alpha), op);
}

/**
 * `t = fn(t)` in place: computes out of place without recording, writes the
 * result into `t`'s elements, and frees the temporary at once (device memory
 * would otherwise wait for the garbage collector).
 */
export function update(t: Tensor, fn: () => Tensor, op: string): void {
  const result = noGrad(fn);
  try {
    assign(t, result, op);
  } finally {
    if (result !== t) result.dispose();
  }
}
