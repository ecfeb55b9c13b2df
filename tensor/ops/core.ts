/**
 * What every op family shares: allocating outputs, recording autograd nodes,
 * checking devices and reducing broadcast gradients.
 *
 * @module
 */

import { isAnomalyEnabled, Node } from "@dendrite/autograd";
import { type Backend, getBackend } from "../backend.ts";
import type { DType } from "../dtype.ts";
import { fmtShape, numel, type Shape, shapesEqual } from "../shape.ts";
import { needsGrad, Tensor, type TensorOrScalar } from "../tensor.ts";

/** A fresh zeroed contiguous tensor. */
export function empty(shape: Shape, dtype: DType, device: string): Tensor {
  return new Tensor(getBackend(device).alloc(dtype, numel(shape)), shape);
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
 */
export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: (grad: Tensor) => (Tensor | null)[],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  const next = inputs.map((t) => (t ? t._gradNode() : null));
  let rule = backward;
  if (isAnomalyEnabled()) {
    checkFinite(out, `${name.replace(/Backward$/, "")} (forward)`, "output");
    rule = (g) => {
      const grads = backward(g);
      grads.forEach((gi, i) => gi && checkFinite(gi, name, `gradient for input ${i}`));
      return grads;
    };
  }
  out._setGradFn(new Node<Tensor>(name, next, inputs.map((t) => t?.shape ?? []), rule));
  return out;
}

/** Anomaly mode: throws naming `op` when `t` holds NaN or ±Inf (reads back synchronously; CPU). */
function checkFinite(t: Tensor, op: string, what: string): void {
  if (!getBackend(t.device).readSync) return;
  const data = t.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(`anomaly: ${op} produced ${data[i]} in its ${what} (element ${i} of shape ${fmtShape(t.shape)})`);
    }
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
