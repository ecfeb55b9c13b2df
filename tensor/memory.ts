/**
 * Scoped memory: `tidy(fn)` frees every tensor made inside `fn` except what
 * it returns and what was `keep`-ed. Device memory (a GPU's) is not reclaimed
 * by the garbage collector in any useful time, so a training step written as
 * one scope keeps memory flat; on the CPU it simply returns memory sooner.
 *
 * @module
 */

/** What a scope tracks: anything with `dispose()`. */
export interface Disposable {
  /** Frees the object's hold on its memory. */
  dispose(): void;
  /** Whether it was disposed already. */
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];
const kept = new WeakSet<Disposable>();
let live = 0;

/** Internal: called by every new tensor so the innermost scope can free it. */
export function trackTensor(t: Disposable): void {
  live++;
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Internal: called once by `Tensor.dispose()`. */
export function untrackTensor(): void {
  live--;
}

/**
 * How many tensors were created and not yet disposed (tensors the garbage
 * collector reclaimed without `dispose()` still count). A loop whose steps
 * are `tidy` scopes keeps this flat.
 */
export function liveTensors(): number {
  return live;
}

/**
 * Marks `t` to survive every enclosing {@link tidy} (optimizer state, a
 * running average, anything you store for later). Returns `t`.
 */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

/** Whether `t` was marked with {@link keep}. */
export function isKept(t: Disposable): boolean {
  return kept.has(t);
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 3) return;
  if (typeof (value as Disposable).dispose === "function" && "isDisposed" in (value as object)) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) { for (const v of value) collect(v, into, depth + 1); }
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) collect(v, into, depth + 1);
  }
}

function close(scope: Set<Disposable>, result: unknown): void {
  const i = scopes.lastIndexOf(scope);
  if (i >= 0) scopes.splice(i, 1);
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else if (!kept.has(t) && !t.isDisposed) t.dispose();
  }
}

/**
 * Runs `fn` and then disposes every tensor created inside it, except the
 * tensors it returns (directly, or in an array or plain object) and those
 * marked with {@link keep}; returned tensors move to the enclosing scope.
 * Gradients that `backward()` stores on leaves and optimizer state are kept
 * automatically. An async `fn` keeps its scope open until it settles, so do
 * not run unrelated tensor code concurrently with it.
 *
 * @example
 * ```ts
 * import { nn, optim, randn, tidy } from "../mod.ts";
 * const model = new nn.Linear(4, 1);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
 * for (let step = 0; step < 3; step++) {
 *   const loss = tidy(() => {
 *     opt.zeroGrad();
 *     const l = model.forward(randn([8, 4])).square().mean();
 *     l.backward();
 *     opt.step();
 *     return l.detach(); // everything else made in here is freed now
 *   });
 *   console.log(await loss.item());
 *   loss.dispose();
 * }
 * ```
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    close(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then((value) => {
      close(scope, value);
      return value;
    }, (e) => {
      close(scope, undefined);
      throw e;
    }) as R;
  }
  close(scope, result);
  return result;
}
