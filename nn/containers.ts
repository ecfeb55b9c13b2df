/**
 * Containers: `Sequential` (runs its modules in order), `ModuleList` and
 * `ModuleDict` (hold modules so their parameters are found). Children are
 * named by position (`0`, `1`, …) or key, as in PyTorch's state dicts.
 *
 * @module
 */

import type { Tensor } from "./deps.ts";
import { Module } from "./module.ts";

function checkModule(op: string, m: unknown): Module {
  if (!(m instanceof Module)) throw new TypeError(`${op}: expected a Module, got ${m === null ? "null" : typeof m}`);
  return m;
}

function index(op: string, i: number, length: number): number {
  const j = i < 0 ? i + length : i;
  if (!Number.isInteger(j) || j < 0 || j >= length) {
    throw new RangeError(`${op}: index ${i} is out of range for ${length} modules`);
  }
  return j;
}

/** A module whose forward passes through a list of modules, in order. Each child takes one tensor and returns one. */
export interface TensorModule {
  /** Maps one tensor to one tensor. */
  forward(x: Tensor): Tensor;
}

/**
 * Modules run one after another; children are named `0`, `1`, ….
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Sequential } from "./containers.ts";
 * import { Linear } from "./linear.ts";
 * import { ReLU } from "./activation.ts";
 * const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
 * const y = net.forward(randn([3, 4])); // [3, 2]
 * ```
 */
export class Sequential extends Module {
  #list: Module[];

  /** Holds `modules` in order. */
  constructor(...modules: Module[]) {
    super();
    this.#list = modules.map((m) => checkModule("Sequential", m));
  }

  /** Internal: the own members, then the children by position or key (state-dict names). */
  protected override _members(): [string, unknown][] {
    return [...super._members(), ...this.#list.map((m, i): [string, unknown] => [String(i), m])];
  }

  /** Internal: replaces the member or child called `name`. */
  protected override _setMember(name: string, value: unknown): void {
    if (/^\d+$/.test(name)) this.#list[Number(name)] = checkModule("Sequential", value);
    else super._setMember(name, value);
  }

  /** Passes `x` through every module in order. */
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.#list) y = (m as unknown as TensorModule).forward(y);
    return y;
  }

  /** The number of modules. */
  get length(): number {
    return this.#list.length;
  }

  /** The module at `i` (negative counts from the end). */
  at(i: number): Module {
    return this.#list[index("Sequential.at", i, this.#list.length)];
  }

  /** Adds a module at the end. Returns this. */
  append(m: Module): this {
    this.#list.push(checkModule("Sequential.append", m));
    return this;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.#list[Symbol.iterator]();
  }
}

/**
 * A list of modules whose parameters are registered (children `0`, `1`, …);
 * it has no forward of its own.
 *
 * @example
 * ```ts
 * import { ModuleList } from "./containers.ts";
 * import { Linear } from "./linear.ts";
 * const layers = new ModuleList([new Linear(4, 4), new Linear(4, 4)]);
 * console.log(layers.numParameters()); // 40
 * ```
 */
export class ModuleList extends Module {
  #list: Module[];

  /** Holds `modules` in order. */
  constructor(modules: Iterable<Module> = []) {
    super();
    this.#list = [...modules].map((m) => checkModule("ModuleList", m));
  }

  /** Internal: the own members, then the children by position or key (state-dict names). */
  protected override _members(): [string, unknown][] {
    return [...super._members(), ...this.#list.map((m, i): [string, unknown] => [String(i), m])];
  }

  /** Internal: replaces the member or child called `name`. */
  protected override _setMember(name: string, value: unknown): void {
    if (/^\d+$/.test(name)) this.#list[Number(name)] = checkModule("ModuleList", value);
    else super._setMember(name, value);
  }

  /** The number of modules. */
  get length(): number {
    return this.#list.length;
  }

  /** The module at `i` (negative counts from the end). */
  at(i: number): Module {
    return this.#list[index("ModuleList.at", i, this.#list.length)];
  }

  /** Replaces the module at `i`. */
  set(i: number, m: Module): void {
    this.#list[index("ModuleList.set", i, this.#list.length)] = checkModule("ModuleList.set", m);
  }

  /** Adds a module at the end. Returns this. */
  append(m: Module): this {
    this.#list.push(checkModule("ModuleList.append", m));
    return this;
  }

  /** Adds modules at the end, all or none (every one is checked first). Returns this. */
  extend(modules: Iterable<Module>): this {
    const list = [...modules];
    list.forEach((m, i) => checkModule(`ModuleList.extend (module ${i})`, m));
    this.#list.push(...list);
    return this;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.#list[Symbol.iterator]();
  }
}

/**
 * Modules by name, in insertion order (children named by their keys).
 *
 * @example
 * ```ts
 * import { ModuleDict } from "./containers.ts";
 * import { Linear } from "./linear.ts";
 * const heads = new ModuleDict({ cls: new Linear(8, 10), box: new Linear(8, 4) });
 * console.log(Object.keys(heads.stateDict())); // ["cls.weight", "cls.bias", "box.weight", "box.bias"]
 * ```
 */
export class ModuleDict extends Module {
  #map = new Map<string, Module>();

  /** Holds the given modules (an object or `[key, module]` pairs), in order. */
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries = Symbol.iterator in modules
      ? [...(modules as Iterable<[string, Module]>)]
      : Object.entries(modules as Record<string, Module>);
    for (const [k, m] of entries) this.set(k, m);
  }

  /** Internal: the own members, then the children by position or key (state-dict names). */
  protected override _members(): [string, unknown][] {
    return [...super._members(), ...this.#map];
  }

  /** Internal: replaces the member or child called `name`. */
  protected override _setMember(name: string, value: unknown): void {
    if (this.#map.has(name)) this.#map.set(name, checkModule("ModuleDict", value));
    else super._setMember(name, value);
  }

  /** The module under `key`, or undefined. */
  get(key: string): Module | undefined {
    return this.#map.get(key);
  }

  /** Adds or replaces the module under `key`. Returns this. */
  set(key: string, m: Module): this {
    if (!key || key.includes(".")) throw new RangeError(`ModuleDict: invalid key "${key}"`);
    this.#map.set(key, checkModule("ModuleDict.set", m));
    return this;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  /** The number of modules. */
  get size(): number {
    return this.#map.size;
  }

  /** The keys in order. */
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  /** The modules in order. */
  values(): IterableIterator<Module> {
    return this.#map.values();
  }

  /** `[key, module]` pairs in order. */
  entries(): IterableIterator<[string, Module]> {
    return this.#map.entries();
  }

  /** `[key, module]` pairs in order. */
  [Symbol.iterator](): Iterator<[string, Module]> {
    return this.#map.entries();
  }
}
