/**
 * What every op family shares: allocating outputs, recording autograd nodes,
 * checking devices and reducing broadcast gradients.
 *
 * @module
 */

import { isAnomalyEnabled, Node } from "@dendrite/autograd";
import { type Backend, getBackend, type ValueCheck } from "../backend.ts";
import type { DType } from "../dtype.ts";
import { fmtShape, numel, type Shape, shapesEqual } from "../shape.ts";
import { needsGrad, Tensor, type TensorOrScalar } from "../tensor.ts";
import { untraced } from "../trace.ts";

/**
 * A fresh zeroed contiguous tensor. A tensor bigger than the device can hold is refused before allocating, and an
 * allocation the engine refuses is reported, both naming `op` (the function the user called), the shape and the bytes.
 */
export function empty(shape: Shape, dtype: DType, device: string, op = "empty"): Tensor {
  const backend = getBackend(device);
  const n = numel(shape);
  checkAllocation(op, shape, dtype, backend);
  let storage;
  try {
    storage = backend.alloc(dtype, n);
  } catch (e) {
    throw allocationFailed(op, shape, dtype, backend, e);
  }
  return new Tensor(storage, shape);
}

/** Elements (8 MiB of float64) below which an allocation is not checked against the device's limit. */
const SMALL_ELEMENTS = 1 << 20;

/** Throws naming `op`, the shape and the bytes when a tensor of `shape` is more than `backend` can hold. */
export function checkAllocation(op: string, shape: Shape, dtype: DType, backend: Backend): void {
  const n = numel(shape);
  if (n <= SMALL_ELEMENTS) return; // every device holds this much: no need to ask (the hot path of small ops)
  const limit = backend.storageLimit?.(dtype);
  if (limit && n > limit.elements) {
    throw new RangeError(
      `${op}: cannot allocate a tensor of shape ${fmtShape(shape)} (${dtype}): ${
        fmtBytes(n * limit.bytesPerElement)
      } is more than device "${backend.device}" can hold in one tensor (${limit.limit})`,
    );
  }
}

/** The error for an allocation the engine refused: names `op`, the shape and the bytes, keeping the cause. */
export function allocationFailed(op: string, shape: Shape, dtype: DType, backend: Backend, cause: unknown): Error {
  if (
    !(cause instanceof RangeError) || !/allocation failed|out of memory|Invalid typed array length/i.test(cause.message)
  ) {
    return cause as Error;
  }
  const bytes = numel(shape) * (backend.storageLimit?.(dtype).bytesPerElement ?? 4);
  return new RangeError(
    `${op}: allocating a tensor of shape ${fmtShape(shape)} (${dtype}, ${fmtBytes(bytes)}) on "${backend.device}" ` +
      `failed: ${cause.message}`,
    { cause },
  );
}

/** `1234567890` → `1234567890 bytes (1.15 GiB)`. */
function fmtBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes, u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${bytes} bytes` : `${bytes} bytes (${v.toFixed(v < 10 ? 2 : 1)} ${units[u]})`;
}

/** The backend of a tensor, after checking it is alive. */
export function backendOf(t: Tensor, op: string): Backend {
  t.checkAlive(op);
  return getBackend(t.device);
}

/** The common device of the tensor operands, or an error naming both devices. */
export function commonDevice(op: string, ...xs: (TensorOrScalar | null | undefined)[]): string {
  let device: string | undefined;
  for (const x of xs) {
    if (!(x instanceof Tensor)) continue;
    x.checkAlive(op);
    if (device === undefined) device = x.device;
    else if (x.device !== device) {
      throw new Error(`${op}: expected all tensors on the same device, but found "${device}" and "${x.device}"`);
    }
  }
  return device ?? "cpu";
}

/** Throws a TypeError unless `x` is a tensor or a finite-or-not number. */
export function checkOperand(op: string, x: unknown, name = "operand"): void {
  if (!(x instanceof Tensor) && typeof x !== "number") {
    throw new TypeError(`${op}: ${name} must be a Tensor or a number, got ${x === null ? "null" : typeof x}`);
  }
}

/**
 * Records `out` as produced by `name` from `inputs` with the derivative rule
 * `backward`, when grad mode is on and some input requires grad. Returns `out`.
 *
 * `saved` lists every tensor the rule reads (PyTorch's saved variables: an
 * operand, the output, indices); nulls are skipped. Their version counters are
 * noted now and checked before the rule runs, so a tensor changed in place
 * between the forward pass and `backward()` raises instead of giving a wrong
 * gradient. A rule that reads no tensor passes `[]` (then nothing can go
 * stale: `y = x.add(1); x.add_(1); y.backward()` is legal). Omitted, the
 * inputs are taken as saved — safe, but it misses a constant operand the rule
 * reads, so every op should say what it saves.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: (grad: Tensor) => (Tensor | null)[],
  saved?: readonly (Tensor | null | undefined)[],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  const next = inputs.map((t) => (t ? t._gradNode() : null));
  let rule = backward;
  const watched = savedTensors(saved ?? inputs);
  let check: (() => void) | null = null;
  if (watched !== null) {
    const versions = watched.map((t) => t.storage.version);
    // Checked for the whole graph before backward writes anything (the engine calls `checkSaved`), and again just
    // before this rule runs (a hook may have changed a tensor in between).
    check = () => {
      for (let i = 0; i < watched.length; i++) {
        if (watched[i].storage.version !== versions[i]) throw staleSaved(name, watched[i], versions[i]);
      }
    };
    rule = (g) => {
      check!();
      return backward(g);
    };
  }
  if (isAnomalyEnabled()) {
    checkFinite(out, `${name.replace(/Backward$/, "")} (forward)`, "output");
    const checked = rule;
    rule = (g) => {
      const grads = checked(g);
      grads.forEach((gi, i) => gi && checkFinite(gi, name, `gradient for input ${i}`));
      return grads;
    };
  }
  out._setGradFn(new Node<Tensor>(name, next, inputs.map((t) => t?.shape ?? []), rule, null, check));
  return out;
}

/** The tensors of `list` (nulls dropped), or null when there are none. */
function savedTensors(list: readonly (Tensor | null | undefined)[]): Tensor[] | null {
  let out: Tensor[] | null = null;
  for (const t of list) if (t) (out ??= []).push(t);
  return out;
}

/** PyTorch's error for a saved tensor changed in place after the forward pass, naming the node. */
function staleSaved(name: string, t: Tensor, expected: number): Error {
  return new Error(
    `one of the variables needed for gradient computation has been modified by an inplace operation: [${name}, ${t.dtype} shape ${
      fmtShape(t.shape)
    }] is at version ${t.storage.version}; expected version ${expected} instead. Hint: it was changed in place ` +
      `(an x.mul_()-style method, copy_/fill_/zero_, an optimizer step() or Module.to()) between the forward pass ` +
      `and backward(); clone() it before changing it, or change it after backward().`,
  );
}

/** Anomaly mode: throws naming `op` when `t` holds NaN or ±Inf (at once on the CPU; at the next read-back on WebGPU). */
function checkFinite(t: Tensor, op: string, what: string): void {
  assertValues(
    t,
    {},
    `anomaly:${op}:${what}:${fmtShape(t.shape)}`,
    (v, i) => new Error(`anomaly: ${op} produced ${v} in its ${what} (element ${i} of shape ${fmtShape(t.shape)})`),
  );
}

/**
 * Checks every element of `t`: finite, inside `[check.min, check.max]` where given, or equal to `check.except`; the
 * first that is not throws `error(value, flatIndex)`. On a device that reads synchronously (the CPU) that happens
 * now; on one that cannot, the backend's device-side assertion records the failure and throws at its next read-back
 * or synchronisation (`Backend.assertValues`; WebGPU); a device with neither is not checked. `key` names the check
 * and its message (equal keys, equal errors).
 */
export function assertValues(
  t: Tensor,
  check: ValueCheck,
  key: string,
  error: (value: number, index: number) => Error,
): void {
  const backend = getBackend(t.device);
  if (!backend.readSync) {
    backend.assertValues?.(t, check, key, error);
    return;
  }
  const { min, max, except } = check;
  const data = untraced(() => t.dataSync()); // a check: the values do not shape an exported graph
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === except) continue;
    if (!Number.isFinite(v) || (min !== undefined && v < min) || (max !== undefined && v > max)) throw error(v, i);
  }
}

/** Sums a broadcast gradient back down to `shape` (the rule every broadcasting op needs). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  if (lead < 0) throw new Error(`sumToShape: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  let r = dims.length ? g.sum(dims, { keepdim: true }) : g;
  if (lead > 0) r = r.reshape(shape);
  return r;
}
