/**
 * `Module` and `Parameter`: the building blocks of networks. A module finds
 * its parameters and child modules among its own properties, in the order
 * they were declared or assigned (like PyTorch's `__setattr__` bookkeeping),
 * so a layer is written as an ordinary class.
 *
 * @module
 */

import {
  type Device,
  type DType,
  fmtShapeOf,
  getBackend,
  hasBackend,
  isFloating,
  noGrad,
  Tensor,
  toDevice,
  zeroGrads,
} from "./deps.ts";
import {
  addHook,
  BackwardHookCall,
  type ForwardHook,
  type ForwardPreHook,
  type FullBackwardHook,
  RemovableHandle,
} from "./hooks.ts";

/**
 * A tensor that is a module's learnable parameter: a leaf that requires grad
 * (unless told otherwise). It shares storage with the tensor it wraps.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Parameter } from "./module.ts";
 * const w = new Parameter(randn([3, 2]));
 * console.log(w.requiresGrad); // true
 * ```
 */
export class Parameter extends Tensor {
  /** Wraps `data` (detached: the parameter is a new leaf) as a parameter. */
  constructor(data: Tensor, requiresGrad = true) {
    super(data.storage, data.shape, data.strides, data.offset);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

/** A module's state: tensors keyed by PyTorch's dotted names (`layer1.0.conv1.weight`). */
export type StateDict = Record<string, Tensor>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches always throw. */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} did not match (non-strict loads). */
export interface LoadStateDictResult {
  /** Keys the module has but the state dict lacks. */
  missingKeys: string[];
  /** Keys the state dict has but the module lacks. */
  unexpectedKeys: string[];
}

/** `convert` applied to a detached view of `t` (no graph), the view freed at once so the old storage can go. */
function moved(t: Tensor, convert: (view: Tensor) => Tensor): Tensor {
  const view = t.detach();
  const out = convert(view);
  if (out !== view) view.dispose();
  return out;
}

/** {@link moved} for an asynchronous conversion (a read-back). */
async function movedAsync(t: Tensor, convert: (view: Tensor) => Promise<Tensor>): Promise<Tensor> {
  const view = t.detach();
  try {
    const out = await convert(view);
    if (out !== view) view.dispose();
    return out;
  } catch (e) {
    view.dispose();
    throw e;
  }
}
/** Options of {@link Module.registerForwardPreHook}, {@link Module.registerForwardHook} and {@link Module.registerFullBackwardHook}. */
export interface HookOptions {
  /** Run this hook before the ones already registered (default false: after them). */
  prepend?: boolean;
}

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Base class of every layer and network. Assign `Parameter`s and child
 * modules to properties; register non-learnable state (running statistics)
 * with {@link Module.registerBuffer}. Subclasses implement `forward`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@dendrite/tensor";
 * import { Module } from "./module.ts";
 * import { Linear } from "./linear.ts";
 * class Mlp extends Module {
 *   fc1 = new Linear(4, 8);
 *   fc2 = new Linear(8, 2);
 *   override forward(x: Tensor): Tensor {
 *     return this.fc2.forward(this.fc1.forward(x).relu());
 *   }
 * }
 * const net = new Mlp();
 * console.log(Object.keys(net.stateDict())); // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
 * ```
 */
export class Module {
  /** Whether the module is in training mode (dropout active, batch norm using batch statistics). */
  training = true;
  #buffers = new Map<string, Tensor | null>();
  #nonPersistent = new Set<string>();
  #forwardPreHooks = new Map<number, ForwardPreHook>();
  #forwardHooks = new Map<number, ForwardHook>();
  #backwardHooks = new Map<number, FullBackwardHook>();
  /** null while no hooks exist; else the own `forward` descriptor the hook wrapper replaced (undefined: none). */
  #unhookedForward: PropertyDescriptor | undefined | null = null;

  /** Runs the module. Subclasses override this with their own signature. */
  forward(..._args: unknown[]): unknown {
    throw new Error(`${this.constructor.name}: forward() is not implemented`);
  }

  /** Internal: the named members that may be parameters or children (containers override). */
  protected _members(): [string, unknown][] {
    return Object.entries(this);
  }

  /** Internal: replaces a member found by {@link Module._members}. */
  protected _setMember(name: string, value: unknown): void {
    (this as unknown as Record<string, unknown>)[name] = value;
  }

  // ---- registration ----------------------------------------------------------------------------

  /**
   * Registers a buffer: state saved in `stateDict()` and moved by `to()` but
   * not learned (e.g. `running_mean`). It becomes readable and writable as a
   * property of that name. Non-persistent buffers stay out of `stateDict()`.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    if (!name || name.includes(".")) throw new RangeError(`registerBuffer: invalid buffer name "${name}"`);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(`registerBuffer: buffer "${name}" must be a Tensor or null`);
    }
    if (Object.hasOwn(this, name) && !this.#buffers.has(name)) {
      throw new Error(`registerBuffer: "${name}" is already a property of ${this.constructor.name}`);
    }
    this.#buffers.set(name, tensor);
    if (persistent) this.#nonPersistent.delete(name);
    else this.#nonPersistent.add(name);
    if (!Object.hasOwn(this, name)) {
      const buffers = this.#buffers;
      Object.defineProperty(this, name, {
        get: () => buffers.get(name) ?? null,
        set: (v: Tensor | null) => buffers.set(name, v),
        enumerable: false,
        configurable: true,
      });
    }
  }

  /** The buffer registered as `name` (null when unset). */
  getBuffer(name: string): Tensor | null {
    if (!this.#buffers.has(name)) throw new RangeError(`${this.constructor.name} has no buffer "${name}"`);
    return this.#buffers.get(name) ?? null;
  }

  /** Sets `name` to a parameter (the same as assigning the property). */
  registerParameter(name: string, param: Parameter | null): void {
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`registerParameter: "${name}" must be a Parameter or null`);
    }
    this._setMember(name, param);
  }

  // ---- hooks -----------------------------------------------------------------------------------

  /**
   * Registers a hook that runs before every `forward` call with the call's
   * arguments (as an array); it may return replacement arguments (an array,
   * or a single value for one argument). Returns a handle whose `remove()`
   * unregisters it. As in PyTorch, a hook on a module that the forward pass
   * never calls never runs.
   *
   * @example
   * ```ts
   * import { tensor, type Tensor } from "@dendrite/tensor";
   * import { Linear } from "./linear.ts";
   * const layer = new Linear(2, 1);
   * const handle = layer.registerForwardPreHook((_m, [x]) => (x as Tensor).mul(2)); // doubles the input
   * layer.forward(tensor([[1, 2]]));
   * handle.remove();
   * ```
   */
  registerForwardPreHook(hook: ForwardPreHook<this>, options: HookOptions = {}): RemovableHandle {
    const id = addHook(this.#forwardPreHooks, hook as ForwardPreHook, "registerForwardPreHook", !!options.prepend);
    return this.#hookHandle(this.#forwardPreHooks, id);
  }

  /**
   * Registers a hook that runs after every `forward` call with the arguments
   * and the output; it may return a replacement output. Returns a handle
   * whose `remove()` unregisters it.
   *
   * @example
   * ```ts
   * import { randn, type Tensor } from "@dendrite/tensor";
   * import { Sequential } from "./containers.ts";
   * import { Linear } from "./linear.ts";
   * import { ReLU } from "./activation.ts";
   * const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
   * const shapes: number[][] = [];
   * const handle = net.at(1).registerForwardHook((_m, _args, out) => {
   *   shapes.push([...(out as Tensor).shape]);
   * });
   * net.forward(randn([3, 4]));
   * console.log(shapes); // [[3, 8]]
   * handle.remove();
   * ```
   */
  registerForwardHook(hook: ForwardHook<this>, options: HookOptions = {}): RemovableHandle {
    const id = addHook(this.#forwardHooks, hook as ForwardHook, "registerForwardHook", !!options.prepend);
    return this.#hookHandle(this.#forwardHooks, id);
  }

  /**
   * Registers a hook that runs during backward with the gradients with
   * respect to this module's positional inputs (`gradInput`; null for an
   * argument that is not a tensor or needs no gradient) and its outputs
   * (`gradOutput`); it may return replacement input gradients. The module's
   * tensor inputs and outputs pass through identity autograd nodes while the
   * hook exists (PyTorch's `BackwardHook`). When no input needs a gradient the
   * hook runs with `gradInput` all null once the output's gradient is known;
   * when the output needs none (a frozen module on data, or `noGrad`), the
   * hook does not run, as in PyTorch.
   *
   * @example
   * ```ts
   * import { randn } from "@dendrite/tensor";
   * import { Linear } from "./linear.ts";
   * const layer = new Linear(3, 2);
   * const handle = layer.registerFullBackwardHook((_m, gradInput, gradOutput) => {
   *   console.log(gradInput[0]?.shape, gradOutput[0]?.shape); // [4, 3] [4, 2]
   * });
   * layer.forward(randn([4, 3]).requiresGrad_()).sum().backward();
   * handle.remove();
   * ```
   */
  registerFullBackwardHook(hook: FullBackwardHook<this>, options: HookOptions = {}): RemovableHandle {
    const id = addHook(this.#backwardHooks, hook as FullBackwardHook, "registerFullBackwardHook", !!options.prepend);
    return this.#hookHandle(this.#backwardHooks, id);
  }

  /** Installs the forward wrapper for a new hook; the handle removes the hook and, with the last one, the wrapper. */
  #hookHandle(map: Map<number, unknown>, id: number): RemovableHandle {
    this.#installHookedForward();
    return new RemovableHandle(() => {
      map.delete(id);
      if (this.#forwardPreHooks.size + this.#forwardHooks.size + this.#backwardHooks.size === 0) {
        this.#uninstallHookedForward();
      }
    });
  }

  /**
   * Users call `module.forward(x)` directly (there is no `__call__`), so while
   * hooks exist `forward` is an own, non-enumerable property of this instance
   * that runs them around the class's forward: every call site sees the hooks
   * and parameter discovery (which reads enumerable properties) does not.
   */
  #installHookedForward(): void {
    if (this.#unhookedForward !== null) return;
    const own = Object.getOwnPropertyDescriptor(this, "forward");
    this.#unhookedForward = own;
    const inner = (own?.value as AnyFn | undefined) ?? null;
    const hooked = (...args: unknown[]): unknown => {
      const forward = inner ?? (Object.getPrototypeOf(this).forward as AnyFn);
      return this.#callWithHooks(forward, args);
    };
    Object.defineProperty(this, "forward", { value: hooked, writable: true, configurable: true, enumerable: false });
  }

  #uninstallHookedForward(): void {
    const own = this.#unhookedForward;
    if (own === null) return;
    this.#unhookedForward = null;
    if (own) Object.defineProperty(this, "forward", own);
    else delete (this as { forward?: unknown }).forward;
  }

  /** PyTorch's `_call_impl` order: pre-hooks, backward input wrap, forward, forward hooks, backward output wrap. */
  #callWithHooks(forward: AnyFn, args: unknown[]): unknown {
    for (const hook of [...this.#forwardPreHooks.values()]) {
      const r = hook(this, args);
      if (r !== undefined) args = Array.isArray(r) ? r : [r];
    }
    const bw = this.#backwardHooks.size > 0 && BackwardHookCall.active()
      ? new BackwardHookCall(this, [...this.#backwardHooks.values()])
      : null;
    if (bw) args = bw.setupInputs(args);
    let out = forward.apply(this, args);
    for (const hook of [...this.#forwardHooks.values()]) {
      const r = hook(this, args, out);
      if (r !== undefined) out = r;
    }
    return bw ? bw.setupOutput(out) : out;
  }

  // ---- traversal -------------------------------------------------------------------------------

  /** Direct children as `[name, module]`, in assignment order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, v] of this._members()) if (v instanceof Module) yield [name, v];
  }

  /** Direct children. */
  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and all below it, pre-order, as `[dotted name, module]` (this one is `""`); each module once. */
  *namedModules(prefix = "", seen: Set<Module> = new Set()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }

  /** This module and all below it, pre-order. */
  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** This module's own parameters (not its children's). */
  private *ownParameters(): Generator<[string, Parameter]> {
    for (const [name, v] of this._members()) if (v instanceof Parameter) yield [name, v];
  }

  /** Parameters as `[dotted name, parameter]` (PyTorch's names), each shared parameter once. */
  *namedParameters(prefix = "", recurse = true): Generator<[string, Parameter]> {
    const seen = new Set<Parameter>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mName, m] of mods) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [mName ? `${mName}.${name}` : name, p];
      }
    }
  }

  /** Every parameter, each once (what an optimizer takes). */
  *parameters(recurse = true): Generator<Parameter> {
    for (const [, p] of this.namedParameters("", recurse)) yield p;
  }

  /** Buffers as `[dotted name, tensor]` (non-null ones). */
  *namedBuffers(prefix = "", recurse = true): Generator<[string, Tensor]> {
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mName, m] of mods) {
      for (const [name, b] of m.#buffers) if (b) yield [mName ? `${mName}.${name}` : name, b];
    }
  }

  /** Every buffer. */
  *buffers(recurse = true): Generator<Tensor> {
    for (const [, b] of this.namedBuffers("", recurse)) yield b;
  }

  // ---- modes and bulk changes ------------------------------------------------------------------

  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children()) m.train(mode);
    return this;
  }

  /** Sets evaluation mode (`train(false)`). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every descendant and then on this module (PyTorch's order). Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Moves parameters and buffers to a device, or casts floating-point ones to a dtype (integer buffers such as
   * `num_batches_tracked` keep theirs). Returns this.
   *
   * Like PyTorch, every Parameter and buffer keeps its identity: its data is swapped in place (and a gradient's
   * with it), so an optimizer built before the move updates the moved parameters. Every copy is made before any
   * tensor changes, so a move that fails leaves the module as it was. An optimizer's state follows at its next
   * `step()` (see `Optimizer.step`).
   *
   * @example
   * ```ts
   * import { Linear } from "./linear.ts";
   * const layer = new Linear(2, 3);
   * const w = layer.weight;
   * layer.to("float64");
   * console.log(layer.weight === w, w.dtype); // true "float64"
   * ```
   */
  to(target: Device | DType): this {
    const isDType = target === "float32" || target === "float64" || target === "int32" || target === "bool";
    if (!isDType && !hasBackend(target)) getBackend(target); // the registry's error, naming the devices there are
    const moves = this.#plannedMoves((t) => isDType ? isFloating(t.dtype) && t.dtype !== target : t.device !== target);
    return this.#swapAll(moves, (t) => moved(t, (d) => noGrad(() => d.to(target))));
  }

  /**
   * Moves parameters, their gradients and buffers to `device`, reading back asynchronously where the source needs
   * it: `await model.toDevice("cpu")` brings a WebGPU model home, which the synchronous `to()` cannot (a GPU
   * read-back is async). Parameters and buffers keep their identity, as with `to()`. Returns this.
   *
   * @example
   * ```ts
   * import { Linear } from "./linear.ts";
   * const layer = await new Linear(2, 3).toDevice("cpu");
   * console.log(layer.weight.device); // "cpu"
   * ```
   */
  async toDevice(device: Device): Promise<this> {
    getBackend(device);
    const moves = this.#plannedMoves((t) => t.device !== device);
    const copies = new Map<Tensor, Tensor>();
    try {
      for (const t of moves) copies.set(t, await movedAsync(t, (d) => toDevice(d, device)));
    } catch (e) {
      for (const c of copies.values()) c.dispose();
      throw e;
    }
    return this.#swapAll(moves, (t) => copies.get(t)!);
  }

  /** Every parameter, gradient and buffer `needsMove` picks, each once, after checking none was disposed. */
  #plannedMoves(needsMove: (t: Tensor) => boolean): Tensor[] {
    const out = new Set<Tensor>();
    const consider = (t: Tensor | null, name: string) => {
      if (!t || out.has(t) || !needsMove(t)) return;
      if (t.isDisposed) {
        throw new Error(`${this.constructor.name}.to: "${name}" was disposed; a disposed tensor cannot be moved`);
      }
      out.add(t);
    };
    for (const [name, p] of this.namedParameters()) {
      consider(p, name);
      consider(p.grad, `${name}.grad`);
    }
    for (const [name, b] of this.namedBuffers()) consider(b, name);
    return [...out];
  }

  /** Makes every copy first (freeing them all if one fails), then swaps each tensor's data in place. */
  #swapAll(moves: Tensor[], copyOf: (t: Tensor) => Tensor): this {
    const copies: Tensor[] = [];
    try {
      for (const t of moves) copies.push(copyOf(t));
    } catch (e) {
      for (const c of copies) if (!moves.includes(c)) c.dispose();
      throw e;
    }
    moves.forEach((t, i) => {
      const c = copies[i];
      if (c === t) return;
      t._swapData(c);
      c.dispose();
    });
    return this;
  }

  /** Turns gradients on or off for every parameter (freezing). Returns this. */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /** Clears every parameter's gradient (to null by default, like PyTorch 2; or to zeros). */
  zeroGrad(setToNone = true): void {
    zeroGrads(this.parameters(), setToNone);
  }

  /** The number of parameter elements (only trainable ones when asked). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---- state -----------------------------------------------------------------------------------

  /** Entries of the state dict in PyTorch's order: each module's parameters, then its persistent buffers, then its children. */
  private stateEntries(prefix: string, out: [string, Tensor, Module, string, boolean][]): void {
    for (const [name, p] of this.ownParameters()) out.push([prefix + name, p, this, name, true]);
    for (const [name, b] of this.#buffers) {
      if (b && !this.#nonPersistent.has(name)) out.push([prefix + name, b, this, name, false]);
    }
    for (const [name, m] of this.namedChildren()) m.stateEntries(`${prefix}${name}.`, out);
  }

  /**
   * Parameters and persistent buffers as a plain object keyed by PyTorch's
   * names (`0.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`), with
   * detached tensors sharing this module's storage.
   */
  stateDict(): StateDict {
    const entries: [string, Tensor, Module, string, boolean][] = [];
    this.stateEntries("", entries);
    const out: StateDict = {};
    for (const [key, t] of entries) {
      if (t.isDisposed) throw new Error(`${this.constructor.name}.stateDict: "${key}" was disposed`);
      out[key] = t.detach();
    }
    return out;
  }

  /**
   * Copies a state dict's tensors into this module's parameters and buffers.
   * Every problem is found before anything changes: missing and unexpected
   * keys (errors when `strict`), and, always, values that are not tensors,
   * shape mismatches, disposed tensors (in the state dict or the module), a
   * floating tensor for an integer or bool buffer (it would be truncated),
   * and a source that cannot be moved to the module's device without an
   * asynchronous read-back — all listed by key in one error. Returns the keys
   * that did not match.
   */
  loadStateDict(stateDict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries: [string, Tensor, Module, string, boolean][] = [];
    this.stateEntries("", entries);
    const expected = new Set(entries.map((e) => e[0]));
    const missingKeys: string[] = [], mismatches: string[] = [];
    for (const [key, t] of entries) {
      if (!Object.hasOwn(stateDict, key)) {
        missingKeys.push(key);
        continue;
      }
      const src = stateDict[key];
      if (!(src instanceof Tensor)) {
        mismatches.push(`value for "${key}" is not a Tensor`);
      } else if (src.isDisposed) {
        mismatches.push(`"${key}" in the state dict was disposed`);
      } else if (t.isDisposed) {
        mismatches.push(`"${key}" of the module was disposed`);
      } else if (src.ndim !== t.ndim || src.shape.some((s, i) => s !== t.shape[i])) {
        mismatches.push(
          `size mismatch for "${key}": the state dict has shape ${fmtShapeOf(src)}, the module has ${fmtShapeOf(t)}`,
        );
      } else if (isFloating(src.dtype) && !isFloating(t.dtype)) {
        mismatches.push(
          `dtype mismatch for "${key}": the state dict has ${src.dtype}, the module has ${t.dtype} (values would be truncated)`,
        );
      } else if (src.device !== t.device && !getBackend(src.device).readSync) {
        mismatches.push(
          `"${key}" is on "${src.device}" but the module is on "${t.device}": moving it needs a read-back; ` +
            `await toDevice(tensor, "${t.device}") first, or load into the module on "${src.device}"`,
        );
      }
    }
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !expected.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.map((k) => `"${k}"`).join(", ")}`);
    if (strict && unexpectedKeys.length) {
      problems.push(`unexpected keys: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}`);
    }
    problems.push(...mismatches);
    if (problems.length) {
      throw new Error(
        `loadStateDict: error(s) loading the state dict into ${this.constructor.name}:\n  ${problems.join("\n  ")}`,
      );
    }
    noGrad(() => {
      for (const [key, t] of entries) {
        const src = stateDict[key];
        if (src) t.copy_(src.device === t.device ? src : src.to(t.device));
      }
    });
    return { missingKeys: strict ? [] : missingKeys, unexpectedKeys: strict ? [] : unexpectedKeys };
  }

  // ---- printing --------------------------------------------------------------------------------

  /** The part inside the parentheses of this module's line in `toString()` (e.g. `in=4, out=2`). */
  extraRepr(): string {
    return "";
  }

  /** A tree like PyTorch's repr: `Sequential(\n  (0): Linear(inFeatures=4, outFeatures=2, bias=true)\n)`. */
  toString(): string {
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra) lines.push(...extra.split("\n"));
    for (const [name, m] of this.namedChildren()) {
      const child = m.toString().split("\n").join("\n  ");
      lines.push(`(${name}): ${child}`);
    }
    const head = this.constructor.name;
    if (lines.length === 0) return `${head}()`;
    if (lines.length === 1 && extra && !extra.includes("\n")) return `${head}(${extra})`;
    return `${head}(\n  ${lines.join("\n  ")}\n)`;
  }

  /** Deno's console.log uses this. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}
