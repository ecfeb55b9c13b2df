/**
 * Custom autograd functions — PyTorch's `torch.autograd.Function`: an op whose
 * forward and backward the user writes. Subclass {@link AutogradFunction} with a
 * static `forward(ctx, ...args)` and a static `backward(ctx, gradOutput)`, then
 * call `YourFunction.apply(...args)`. The root module exports the class as
 * `autograd.Function`.
 *
 * It lives in `tensor/` because it creates tensors and records them through
 * `record` (`ops/core.ts`), the primitive every built-in op uses; it adds the
 * checks a user-written rule needs (one gradient per argument, of the argument's
 * shape) and PyTorch's context object.
 *
 * @module
 */

import { isGradEnabled, noGrad } from "@dendrite/autograd";
import { record } from "./ops/core.ts";
import { fmtShape, shapesEqual } from "./shape.ts";
import { Tensor } from "./tensor.ts";

/**
 * What `forward` hands to `backward` (PyTorch's `ctx`): the tensors saved with
 * {@link FunctionCtx.saveForBackward}, which inputs need a gradient, and any
 * other value `forward` stores on it (`ctx.alpha = alpha`).
 */
export class FunctionCtx {
  /** Any other value forward stores for backward (PyTorch's `ctx.alpha = alpha`). */
  [key: string]: unknown;
  /** Per argument of `forward`: whether it is a tensor that needs a gradient (PyTorch's `ctx.needs_input_grad`). */
  readonly needsInputGrad: readonly boolean[];
  #saved: Tensor[] = [];
  #savedOnce = false;

  /** Made by `apply`; users never construct one. */
  constructor(needsInputGrad: readonly boolean[]) {
    this.needsInputGrad = needsInputGrad;
  }

  /**
   * Keeps tensors for backward (inputs or the output). Their version counters are checked before backward runs, so
   * changing one in place in between raises instead of giving a wrong gradient. Call it once, from forward.
   */
  saveForBackward(...tensors: Tensor[]): void {
    if (this.#savedOnce) throw new Error("saveForBackward: call it once, from forward, with every tensor to save");
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`saveForBackward: argument ${i} is not a Tensor`);
    });
    this.#saved = tensors;
    this.#savedOnce = true;
  }

  /** The tensors given to {@link FunctionCtx.saveForBackward}, in order. */
  get savedTensors(): readonly Tensor[] {
    return this.#saved;
  }
}

/** What `backward` returns: one gradient per argument of `forward` (null for a non-tensor or an input needing none). */
export type FunctionGradients = Tensor | null | readonly (Tensor | null)[];

/** The static side of an {@link AutogradFunction} subclass, as `apply` sees it. */
export interface AutogradFunctionClass<A extends unknown[]> {
  /** The class name, used to name the graph node (`GradReverse` → `GradReverseBackward`). */
  readonly name: string;
  /** Computes the output from the arguments; runs without recording a graph. */
  forward(ctx: FunctionCtx, ...args: A): Tensor;
  /** Given the gradient of the output, the gradient of each argument of forward. */
  backward(ctx: FunctionCtx, gradOutput: Tensor): FunctionGradients;
}

/**
 * The base class of a custom autograd function (PyTorch's `torch.autograd.Function`, one tensor output). Write a
 * static `forward(ctx, ...args)` that computes the output — it runs without recording a graph, as in PyTorch — and a
 * static `backward(ctx, gradOutput)` that returns one gradient per argument of `forward`, in order (null for a
 * non-tensor argument or one that needs no gradient; a lone tensor when forward takes one argument). Call the
 * function with `apply`.
 *
 * `backward` is written in tensor ops, so with `backward({ createGraph: true })` it is itself recorded and can be
 * differentiated again. A forward that returns one of its inputs unchanged gets a new tensor sharing the input's
 * data, so the input keeps its own place in the graph.
 *
 * Errors name the function: a backward returning the wrong number of gradients, a gradient of the wrong shape, or a
 * gradient for an argument that is not a tensor.
 *
 * @example
 * ```ts
 * import { AutogradFunction, type FunctionCtx, type Tensor, tensor } from "../mod.ts";
 *
 * // The gradient-reversal layer of domain-adversarial training: identity forward, −α·gradient backward.
 * class GradReverse extends AutogradFunction {
 *   static override forward(ctx: FunctionCtx, x: Tensor, alpha: number): Tensor {
 *     ctx.alpha = alpha;
 *     return x;
 *   }
 *   static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
 *     return [g.mul(-(ctx.alpha as number)), null];
 *   }
 * }
 * const x = tensor([1, 2]).requiresGrad_();
 * GradReverse.apply(x, 0.5).sum().backward();
 * console.log(await x.grad!.tolist()); // [-0.5, -0.5]
 * ```
 */
export class AutogradFunction {
  /** Override: computes the output. */
  static forward(_ctx: FunctionCtx, ..._args: unknown[]): Tensor {
    throw notDefined(this.name);
  }

  /** Override: the gradient of each argument of forward. */
  static backward(_ctx: FunctionCtx, _gradOutput: Tensor): FunctionGradients {
    throw notDefined(this.name);
  }

  /** Runs forward on `args` and, when an argument needs a gradient, records backward as the output's rule. */
  static apply<A extends unknown[]>(this: AutogradFunctionClass<A>, ...args: A): Tensor {
    const name = this.name || "AutogradFunction";
    if (this.forward === AutogradFunction.forward || this.backward === AutogradFunction.backward) {
      throw notDefined(name);
    }
    args.forEach((a, i) => {
      if (a instanceof Tensor) a.checkAlive(`${name}.apply (argument ${i})`);
    });
    const grad = isGradEnabled();
    const needs = args.map((a) => grad && a instanceof Tensor && a.requiresGrad);
    const ctx = new FunctionCtx(needs);
    const result = noGrad(() => this.forward(ctx, ...args));
    if (!(result instanceof Tensor)) {
      throw new TypeError(`${name}.forward must return a Tensor, got ${result === null ? "null" : typeof result}`);
    }
    // An input handed back unchanged gets its own tensor object (sharing the data), as in PyTorch: recording on the
    // input itself would replace its place in the graph, and without a graph the output must not require grad.
    const out = args.includes(result) ? result.detach() : result;
    if (!needs.includes(true)) return out;
    const inputs = args.map((a) => (a instanceof Tensor ? a : null));
    const backward = this.backward.bind(this);
    return record(
      out,
      `${name}Backward`,
      inputs,
      (g) => checkGradients(name, backward(ctx, g), args),
      ctx.savedTensors,
    );
  }
}

function notDefined(name: string): Error {
  return new Error(
    `${name}: a custom autograd function must define static forward(ctx, ...args) and static backward(ctx, gradOutput)`,
  );
}

/** The gradients backward returned as one per argument, after checking their number, kind and shapes. */
function checkGradients(name: string, returned: FunctionGradients, args: readonly unknown[]): (Tensor | null)[] {
  const grads = Array.isArray(returned) ? [...returned] : [returned as Tensor | null];
  if (grads.length !== args.length) {
    throw new RangeError(
      `${name}.backward returned ${grads.length} gradient${grads.length === 1 ? "" : "s"}; expected ${args.length}, ` +
        `one per argument of forward (null for a non-tensor argument)`,
    );
  }
  return grads.map((g, i) => {
    if (g === null || g === undefined) return null;
    if (!(g instanceof Tensor)) throw new TypeError(`${name}.backward: gradient ${i} is not a Tensor or null`);
    const a = args[i];
    if (!(a instanceof Tensor)) {
      throw new TypeError(`${name}.backward: gradient ${i} is a Tensor but argument ${i} of forward is not a tensor`);
    }
    if (!shapesEqual(g.shape, a.shape)) {
      throw new RangeError(
        `${name}.backward: gradient ${i} has shape ${fmtShape(g.shape)} but argument ${i} has shape ${
          fmtShape(a.shape)
        }`,
      );
    }
    if (g.dtype !== a.dtype || g.device !== a.device) {
      throw new TypeError(
        `${name}.backward: gradient ${i} is ${g.dtype} on ${g.device} but argument ${i} is ${a.dtype} on ${a.device}`,
      );
    }
    return g;
  });
}
