/**
 * The autograd engine: a dynamic tape of {@link Node}s and the backward pass
 * over it. The engine knows tensors only through the small {@link GradValue}
 * interface, so it sits below `tensor/` on the import ladder.
 *
 * @module
 */

import { setGradEnabled } from "./grad_mode.ts";

/** What the engine needs of a gradient value: its shape and addition. */
export interface GradValue<T> {
  /** The value's shape. */
  readonly shape: readonly number[];
  /** Sum of two gradients (a new value). */
  add(other: T): T;
  /** A copy that owns its memory. */
  clone(): T;
  /** Frees the value's memory now (optional). */
  dispose?(): void;
  /**
   * The memory the value reads (optional; a tensor's storage, shared by its views). Two gradients with the same
   * storage are one gradient to the engine: a leaf never receives memory another leaf already owns.
   */
  readonly storage?: object;
}

/** What the engine needs of a leaf tensor: a place to accumulate its gradient. */
export interface GradLeaf<T> {
  /** The accumulated gradient. */
  grad: T | null;
}

/** A tensor hook: sees the gradient flowing into a tensor and may replace it. */
export type GradHook<T> = (grad: T) => T | void;

/** Computes the gradients of a node's inputs from the gradient of its output. */
export type BackwardFn<T> = (grad: T) => (T | null)[];

/**
 * One recorded operation: its inputs' nodes (`next`), the rule mapping the
 * output's gradient to the inputs' gradients, and hooks. A leaf tensor that
 * requires grad has an accumulator node (`leaf` set, no rule).
 */
export class Node<T extends GradValue<T>> {
  /** The op's name, e.g. "MulBackward". */
  readonly name: string;
  /** The nodes of the op's inputs (null where an input needs no gradient). */
  readonly next: (Node<T> | null)[];
  /** The shapes of the op's inputs, to check each rule's result. */
  readonly inputShapes: (readonly number[])[];
  /** Hooks run on the gradient arriving at this node's output. */
  readonly hooks: GradHook<T>[] = [];
  /** The leaf this node accumulates into (accumulator nodes only). */
  readonly leaf: GradLeaf<T> | null;
  #backward: BackwardFn<T> | null;
  #check: (() => void) | null;
  #released = false;

  /**
   * Creates a node. Use {@link Node.leafAccumulator} for leaves. `check`, when given, throws if what the rule saved
   * is no longer valid (a tensor changed in place since); `runBackward` calls it on every node of the graph before it
   * runs any rule, so a stale graph fails before a single gradient is written.
   */
  constructor(
    name: string,
    next: (Node<T> | null)[],
    inputShapes: (readonly number[])[],
    backward: BackwardFn<T> | null,
    leaf: GradLeaf<T> | null = null,
    check: (() => void) | null = null,
  ) {
    this.name = name;
    this.next = next;
    this.inputShapes = inputShapes;
    this.#backward = backward;
    this.leaf = leaf;
    this.#check = check;
  }

  /** The accumulator node of a leaf tensor. */
  static leafAccumulator<T extends GradValue<T>>(leaf: GradLeaf<T>): Node<T> {
    return new Node<T>("AccumulateGrad", [], [], null, leaf);
  }

  /** Whether the saved tensors were freed by a backward pass without `retainGraph`. */
  get released(): boolean {
    return this.#released;
  }

  /** Runs the rule. */
  apply(grad: T): (T | null)[] {
    if (this.#backward === null) {
      throw new Error(
        `${this.name}: trying to backward through the graph a second time (its saved tensors were freed ` +
          `after the first backward). Pass { retainGraph: true } to the first backward() if you need to.`,
      );
    }
    return this.#backward(grad);
  }

  /** Throws if what the rule saved went stale (see the constructor's `check`); nothing to check once released. */
  checkSaved(): void {
    this.#check?.();
  }

  /** Drops the rule and everything it saved. */
  release(): void {
    this.#backward = null;
    this.#check = null;
    this.#released = true;
  }
}

/** Options of a backward pass. */
export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again (default false). */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients (default false). */
  createGraph?: boolean;
}

/**
 * Runs the backward pass from `root` with incoming gradient `grad`, calling
 * each node's rule once all the gradients flowing into it are summed, in
 * reverse topological order, and accumulating into leaves.
 */
export function runBackward<T extends GradValue<T>>(root: Node<T>, grad: T, options: BackwardOptions = {}): void {
  execute([root], [grad], options, null);
}

/**
 * The functional form of the backward pass (PyTorch's `torch.autograd.grad`):
 * runs from `roots` with incoming gradients `grads` and returns the gradient
 * that arrives at each node of `inputs` (after its hooks), or null where none
 * does. Nothing accumulates into any leaf's `.grad`, and only the nodes on a
 * path from a root to an input run. A non-leaf input's rule runs only when
 * another input lies beyond it.
 */
export function runGrad<T extends GradValue<T>>(
  roots: readonly Node<T>[],
  grads: readonly T[],
  inputs: readonly Node<T>[],
  options: BackwardOptions = {},
): (T | null)[] {
  if (roots.length !== grads.length) {
    throw new RangeError(`runGrad: ${roots.length} roots but ${grads.length} gradients`);
  }
  const captured = new Map<Node<T>, T | null>(inputs.map((n) => [n, null]));
  execute(roots, grads, options, captured);
  return inputs.map((n) => captured.get(n) ?? null);
}

/** For each of `targets`, whether it can be reached from `roots` along the graph's edges (a node reaches itself). */
export function reachable<T extends GradValue<T>>(roots: readonly Node<T>[], targets: readonly Node<T>[]): boolean[] {
  const seen = new Set<Node<T>>(roots);
  const stack = [...roots];
  while (stack.length > 0) {
    for (const m of stack.pop()!.next) {
      if (m && !seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }
  return targets.map((t) => seen.has(t));
}

/**
 * The engine's one loop. With `capture` null it is `backward()`: every node
 * reachable from the roots runs and leaves accumulate. With `capture` it is
 * `grad()`: only nodes from which a captured node can be reached run, the
 * gradient arriving at a captured node is stored in the map, and no leaf
 * accumulates.
 */
function execute<T extends GradValue<T>>(
  roots: readonly Node<T>[],
  grads: readonly T[],
  options: BackwardOptions,
  capture: Map<Node<T>, T | null> | null,
): void {
  const retain = options.retainGraph ?? options.createGraph ?? false;
  // Count how many edges lead into each node so a node runs only when complete.
  const deps = new Map<Node<T>, number>();
  const stack: Node<T>[] = [...roots];
  const seen = new Set<Node<T>>(roots);
  const nodes: Node<T>[] = [];
  while (stack.length > 0) {
    const n = stack.pop()!;
    nodes.push(n);
    for (const m of n.next) {
      if (!m) continue;
      deps.set(m, (deps.get(m) ?? 0) + 1);
      if (!seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }
  // grad(): a node is needed when a captured node can be reached from it. Every node on the way from a root to a
  // needed node is itself needed, so the edge counts above stay right for the needed part of the graph.
  const needed = capture ? neededNodes(nodes, deps, capture) : null;
  // Whether a node's rule will run: every node for backward(); for grad(), a node with a needed input node.
  const runs = (n: Node<T>) => needed === null || n.next.some((m) => m !== null && needed.has(m));
  // Every saved tensor a rule will read is checked before any rule runs or any leaf accumulates.
  for (const n of nodes) if (runs(n)) n.checkSaved();
  const pending = new Map<Node<T>, T>();
  roots.forEach((r, i) => {
    const prev = pending.get(r);
    pending.set(r, prev === undefined ? grads[i] : prev.add(grads[i]));
  });
  const handedToLeaf = new Set<object>();
  const ready = [...new Set(roots)].filter((r) => !deps.has(r) && (needed === null || needed.has(r)));
  const prevMode = setGradEnabled(options.createGraph ?? false);
  try {
    while (ready.length > 0) {
      const n = ready.pop()!;
      let g = pending.get(n) ?? null;
      pending.delete(n);
      let grads: (T | null)[] = [];
      if (g !== null) {
        for (const h of n.hooks) {
          const r = h(g);
          if (r !== undefined) g = r;
        }
        if (capture?.has(n)) capture.set(n, g);
        if (n.leaf) {
          if (capture === null) accumulate(n.leaf, g, handedToLeaf);
        } else if (runs(n)) {
          grads = n.apply(g);
          if (!retain) n.release();
        }
      }
      for (let i = 0; i < n.next.length; i++) {
        const m = n.next[i];
        if (!m || (needed !== null && !needed.has(m))) continue;
        const gi = grads[i] ?? null;
        if (gi !== null) {
          const want = n.inputShapes[i];
          if (!sameShape(gi.shape, want)) {
            throw new Error(
              `${n.name}: gradient for input ${i} has shape [${gi.shape}] but the input has shape [${want}]`,
            );
          }
          const prev = pending.get(m);
          pending.set(m, prev === undefined ? gi : prev.add(gi));
        }
        const left = deps.get(m)! - 1;
        deps.set(m, left);
        if (left === 0) ready.push(m);
      }
    }
  } finally {
    setGradEnabled(prevMode);
  }
}

/**
 * The nodes from which a node of `targets` can be reached (targets included): one pass over the graph in reverse
 * topological order (Kahn's order from the edge counts), so every node is decided after all of its inputs' nodes.
 */
function neededNodes<T extends GradValue<T>>(
  nodes: readonly Node<T>[],
  deps: ReadonlyMap<Node<T>, number>,
  targets: ReadonlyMap<Node<T>, unknown>,
): Set<Node<T>> {
  const left = new Map(deps);
  const topo = nodes.filter((n) => !left.has(n));
  for (let k = 0; k < topo.length; k++) {
    for (const m of topo[k].next) {
      if (!m) continue;
      const l = left.get(m)! - 1;
      left.set(m, l);
      if (l === 0) topo.push(m);
    }
  }
  const needed = new Set<Node<T>>();
  for (let k = topo.length - 1; k >= 0; k--) {
    const n = topo[k];
    if (targets.has(n) || n.next.some((m) => m !== null && needed.has(m))) needed.add(n);
  }
  return needed;
}

function accumulate<T extends GradValue<T>>(leaf: GradLeaf<T>, g: T, handed: Set<object>): void {
  try {
    accumulateInto(leaf, g, handed);
  } catch (e) {
    // The leaf refused the gradient (its setter checks shape, dtype and device): say where and the likely cause.
    if (!(e instanceof Error)) throw e;
    const hint = " (was the leaf moved, e.g. by Module.to(), after the forward pass? run the forward pass again)";
    const Kind = e instanceof TypeError ? TypeError : e instanceof RangeError ? RangeError : Error;
    throw new Kind(`AccumulateGrad: ${e.message}${hint}`);
  }
}

function accumulateInto<T extends GradValue<T>>(leaf: GradLeaf<T>, g: T, handed: Set<object>): void {
  if (leaf.grad === null) {
    // The same gradient may reach two leaves, as one object (through `add`) or as views of one storage (through
    // `reshape` of one leaf and `add` with another); each leaf must own its grad's memory, since optimizers and
    // clipping update grads in place: a shared storage would be scaled twice.
    const memory = g.storage ?? g;
    leaf.grad = handed.has(memory) ? g.clone() : g;
    handed.add(leaf.grad.storage ?? leaf.grad);
  } else {
    const previous = leaf.grad;
    leaf.grad = previous.add(g);
    // Accumulation replaces the old gradient (PyTorch adds in place); free it now, not at GC time.
    previous.dispose?.();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
