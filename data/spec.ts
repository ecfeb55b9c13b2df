/**
 * Describing objects as plain data so a Deno Worker can rebuild them.
 *
 * A Worker cannot receive class instances or closures, so a dataset (and its
 * transforms) that should load on `DataLoader` workers describes how to make
 * itself again: a {@link WorkerSpec} names a module URL, an exported class
 * and structured-cloneable arguments (which may contain further specs). The
 * worker imports the module and calls `new Export(...args)` (or
 * `Export[method](...args)`).
 *
 * Your own dataset can take part by implementing {@link WorkerSendable}:
 *
 * ```ts ignore
 * class MyDataset implements Dataset<[Tensor, number]>, WorkerSendable {
 *   constructor(readonly root: string) {}
 *   toWorkerSpec(): WorkerSpec {
 *     return { $module: import.meta.url, $export: "MyDataset", $args: [this.root] };
 *   }
 *   // length, get(i) …
 * }
 * ```
 *
 * @module
 */

/** How to rebuild an object in another realm: `new (await import($module))[$export](...$args)`. */
export interface WorkerSpec {
  /** The URL of the module that exports the class (usually `import.meta.url`). */
  $module: string;
  /** The exported class (or object holding `$method`). */
  $export: string;
  /** A static factory to call instead of the constructor. */
  $method?: string;
  /** Structured-cloneable arguments; nested specs are rebuilt first. */
  $args: unknown[];
}

/** An object that can describe itself as a {@link WorkerSpec}. */
export interface WorkerSendable {
  /** The spec to rebuild this object; throws {@link NotSendableError} when it cannot be sent. */
  toWorkerSpec(): WorkerSpec;
}

/** Thrown when an object cannot be described for a worker (e.g. it holds a closure). */
export class NotSendableError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "NotSendableError";
  }
}

/** Whether `x` implements {@link WorkerSendable}. */
export function isWorkerSendable(x: unknown): x is WorkerSendable {
  return typeof x === "object" && x !== null && typeof (x as WorkerSendable).toWorkerSpec === "function";
}

/**
 * The spec of `x` (a dataset, transform, …), or a {@link NotSendableError}
 * saying which part (`what`) cannot go to a worker. `undefined` and `null` pass through.
 */
export function specOf(x: unknown, what: string): WorkerSpec | undefined {
  if (x === undefined || x === null) return undefined;
  if (isWorkerSendable(x)) return x.toWorkerSpec();
  const kind = typeof x === "function" ? "a plain function" : `a ${(x as object).constructor?.name ?? typeof x}`;
  throw new NotSendableError(
    `${what} is ${kind}, which cannot be rebuilt in a worker (implement toWorkerSpec(), or use numWorkers: 0)`,
  );
}

function isSpec(x: unknown): x is WorkerSpec {
  return typeof x === "object" && x !== null && typeof (x as WorkerSpec).$module === "string" &&
    typeof (x as WorkerSpec).$export === "string" && Array.isArray((x as WorkerSpec).$args);
}

/** Rebuilds every {@link WorkerSpec} inside `value` (arrays and plain objects are walked). */
export async function revive(value: unknown): Promise<unknown> {
  if (Array.isArray(value)) return await Promise.all(value.map(revive));
  if (isSpec(value)) {
    const mod = await import(value.$module) as Record<string, unknown>;
    const target = mod[value.$export] as Record<string, unknown> | undefined;
    if (target === undefined) throw new Error(`revive: module ${value.$module} does not export ${value.$export}`);
    const args = await Promise.all(value.$args.map(revive));
    if (value.$method) {
      const fn = target[value.$method];
      if (typeof fn !== "function") throw new Error(`revive: ${value.$export}.${value.$method} is not a function`);
      return fn.apply(target, args);
    }
    return new (target as unknown as new (...a: unknown[]) => unknown)(...args);
  }
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await revive(v);
    return out;
  }
  return value;
}
