/**
 * Moving between dtypes and devices, and copying.
 *
 * @module
 */

import { getBackend, hasBackend } from "../backend.ts";
import { checkDType, type DType, isFloating } from "../dtype.ts";
import { Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { traced } from "../trace.ts";

const DTYPE_NAMES = new Set(["float32", "float64", "int32", "bool"]);

/** `t` with another dtype or on another device; `t` itself when nothing changes. */
export function to(t: Tensor, target: string): Tensor {
  t.checkAlive("to");
  if (DTYPE_NAMES.has(target)) return cast(t, target as DType);
  if (!hasBackend(target)) getBackend(target); // throws the helpful error
  if (target === t.device) return t;
  return transfer(t, target);
}

function cast(t: Tensor, dtype: DType): Tensor {
  checkDType(dtype);
  if (t.dtype === dtype) return t;
  if (dtype === "float64" && t.device !== "cpu") {
    throw new TypeError(`to: float64 is supported on the CPU backend only, not on "${t.device}"`);
  }
  const out = empty(t.shape, dtype, t.device, "to");
  backendOf(t, "to").copy(t, out);
  if (!isFloating(dtype) || !isFloating(t.dtype)) return traced(out, "cast", [t], { dtype });
  const from = t.dtype;
  return traced(record(out, "ToCopyBackward", [t], (g) => [g.to(from)], []), "cast", [t], { dtype });
}

function transfer(t: Tensor, device: string): Tensor {
  const src = getBackend(t.device);
  if (!src.readSync) {
    throw new Error(
      `to: moving a tensor from "${t.device}" to "${device}" needs a read-back; use await toDevice(t, "${device}")`,
    );
  }
  const host = t.dataSync(); // compacts a view itself (and frees that copy)
  const out = new Tensor(getBackend(device).upload(host), t.shape);
  const from = t.device;
  return traced(record(out, "ToDeviceBackward", [t], (g) => [g.to(from)], []), "identity", [t]);
}

/** Moves `t` to `device`, reading back asynchronously when the source needs it (a GPU). */
export async function toDevice(t: Tensor, device: string): Promise<Tensor> {
  if (t.device === device) return t;
  const host = await t.data();
  const out = new Tensor(getBackend(device).upload(host), t.shape);
  if (t.requiresGrad && t.isLeaf) out.requiresGrad_(true);
  return out;
}

/** A copy with its own storage; gradients flow through. */
export function clone(t: Tensor): Tensor {
  const out = empty(t.shape, t.dtype, t.device, "clone");
  backendOf(t, "clone").copy(t, out);
  return traced(record(out, "CloneBackward", [t], (g) => [g], []), "identity", [t]);
}

/** A tensor of `t`'s shape, dtype and device filled with `value` (no graph). */
export function fullLikeValue(t: Tensor, value: number): Tensor {
  const out = empty(t.shape, t.dtype, t.device);
  if (value !== 0) getBackend(t.device).fill(out.storage, value);
  return out;
}
