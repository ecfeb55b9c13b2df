/**
 * The `Optimizer` base class: parameter groups, per-parameter state,
 * `zeroGrad`, `step` and state dicts in PyTorch's layout.
 *
 * @module
 */

import {
  checkGradFits,
  enableGrad,
  fmtShape,
  getBackend,
  isFloating,
  isKept,
  keep,
  noGrad,
  ownsStorage,
  Tensor,
  toDevice,
  zeroGrads,
} from "@dendrite/tensor";

/** The hyperparameters every optimizer has. */
export interface BaseOptions {
  /** Learning rate. */
  lr: number;
}

/**
 * A parameter group as the optimizer holds it: the tensors it updates, its
 * hyperparameters (every option the optimizer takes, defaulted from the
 * constructor's), and any extra keys schedulers add (`initialLr`, `maxLr`, …).
 * Schedulers and users may change the hyperparameters between steps.
 */
export type ParamGroup<O extends BaseOptions = BaseOptions> = O & {
  /** The tensors this group updates. */
  params: Tensor[];
  /** Keys added by schedulers or users (kept in state dicts). */
  [key: string]: unknown;
};

/** A parameter group as passed in: its tensors, and any options that differ from the optimizer's defaults. */
export type ParamGroupInput<O extends BaseOptions = BaseOptions> = Partial<O> & {
  /** The tensors this group updates (a single tensor, an array, or any iterable such as `model.parameters()`). */
  params: Tensor | Iterable<Tensor>;
  /** Extra keys, kept in the group. */
  [key: string]: unknown;
};

/** What an optimizer takes: tensors (one group with the defaults), or parameter groups. */
export type Params<O extends BaseOptions = BaseOptions> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/**
 * One parameter's optimizer state, keyed by PyTorch's names (`momentum_buffer`,
 * `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, `grad_avg`, `step`)
 * so state dicts read the same in both worlds.
 */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state in PyTorch's layout: per-parameter state keyed by the
 * parameter's index (counting through the groups in order), and each group's
 * hyperparameters with snake_case names (`weight_decay`, `initial_lr`) and
 * `params` as those indices.
 */
export interface OptimizerStateDict {
  /** Per-parameter state by parameter index; parameters without state are absent. */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters, with `params` holding the indices of its parameters. */
  param_groups: Array<{ params: number[]; [key: string]: unknown }>;
}

/** A `loss` closure for `step(closure)`: re-evaluates the model and returns the loss. */
export type Closure = () => Tensor;

/** `weightDecay` → `weight_decay` (PyTorch's state-dict spelling; the schedulers' state dicts use it too). */
export function toSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** `weight_decay` → `weightDecay`. */
function toCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Copies a hyperparameter value so groups never share arrays (betas) with callers or state dicts. */
function copyValue(v: unknown): unknown {
  return Array.isArray(v) ? v.slice() : v;
}

/**
 * Base class of all optimizers (like `torch.optim.Optimizer`).
 *
 * A subclass passes its name and defaults to the constructor, checks options
 * in {@link Optimizer.validate}, and updates one group's parameters in
 * {@link Optimizer.updateGroup}, which `step()` runs under `noGrad` for every
 * group. Parameters without a gradient are skipped.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const w = tensor([1, 2]).requiresGrad_();
 * const opt = new optim.SGD([w], { lr: 0.1 });
 * w.square().sum().backward();
 * opt.step(); // w = [0.8, 1.6]
 * opt.zeroGrad();
 * ```
 */
export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  /** The options groups fall back to (the constructor's options over the optimizer's own defaults). */
  readonly defaults: Readonly<O>;
  /** The parameter groups, in order. */
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (like PyTorch's `optimizer.state`). */
  state: Map<Tensor, ParamState> = new Map();
  /** The optimizer's name, used in error messages. */
  protected readonly optimizerName: string;

  /**
   * An optimizer called `name` over `params` (tensors or parameter groups) with `defaults` for every group. Use a subclass.
   *
   * @param name the optimizer's name for error messages (`"SGD"`)
   * @param params tensors, or parameter groups
   * @param defaults every option's value for groups that do not set it
   */
  protected constructor(name: string, params: Params<O>, defaults: O) {
    this.optimizerName = name;
    this.validate(defaults, "options");
    this.defaults = { ...defaults };
    if (params instanceof Tensor) {
      throw new TypeError(
        `${name}: params must be an iterable of Tensors or of parameter groups, got a single Tensor; pass [tensor]`,
      );
    }
    if (
      params === null || params === undefined || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(`${name}: params must be an iterable of Tensors or of parameter groups, got ${params}`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput<O>>)];
    if (list.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
    if (list.every((p) => p instanceof Tensor)) {
      this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    } else if (list.every((p) => !(p instanceof Tensor) && typeof p === "object" && p !== null && "params" in p)) {
      for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
    } else {
      throw new TypeError(
        `${name}: params must be all Tensors or all parameter groups ({ params, ...options }), not a mix or other values`,
      );
    }
  }

  /**
   * Checks one set of options (the defaults, or a merged group), throwing an
   * error that names the optimizer and the option. Subclasses extend it.
   */
  protected validate(options: O, where: string): void {
    checkNonNegative(this.optimizerName, where, "lr", options.lr);
  }

  /** Updates the parameters of one group from their gradients (runs under `noGrad`). */
  protected abstract updateGroup(group: ParamGroup<O>): void;

  /**
   * Why this optimizer cannot take a sparse gradient (`Embedding({ sparse: true })`) with `group`'s options, or
   * null when it can. The default refuses, as PyTorch's dense optimizers do; `step()` asks before any update.
   */
  protected sparseGradError(_group: ParamGroup<O>): string | null {
    return `${this.optimizerName} does not support sparse gradients`;
  }

  /**
   * Why this optimizer cannot take a dense gradient, or null when it can (the default). `SparseAdam` refuses them.
   */
  protected denseGradError(_group: ParamGroup<O>): string | null {
    return null;
  }

  /**
   * Adds a parameter group; options it does not set come from `defaults`.
   * A parameter may belong to one group only.
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    const name = this.optimizerName;
    if (group === null || typeof group !== "object" || !("params" in group)) {
      throw new TypeError(`${name}.addParamGroup: a parameter group must be an object with a "params" key`);
    }
    const raw = group.params;
    let params: Tensor[];
    if (raw instanceof Tensor) params = [raw];
    else if (raw !== null && raw !== undefined && typeof (raw as Iterable<Tensor>)[Symbol.iterator] === "function") {
      params = [...raw];
    } else throw new TypeError(`${name}.addParamGroup: "params" must be a Tensor or an iterable of Tensors`);
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`${name}: can only optimize Tensors, but params[${i}] of the group is ${typeof p}`);
      }
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf Tensor (params[${i}] has a gradFn)`);
      if (!isFloating(p.dtype)) {
        throw new TypeError(`${name}: can only optimize floating-point tensors, params[${i}] has dtype ${p.dtype}`);
      }
    });
    if (new Set(params).size !== params.length) {
      throw new Error(`${name}: a parameter group contains the same parameter more than once`);
    }
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p))) {
      throw new Error(`${name}: some parameters appear in more than one parameter group`);
    }
    const merged: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(group)) if (k !== "params") merged[k] = copyValue(v);
    for (const [k, v] of Object.entries(this.defaults)) if (merged[k] === undefined) merged[k] = copyValue(v);
    merged.params = params;
    this.validate(merged as unknown as O, `parameter group ${this.paramGroups.length}`);
    this.paramGroups.push(merged as ParamGroup<O>);
  }

  /**
   * Clears the gradients of every parameter: sets them to `null` (the
   * default, like PyTorch; saves memory and the next backward allocates) or
   * fills them with zeros.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) zeroGrads(group.params, setToNone);
  }

  /**
   * Performs one optimization step. `closure`, when given, is called with
   * grad mode on first and its loss returned (for optimizers that re-evaluate).
   *
   * Everything is checked before any parameter or state changes: each
   * gradient must have its parameter's shape, dtype and device (PyTorch's
   * errors), and neither may be disposed. State made before `Module.to` moved
   * the parameters follows them here: a dtype cast or a move off the CPU is
   * done now; a move that needs a read-back (WebGPU to CPU) is refused with
   * the way out, `await optimizer.toDevice(device)`.
   */
  step(closure?: Closure): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    const stale = this.#checkBeforeStep();
    // Every gradient is checked before anything changes (the sparse or dense kind this optimizer takes, too).
    this.paramGroups.forEach((group, gi) => {
      group.params.forEach((p, pi) => {
        if (!p.grad) return;
        const why = p.grad.isSparse ? this.sparseGradError(group) : this.denseGradError(group);
        if (why !== null) {
          throw new Error(`${why} (parameter ${pi} of group ${gi}, shape [${p.shape}])`);
        }
      });
    });
    for (const [state, key, p] of stale) {
      const old = state[key] as Tensor;
      state[key] = noGrad(() => isFloating(old.dtype) ? old.to(p.device).to(p.dtype) : old.to(p.device));
      old.dispose();
    }
    noGrad(() => {
      for (const group of this.paramGroups) this.updateGroup(group);
    });
    // Fused kernels write parameters without the in-place methods: bump each updated parameter's version counter
    // here, once for every optimizer, so a graph that saved a parameter before this step refuses to backward.
    for (const group of this.paramGroups) for (const p of group.params) if (p.grad) p._markModified();
    // State buffers outlive the step: keep them out of any enclosing `tidy` scope.
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) if (v instanceof Tensor && !isKept(v)) keep(v);
    }
    return loss;
  }

  /**
   * Moves every state tensor to `device` (reading back asynchronously where the state lives on a GPU): what to
   * call after `await model.toDevice("cpu")` when the optimizer already has state. Returns this.
   */
  async toDevice(device: string): Promise<this> {
    getBackend(device);
    const moved: [ParamState, string, Tensor][] = [];
    for (const s of this.state.values()) {
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor && v.device !== device) moved.push([s, k, await toDevice(v, device)]);
      }
    }
    for (const [s, k, t] of moved) {
      (s[k] as Tensor).dispose();
      s[k] = t;
    }
    return this;
  }

  /**
   * Checks every gradient and state tensor before a step changes anything; returns the state entries whose
   * parameter has moved (device or dtype) since they were made, to be moved before the update.
   */
  #checkBeforeStep(): [ParamState, string, Tensor][] {
    const name = this.optimizerName;
    const stale: [ParamState, string, Tensor][] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const where = `${name}.step: parameter ${index++} (shape ${fmtShape(p.shape)})`;
        if (p.isDisposed) throw new Error(`${where} was disposed`);
        if (p.grad) checkGradFits(p, p.grad, `${where}`);
        const s = this.state.get(p);
        if (!s) continue;
        for (const [k, v] of Object.entries(s)) {
          if (!(v instanceof Tensor) || (v.device === p.device && (v.dtype === p.dtype || !isFloating(v.dtype)))) {
            continue;
          }
          if (v.isDisposed) throw new Error(`${where}: its state "${k}" was disposed`);
          if (v.device !== p.device && !getBackend(v.device).readSync) {
            throw new Error(
              `${where}: its state "${k}" is on "${v.device}" but the parameter is now on "${p.device}", and moving ` +
                `it needs a read-back; call \`await optimizer.toDevice("${p.device}")\` after moving the model`,
            );
          }
          stale.push([s, k, p]);
        }
      }
    }
    return stale;
  }

  /** The state of `p`, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * The optimizer's state in PyTorch's layout. State tensors are returned by
   * reference (as PyTorch does); clone them to keep a snapshot while training continues.
   */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict["param_groups"] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const out: { params: number[]; [key: string]: unknown } = { params: [] };
      for (const [k, v] of Object.entries(group)) if (k !== "params") out[toSnake(k)] = copyValue(v);
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s) state[index] = { ...s };
        out.params.push(index++);
      }
      paramGroups.push(out);
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Loads state from {@link Optimizer.stateDict} (of an optimizer built the same
   * way): the groups' hyperparameters and, copied onto each parameter's device
   * and dtype, its state. Everything is checked before anything changes.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const name = this.optimizerName;
    if (!stateDict || typeof stateDict !== "object" || !Array.isArray(stateDict.param_groups) || !stateDict.state) {
      throw new TypeError(`${name}.loadStateDict: expected an object with "state" and "param_groups"`);
    }
    const saved = stateDict.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `${name}.loadStateDict: the state dict has ${saved.length} parameter group(s) but the optimizer has ${this.paramGroups.length}`,
      );
    }
    const idToParam = new Map<number, Tensor>();
    saved.forEach((g, i) => {
      const mine = this.paramGroups[i].params;
      if (!Array.isArray(g.params) || g.params.length !== mine.length) {
        throw new Error(
          `${name}.loadStateDict: parameter group ${i} has ${
            Array.isArray(g.params) ? g.params.length : "no"
          } parameter(s) in the state dict but ${mine.length} in the optimizer`,
        );
      }
      g.params.forEach((id, j) => idToParam.set(id, mine[j]));
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(stateDict.state)) {
      const p = idToParam.get(Number(key));
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${key}, which no parameter group lists`);
      const out: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (v.ndim > 0 && (v.ndim !== p.ndim || v.shape.some((d, i) => d !== p.shape[i]))) {
            throw new RangeError(
              `${name}.loadStateDict: state "${k}" of parameter ${key} has shape [${v.shape}] but the parameter has shape [${p.shape}]`,
            );
          }
          let t = v.to(p.device);
          if (isFloating(t.dtype)) t = t.to(p.dtype);
          // Never share storage with the source: both optimizers may keep stepping.
          out[k] = noGrad(() => t === v ? v.clone() : t);
        } else if (typeof v === "number") {
          out[k] = v;
        } else {
          throw new TypeError(
            `${name}.loadStateDict: state "${k}" of parameter ${key} is neither a Tensor nor a number`,
          );
        }
      }
      newState.set(p, out);
    }
    const newGroups = saved.map((g, i) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== "params") out[toCamel(k)] = copyValue(v);
      out.params = this.paramGroups[i].params;
      this.validate(out as unknown as O, `parameter group ${i} of the state dict`);
      return out as ParamGroup<O>;
    });
    this.paramGroups = newGroups;
    this.state = newState;
  }
}

/** Throws unless `value` is a finite number >= 0. */
export function checkNonNegative(opt: string, where: string, key: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${opt}: invalid ${key} ${value} in ${where} (expected a finite number >= 0)`);
  }
}

/** Throws unless `value` is a number in [0, 1). */
export function checkUnitInterval(opt: string, where: string, key: string, value: unknown): void {
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new RangeError(`${opt}: invalid ${key} ${value} in ${where} (expected a number in [0, 1))`);
  }
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(opt: string, where: string, key: string, value: unknown): void {
  if (typeof value !== "boolean") {
    throw new TypeError(`${opt}: invalid ${key} ${value} in ${where} (expected true or false)`);
  }
}

// The fused optimizer kernels run on a tensor that is its whole storage (parameters and state buffers made with
// `zerosLike` are), so a kernel over the storage updates exactly its elements.
export { ownsStorage } from "@dendrite/tensor";

/** Whether `g` can be the gradient operand of a fused update of `p` (same dtype and size, contiguous, not aliased). */
export function fusableGrad(p: Tensor, g: Tensor): boolean {
  return !g.isSparse && g.dtype === p.dtype && g.numel() === p.numel() && g.isContiguous() && g.storage !== p.storage;
}

/** Whether state buffer `b` can be updated by a fused kernel alongside `p` (owns its storage, same dtype and size). */
export function fusableBuffer(p: Tensor, b: Tensor): boolean {
  return ownsStorage(b) && b.dtype === p.dtype && b.numel() === p.numel();
}

/**
 * Collects the temporaries one update makes so they are freed at once
 * (device memory is not garbage-collected in useful time).
 */
export class Temps {
  #list: Tensor[] = [];
  /** Registers `t` for disposal and returns it. */
  keep(t: Tensor): Tensor {
    this.#list.push(t);
    return t;
  }
  /** Disposes every registered tensor. */
  dispose(): void {
    for (const t of this.#list) t.dispose();
    this.#list = [];
  }
}
