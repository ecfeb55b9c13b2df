/**
 * The bad-input catalogue's runner: each case is a call a user might make
 * with bad input, the error it must raise (its class and key words), and the
 * state it could have touched; the runner takes a bit-exact snapshot of that
 * state before and after the call and fails when anything changed —
 * "validate, then mutate" (ARCHITECTURE.md), tested. Each member keeps its
 * cases in its own `errors_catalogue_test.ts` (`gpu/` runs its on WebGPU).
 *
 * What a snapshot sees: tensors (dtype, device, shape, strides, offset,
 * version counter, whether disposed, `requiresGrad`, every byte of the data,
 * and their `.grad`, recursively), arrays, Maps and plain objects of them,
 * numbers, strings and booleans, a {@link Generator}'s stream position, and
 * files ({@link fileAt}: their bytes, or that they are absent).
 *
 * @example
 * ```ts ignore
 * import { badInput, catalogueSuite } from "@dendrite/tensor/testing";
 * import { tensor } from "@dendrite/tensor";
 * catalogueSuite("catalogue[tensor]", [
 *   badInput({
 *     name: "copy_ of a value that does not fit",
 *     setup: () => tensor([1, 2]),
 *     act: (t) => t.copy_(tensor([1, 2, 3])),
 *     error: RangeError,
 *     words: ["copy_", "[3]", "[2]"],
 *     state: (t) => t,
 *   }),
 * ]);
 * ```
 *
 * @module
 */

import { Tensor } from "./tensor.ts";
import { Generator } from "./random.ts";

/** One bad input: what a user does, the error it must raise, and the state it could have touched. */
export interface BadInputCase<F> {
  /** What the user does, in words (becomes the test's name). */
  name: string;
  /** Builds what the case acts on (tensors, a model and its optimizer, a file path, …). */
  setup: () => F | Promise<F>;
  /** The bad call; may be async (a device-side check surfaces at the next read-back). */
  act: (fixture: F) => unknown;
  /** The class the error must be an instance of. */
  error: abstract new (...args: never[]) => Error;
  /** What the message must contain (strings, matched exactly) or match (RegExps). */
  words: readonly (string | RegExp)[];
  /** Everything the call could have changed: tensors, collections of them, generators, {@link fileAt} files. */
  state: (fixture: F) => unknown;
  /** Runs after the case, passed or failed (removes temporary files). */
  cleanup?: (fixture: F) => unknown;
}

/** Erases a case's fixture type so cases of different fixtures share one list (keeps `F` checked inside). */
export function badInput<F>(c: BadInputCase<F>): BadInputCase<unknown> {
  return c as BadInputCase<unknown>;
}

/** A file the state includes: its bytes, or that it does not exist. */
export class FileState {
  /** Marks the file at `path` (read when a snapshot is taken, not now). */
  constructor(readonly path: string) {}
}

/** Marks `path` as part of a case's state (see {@link FileState}). */
export function fileAt(path: string): FileState {
  return new FileState(path);
}

/** A plain, comparable picture of `value`, reading tensor data (asynchronously: devices need it) and files. */
export async function snapshot(value: unknown, seen: Set<object> = new Set()): Promise<unknown> {
  if (value === null || value === undefined || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : Number.isNaN(value) ? "NaN" : value;
  if (typeof value === "function") return "[function]";
  if (typeof value !== "object") return String(value);
  if (seen.has(value)) return "[seen]";
  seen.add(value);
  if (value instanceof Tensor) {
    const t = value;
    const bytes = t.isDisposed
      ? null
      : await t.data().then((d) => Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    return {
      tensor: [t.dtype, t.device, t.shape.join("x"), t.strides.join(","), t.offset],
      version: t.version,
      disposed: t.isDisposed,
      requiresGrad: t.requiresGrad,
      bytes,
      grad: await snapshot(t.grad, seen),
    };
  }
  if (value instanceof Generator) return { generator: value.getState() };
  if (value instanceof FileState) {
    try {
      return { file: value.path, bytes: Array.from(await Deno.readFile(value.path)) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { file: value.path, absent: true };
      throw e;
    }
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return Promise.all(value.map((v) => snapshot(v, seen)));
  if (value instanceof Map) {
    const out: unknown[] = [];
    for (const [k, v] of value) out.push([await snapshot(k, seen), await snapshot(v, seen)]);
    return { map: out };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = await snapshot(v, seen);
  return out;
}

/** The first path at which two snapshots differ, or null when they are the same. */
export function firstDifference(a: unknown, b: unknown, path = "state"): string | null {
  if (a === b) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return `${path}: ${JSON.stringify(a)?.slice(0, 80)} became ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: the kind of value changed`;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${path}: keys [${ka.slice(0, 8)}] became [${kb.slice(0, 8)}]`;
  }
  for (const k of ka) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

/** Runs `act`, returning what it threw (or rejected with), or null when it succeeded. */
async function caught(act: () => unknown): Promise<unknown> {
  try {
    await act();
    return null;
  } catch (e) {
    return e ?? new Error("a falsy value was thrown");
  }
}

/**
 * Runs one case: the call must throw an instance of the case's error class whose message has every key word, and
 * the state must be bit-identical afterwards; otherwise this rejects, saying what went wrong.
 */
export async function runCase<F>(c: BadInputCase<F>): Promise<void> {
  const fixture = await c.setup();
  try {
    await judge(c, fixture);
  } finally {
    await c.cleanup?.(fixture);
  }
}

async function judge<F>(c: BadInputCase<F>, fixture: F): Promise<void> {
  const before = await snapshot(c.state(fixture));
  const e = await caught(() => c.act(fixture));
  if (e === null) throw new Error(`expected ${c.error.name} but the call succeeded`);
  if (!(e instanceof c.error)) {
    throw new Error(`expected ${c.error.name}, got ${e instanceof Error ? e.constructor.name : typeof e}: ${e}`);
  }
  const message = (e as Error).message;
  for (const w of c.words) {
    const found = typeof w === "string" ? message.includes(w) : w.test(message);
    if (!found) throw new Error(`the message lacks ${typeof w === "string" ? JSON.stringify(w) : w}: ${message}`);
  }
  const after = await snapshot(c.state(fixture));
  const diff = firstDifference(before, after);
  if (diff) throw new Error(`the failed call changed the state: ${diff} (message: ${message})`);
}

/** Registers one `Deno.test` per case ({@link runCase}), named `${prefix}: <case>`. */
export function catalogueSuite(prefix: string, cases: readonly BadInputCase<unknown>[]): void {
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`catalogueSuite ${prefix}: the case "${c.name}" is listed twice`);
    names.add(c.name);
    Deno.test(`${prefix}: ${c.name}`, () => runCase(c));
  }
}
