/**
 * Module hooks, PyTorch's three kinds: forward pre-hooks (see and may replace
 * a module's inputs), forward hooks (see and may replace its output) and full
 * backward hooks (see the gradients with respect to the module's inputs and
 * outputs, and may replace the input gradients). `Module` registers them; this
 * file holds their types, the removable handle and the backward machinery.
 *
 * A full backward hook works as PyTorch's `BackwardHook` does: the module's
 * tensor inputs and outputs pass through identity autograd nodes on the way in
 * and out. The output node records the gradient with respect to the outputs;
 * the input node, which runs once every gradient of the module's inputs has
 * arrived, calls the hooks with both and hands their result on.
 *
 * @module
 */

import { isGradEnabled, Node, Tensor, zeros } from "./deps.ts";
import type { Module } from "./module.ts";

/**
 * Runs before `forward` with its arguments. Returning an array replaces the
 * argument list; returning any other value (not `undefined`) replaces it with
 * that single argument; returning nothing keeps the arguments.
 */
export type ForwardPreHook<M extends Module = Module> = (module: M, args: unknown[]) => unknown;

/** Runs after `forward` with its arguments and output. Returning a value (not `undefined`) replaces the output. */
export type ForwardHook<M extends Module = Module> = (module: M, args: unknown[], output: unknown) => unknown;

/**
 * Runs during backward with the gradients with respect to the module's
 * positional inputs (`gradInput`, `null` for an argument that is not a tensor
 * or needs no gradient) and its outputs (`gradOutput`). Returning an array of
 * the same length replaces `gradInput`.
 */
export type FullBackwardHook<M extends Module = Module> = (
  module: M,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void;

let nextHookId = 0;
let nextHookKey = 0;

/** Internal: adds `hook` to a module's hook table (at the front with `prepend`); returns its key. */
export function addHook<H>(map: Map<number, H>, hook: H, op: string, prepend: boolean): number {
  if (typeof hook !== "function") throw new TypeError(`${op}: the hook must be a function, got ${typeof hook}`);
  const id = nextHookKey++;
  if (!prepend) {
    map.set(id, hook);
  } else {
    const rest = [...map];
    map.clear();
    map.set(id, hook);
    for (const [k, h] of rest) map.set(k, h);
  }
  return id;
}

/**
 * What registering a hook returns: `remove()` unregisters it (a second call
 * does nothing). Usable with `using` so a hook lives for one block.
 */
export class RemovableHandle {
  /** A number unique to this registration. */
  readonly id: number = nextHookId++;
  #remove: (() => void) | null;

  /** Internal: wraps the function that unregisters the hook. */
  constructor(remove: () => void) {
    this.#remove = remove;
  }

  /** Unregisters the hook. */
  remove(): void {
    const r = this.#remove;
    this.#remove = null;
    r?.();
  }

  /** `using handle = m.registerForwardHook(...)` removes the hook at the end of the block. */
  [Symbol.dispose](): void {
    this.remove();
  }
}

/**
 * Passes `tensors` through one identity in autograd: returns views of the same
 * data whose gradients, once every one that will arrive has arrived, go
 * through `onGrads` (which returns the gradients handed on to `tensors`).
 *
 * The engine's nodes have one output each, so an identity with several
 * outputs is built as one gathering node (whose inputs are `tensors`) and one
 * small node per output that stores its gradient in a slot and passes a
 * scalar zero to the gathering node; the gathering node runs after all of
 * them, reads the slots and calls `onGrads`. Tensors that need no gradient
 * pass through unchanged, as PyTorch marks them non-differentiable.
 */
function identityWithGradHook(
  tensors: Tensor[],
  onGrads: (grads: (Tensor | null)[]) => (Tensor | null)[],
): Tensor[] {
  const slots: (Tensor | null)[] = tensors.map(() => null);
  const gather = new Node<Tensor>(
    "BackwardHookFunctionBackward",
    tensors.map((t) => t._gradNode()),
    tensors.map((t) => t.shape),
    () => {
      const grads = slots.slice();
      slots.fill(null); // a retained graph may run backward again
      return onGrads(grads);
    },
  );
  return tensors.map((t, i) => {
    if (!t.requiresGrad) return t;
    const out = t.detach();
    out._setGradFn(
      new Node<Tensor>("BackwardHookFunctionBackward", [gather], [[]], (g) => {
        slots[i] = g;
        return [zeros([], { device: g.device, dtype: g.dtype })];
      }),
    );
    return out;
  });
}

/** The positions of the tensors in `values`. */
function tensorPositions(values: readonly unknown[]): number[] {
  const at: number[] = [];
  values.forEach((v, i) => {
    if (v instanceof Tensor) at.push(i);
  });
  return at;
}

/** `count` nulls with `grads[k]` at `positions[k]`. */
function packWithNulls(positions: number[], grads: (Tensor | null)[], count: number): (Tensor | null)[] {
  const out: (Tensor | null)[] = new Array(count).fill(null);
  positions.forEach((p, k) => out[p] = grads[k]);
  return out;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * One forward call's backward-hook state (PyTorch's `torch.utils.hooks.BackwardHook`):
 * wraps the inputs before `forward` and the output after it.
 */
export class BackwardHookCall {
  readonly #module: Module;
  readonly #hooks: FullBackwardHook[];
  #nInputs = 0;
  /** Where the wrapped tensor inputs sit among the arguments; null when no input needs a gradient. */
  #inputPositions: number[] | null = null;
  #inputShapes: (readonly number[])[] = [];
  #nOutputs = 0;
  #gradOutputs: (Tensor | null)[] | null = null;

  /** Remembers the module and the hooks registered when its forward began. */
  constructor(module: Module, hooks: FullBackwardHook[]) {
    this.#module = module;
    this.#hooks = hooks;
  }

  /** Whether a backward hook has anything to watch (grad mode is on). */
  static active(): boolean {
    return isGradEnabled();
  }

  /** Passes the tensor arguments through the input identity (when any of them needs a gradient). */
  setupInputs(args: unknown[]): unknown[] {
    this.#nInputs = args.length;
    const positions = tensorPositions(args);
    const tensors = positions.map((p) => args[p] as Tensor);
    if (!tensors.some((t) => t.requiresGrad)) return args;
    this.#inputPositions = positions;
    this.#inputShapes = tensors.map((t) => t.shape);
    const wrapped = identityWithGradHook(tensors, (grads) => this.#onInputGrads(grads));
    const out = args.slice();
    positions.forEach((p, k) => out[p] = wrapped[k]);
    return out;
  }

  /** Passes the output tensor (or an array's tensors) through the output identity. */
  setupOutput(output: unknown): unknown {
    const single = output instanceof Tensor;
    const list: unknown[] | null = single ? [output] : Array.isArray(output) ? output : null;
    if (list === null) return output;
    const positions = tensorPositions(list);
    const tensors = positions.map((p) => list[p] as Tensor);
    // As in PyTorch: an output that needs no gradient gets no hook, and the hooks never run.
    if (!tensors.some((t) => t.requiresGrad)) return output;
    this.#nOutputs = list.length;
    const wrapped = identityWithGradHook(tensors, (grads) => this.#onOutputGrads(positions, grads));
    if (single) return wrapped[0];
    const out = list.slice();
    positions.forEach((p, k) => out[p] = wrapped[k]);
    return out;
  }

  #onOutputGrads(positions: number[], grads: (Tensor | null)[]): (Tensor | null)[] {
    this.#gradOutputs = packWithNulls(positions, grads, this.#nOutputs);
    if (this.#inputPositions === null) {
      // No input needs a gradient: the hooks run now, with gradInput all null (PyTorch does the same).
      const gradInput: (Tensor | null)[] = new Array(this.#nInputs).fill(null);
      for (const hook of this.#hooks) {
        const r = hook(this.#module, gradInput, this.#gradOutputs);
        if (r !== undefined && r !== null && !(Array.isArray(r) && r.every((g) => g === null))) {
          throw new Error(
            `registerFullBackwardHook: the hook on ${this.#module.constructor.name} returned gradients, but no ` +
              `input of that module requires grad; a backward hook there must return nothing (or only nulls)`,
          );
        }
      }
      this.#gradOutputs = null;
    }
    return grads;
  }

  #onInputGrads(grads: (Tensor | null)[]): (Tensor | null)[] {
    const positions = this.#inputPositions!;
    const gradOutput = this.#gradOutputs;
    // Gradient reached the inputs without passing the outputs (e.g. through a second backward): as PyTorch, no call.
    if (gradOutput === null) return grads;
    let gradInput = packWithNulls(positions, grads, this.#nInputs);
    for (const hook of this.#hooks) {
      const r = hook(this.#module, gradInput, gradOutput);
      if (r === undefined || r === null) continue;
      gradInput = this.#checkReplacement(r);
    }
    this.#gradOutputs = null;
    return positions.map((p) => gradInput[p]);
  }

  #checkReplacement(r: unknown): (Tensor | null)[] {
    const name = this.#module.constructor.name;
    if (!Array.isArray(r) || r.length !== this.#nInputs) {
      throw new Error(
        `registerFullBackwardHook: the hook on ${name} returned ${
          Array.isArray(r) ? `${r.length} gradients` : typeof r
        }; expected an array of ${this.#nInputs} (one per positional input, Tensor or null)`,
      );
    }
    const positions = this.#inputPositions!;
    r.forEach((g, i) => {
      if (g !== null && !(g instanceof Tensor)) {
        throw new TypeError(
          `registerFullBackwardHook: the hook on ${name} returned gradInput[${i}] that is not a Tensor`,
        );
      }
      const k = positions.indexOf(i);
      if (g !== null && k >= 0 && fmt(g.shape) !== fmt(this.#inputShapes[k])) {
        throw new RangeError(
          `registerFullBackwardHook: the hook on ${name} returned gradInput[${i}] of shape ${fmt(g.shape)}, ` +
            `but that input has shape ${fmt(this.#inputShapes[k])}`,
        );
      }
    });
    return r as (Tensor | null)[];
  }
}
