/**
 * `grad`, the functional gradient (PyTorch's `torch.autograd.grad`): the
 * gradients of some outputs with respect to some inputs, returned rather than
 * accumulated into `.grad`. It lives in `tensor/` beside `gradcheck` because it
 * checks and creates tensors; the engine part is `runGrad` in `autograd/`.
 *
 * @module
 */

import { reachable, runGrad } from "@dendrite/autograd";
import { Tensor, type TensorNode } from "./tensor.ts";
import { fmtShape, shapesEqual } from "./shape.ts";
import * as convert from "./ops/convert.ts";

/** Options of {@link grad}. */
export interface GradOptions {
  /**
   * The gradient of some scalar with respect to each output (PyTorch's `grad_outputs`, the vector of a
   * vector-Jacobian product), one per output and of its shape; null (or leaving it out) means ones, allowed
   * only for one-element outputs.
   */
  gradOutputs?: Tensor | (Tensor | null)[] | null;
  /** Keep the graph's saved tensors so it can be differentiated again (default: `createGraph`). */
  retainGraph?: boolean;
  /** Record the gradient computation itself, so the returned gradients can be differentiated (default false). */
  createGraph?: boolean;
  /** Return null for an input the outputs do not depend on, instead of throwing (default false). */
  allowUnused?: boolean;
}

/**
 * The gradients of `outputs` with respect to `inputs` — `Σᵢ gradOutputsᵢ · ∂outputsᵢ/∂input` for each input —
 * returned in the order of `inputs`, leaving every `.grad` untouched. Only the part of the graph between the outputs
 * and the inputs runs. With `createGraph` the results carry a graph of their own, for Hessian-vector products and
 * meta-learning's gradients through gradients.
 *
 * Errors, as PyTorch gives them, before anything runs: an output that does not require grad, an input that does not
 * require grad, a missing gradOutput for a non-scalar output or one of the wrong shape, and an input the outputs do not
 * depend on — unless `allowUnused`, which gives null for it (as for an input every path to which gives no gradient).
 *
 * @example
 * ```ts
 * import { grad, tensor } from "../mod.ts";
 * const x = tensor([1, 2, 3]).requiresGrad_();
 * const y = x.pow(3).sum();
 * const [dx] = grad(y, x, { createGraph: true }); // 3x² = [3, 12, 27], with a graph
 * const [d2x] = grad(dx.sum(), x); // 6x = [6, 12, 18]
 * console.log(await dx.tolist(), await d2x.tolist(), x.grad); // x.grad is still null
 * ```
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  options?: GradOptions & { allowUnused?: false },
): Tensor[];
/** With `allowUnused`, an input the outputs do not depend on gets null. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions): (Tensor | null)[];
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  if (outs.length === 0) throw new RangeError("grad: no outputs to differentiate");
  if (ins.length === 0) throw new RangeError("grad: no inputs to differentiate with respect to");
  const roots: TensorNode[] = outs.map((o, i) => {
    if (!(o instanceof Tensor)) throw new TypeError(`grad: output ${i} is not a Tensor`);
    o.checkAlive("grad");
    if (!o.requiresGrad) {
      throw new Error(
        `grad: output ${i} does not require grad and has no gradFn (was it computed inside noGrad, or from inputs ` +
          `that do not require grad?)`,
      );
    }
    return o._gradNode()!;
  });
  const targets: TensorNode[] = ins.map((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`grad: input ${i} is not a Tensor`);
    x.checkAlive("grad");
    if (!x.requiresGrad) {
      throw new Error(`grad: input ${i} (shape ${fmtShape(x.shape)}) does not require grad, so it has no gradient`);
    }
    return x._gradNode()!;
  });
  const gradOuts = gradOutputsOf(outs, options.gradOutputs);
  const unused = (i: number) =>
    new Error(
      `grad: input ${i} (shape ${
        fmtShape(ins[i].shape)
      }) appears not to have been used in the graph of the outputs; pass { allowUnused: true } to get null for it`,
    );
  if (!options.allowUnused) {
    // An input no output depends on is refused before anything runs (one whose rules all give no gradient, after).
    const i = reachable(roots, targets).indexOf(false);
    if (i >= 0) throw unused(i);
  }
  const seeds = outs.map((o, i) => gradOuts[i] ?? convert.fullLikeValue(o, 1));
  const found = runGrad(roots, seeds, targets, { retainGraph: options.retainGraph, createGraph: options.createGraph });
  const handed = new Set<Tensor>();
  return found.map((g, i) => {
    if (g === null) {
      if (options.allowUnused) return null;
      throw unused(i);
    }
    // One gradient tensor can arrive at two inputs (an input passed twice, or the two operands of an add):
    // each caller gets its own, as each `.grad` does.
    if (handed.has(g)) return g.clone();
    handed.add(g);
    return g;
  });
}

/** Checks `gradOutputs` against the outputs, before anything runs: count, shape, dtype, device. */
function gradOutputsOf(outs: Tensor[], given: GradOptions["gradOutputs"]): (Tensor | null)[] {
  const list = given === undefined || given === null ? outs.map(() => null) : Array.isArray(given) ? given : [given];
  if (list.length !== outs.length) {
    throw new RangeError(`grad: got ${list.length} gradOutputs for ${outs.length} outputs; give one per output`);
  }
  list.forEach((g, i) => {
    const o = outs[i];
    if (g === null || g === undefined) {
      if (o.numel() !== 1) {
        throw new RangeError(
          `grad: a gradient can be created implicitly only for one-element outputs; output ${i} has shape ${
            fmtShape(o.shape)
          }, so pass gradOutputs`,
        );
      }
      return;
    }
    if (!(g instanceof Tensor)) throw new TypeError(`grad: gradOutputs[${i}] is not a Tensor`);
    if (!shapesEqual(g.shape, o.shape)) {
      throw new RangeError(
        `grad: gradOutputs[${i}] has shape ${fmtShape(g.shape)} but output ${i} has shape ${fmtShape(o.shape)}`,
      );
    }
    if (g.dtype !== o.dtype || g.device !== o.device) {
      throw new TypeError(
        `grad: gradOutputs[${i}] is ${g.dtype} on ${g.device} but output ${i} is ${o.dtype} on ${o.device}`,
      );
    }
  });
  return list.map((g) => g ?? null);
}
