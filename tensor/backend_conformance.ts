/**
 * The Backend conformance suite: runs every kernel of the {@link Backend}
 * contract on random (often strided, broadcast or offset) inputs and compares
 * the results with plain-loop references written here, independent of the
 * CPU backend's code. A new device runs it unchanged:
 *
 * ```ts
 * import { cpuBackend } from "./mod.ts";
 * import { runConformance } from "./backend_conformance.ts";
 * runConformance(cpuBackend, { name: "cpu" }); // a GPU backend passes its own instance
 * ```
 *
 * Convolution (forward and both backward kernels, with stride, padding,
 * dilation and groups, and the truncated output sizes transposed convolutions
 * ask for), pooling (max with indices, average with and without padded cells
 * in the divisor, ceil-mode windows, and their backward kernels) and
 * interpolation (nearest and bilinear, and their backward kernels) are
 * checked against direct loops too.
 *
 * @module
 */

import type {
  Backend,
  BinaryOp,
  Conv2dGeometry,
  Interpolate2dGeometry,
  Pool2dGeometry,
  ReduceOp,
  RnnCellMode,
  ScatterReduceOp,
  Storage,
  UnaryOp,
  View,
} from "./backend.ts";
import { allocArray, type DType } from "./dtype.ts";
import { BINARY_TABLE, UNARY_TABLE } from "./elementwise_table.ts";
import { attentionTests } from "./attention_conformance.ts";

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Prefix of every test name (default: the backend's device name). */
  name?: string;
  /** Floating dtypes to run the float kernels in (default `["float32"]`; add "float64" where supported). */
  floatDTypes?: DType[];
  /** Absolute tolerance for transcendental results (default 1e-5). */
  atol?: number;
  /** Relative tolerance for transcendental results (default 1e-5). */
  rtol?: number;
  /** Seed of the input generator (default 1234). */
  seed?: number;
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
export class Rng {
  #s: number;
  /** Starts a stream at `seed`. */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A uniform float in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** A uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
  /** A random permutation of 0..n-1. */
  perm(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
}

/**
 * How {@link makeView} lays out a view: `contiguous` (offset 0), `strided`
 * (dims permuted in memory, padded, at a random offset) or `broadcast`
 * (strided, and some dims read with stride 0).
 */
export type Layout = "contiguous" | "strided" | "broadcast";

/** A view on the device together with its logical values (row-major) on the host. */
export interface HostView {
  /** The device view. */
  view: View;
  /** The logical elements, row-major, as the dtype stores them. */
  values: number[];
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major multi-indices of `shape`, in order. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const n = product(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

function at(strides: readonly number[], offset: number, idx: readonly number[]): number {
  let p = offset;
  for (let d = 0; d < idx.length; d++) p += idx[d] * strides[d];
  return p;
}

/**
 * Uploads a random view of `shape` and `dtype` laid out per `layout`, with
 * elements drawn by `gen`. Returns the view and its logical values as read
 * back through the dtype (so float32 rounding is already applied).
 */
export function makeView(
  backend: Backend,
  rng: Rng,
  shape: readonly number[],
  dtype: DType,
  layout: Layout,
  gen: (rng: Rng) => number,
): HostView {
  const nd = shape.length;
  let strides: number[];
  let offset = 0;
  let size: number;
  if (layout === "contiguous") {
    strides = new Array<number>(nd);
    let s = 1;
    for (let d = nd - 1; d >= 0; d--) {
      strides[d] = s;
      s *= shape[d];
    }
    size = Math.max(s, 1);
  } else {
    const order = rng.perm(nd); // memory order: order[0] is the outermost
    const bcast = shape.map((s) => layout === "broadcast" && s > 1 && rng.next() < 0.5);
    strides = new Array<number>(nd).fill(0);
    let s = 1;
    for (let k = nd - 1; k >= 0; k--) {
      const d = order[k];
      if (bcast[d]) continue;
      strides[d] = s;
      s *= shape[d] + rng.int(0, 2); // padding between rows
    }
    offset = rng.int(0, 4);
    size = offset + s + rng.int(0, 3);
  }
  const data = allocArray(dtype, size);
  for (let i = 0; i < size; i++) data[i] = gen(rng);
  const storage = backend.upload(data);
  const values: number[] = [];
  for (const idx of indices(shape)) values.push(data[at(strides, offset, idx)]);
  return { view: { storage, shape: shape.slice(), strides, offset }, values };
}

/** Reads a storage back as plain numbers. */
export async function readAll(backend: Backend, storage: Storage): Promise<number[]> {
  return Array.from(await backend.read(storage));
}

/** Reads the logical elements of a (strided) view back, row-major. */
export async function readView(backend: Backend, v: View): Promise<number[]> {
  const data = await backend.read(v.storage);
  const out: number[] = [];
  for (const idx of indices(v.shape)) out.push(data[at(v.strides, v.offset, idx)]);
  return out;
}

/** Tolerances of {@link assertAllClose}. */
export interface Tolerance {
  /** Absolute tolerance (default 0: exact). */
  atol?: number;
  /** Relative tolerance (default 0: exact). */
  rtol?: number;
}

/**
 * Throws unless `actual` and `expected` have the same length and agree
 * elementwise within `atol + rtol·|expected|` (NaN matches NaN, infinities
 * must match exactly). The message names `what` and the first bad element.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  const atol = tol.atol ?? 0, rtol = tol.rtol ?? 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a === e) continue;
    } else if (Math.abs(a - e) <= atol + rtol * Math.abs(e)) continue;
    throw new Error(`${what}: element ${i} is ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

/** What storing `v` in `dtype` gives (the contract's conversion rules: truncation toward zero, non-zero is true). */
export function castTo(dtype: DType, v: number): number {
  switch (dtype) {
    case "float32":
      return Math.fround(v);
    case "float64":
      return v;
    case "int32":
      return Math.trunc(v) | 0;
    case "bool":
      return v !== 0 ? 1 : 0;
  }
}

// ---- independent references ---------------------------------------------------------------------

/** erf by its Maclaurin series (|x| ≤ 3 keeps the cancellation harmless in float64). */
function erfRef(x: number): number {
  if (Math.abs(x) > 3) return Math.sign(x) * (1 - 1e-5); // not reached: inputs stay within ±3
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const UNARY_REF: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  relu: (x) => Math.max(x, 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  gelu: (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)),
  silu: (x) => x / (1 + Math.exp(-x)),
  sin: Math.sin,
  cos: Math.cos,
  reciprocal: (x) => 1 / x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundEven,
  logicalNot: (x) => (x === 0 ? 1 : 0),
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0),
  expm1: Math.expm1,
  log1p: Math.log1p,
  erf: erfRef,
};

/** Input generators per unary op, inside each op's domain. */
const UNARY_GEN: Partial<Record<UnaryOp, (r: Rng) => number>> = {
  log: (r) => r.uniform(0.05, 5),
  sqrt: (r) => r.uniform(0, 5),
  rsqrt: (r) => r.uniform(0.1, 5),
  reciprocal: (r) => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.1, 4),
  log1p: (r) => r.uniform(-0.9, 4),
  round: (r) => r.int(-8, 8) / 2, // halves exercise round-half-to-even
  logicalNot: (r) => (r.next() < 0.4 ? 0 : r.uniform(-2, 2)),
  sign: (r) => (r.next() < 0.2 ? 0 : r.uniform(-3, 3)),
  relu: (r) => (r.next() < 0.2 ? 0 : r.uniform(-3, 3)),
};

const BINARY_REF: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  eq: (x, y) => (x === y ? 1 : 0),
  ne: (x, y) => (x !== y ? 1 : 0),
  lt: (x, y) => (x < y ? 1 : 0),
  le: (x, y) => (x <= y ? 1 : 0),
  gt: (x, y) => (x > y ? 1 : 0),
  ge: (x, y) => (x >= y ? 1 : 0),
  logicalAnd: (x, y) => (x !== 0 && y !== 0 ? 1 : 0),
  logicalOr: (x, y) => (x !== 0 || y !== 0 ? 1 : 0),
  // Python's %: the result takes the divisor's sign.
  remainder: (x, y) => {
    const r = x % y;
    return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
  },
  thresholdBackward: (x, y) => (x > 0 ? y : 0),
  siluBackward: (x, y) => {
    const s = 1 / (1 + Math.exp(-x));
    return y * (s + x * s * (1 - s));
  },
  geluBackward: (x, y) =>
    y * (0.5 * (1 + erfRef(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)),
};

/** Operand generators per binary op: [first, second]. */
function binaryGen(op: BinaryOp, isInt: boolean): [(r: Rng) => number, (r: Rng) => number] {
  const small = (r: Rng) => r.int(-3, 4); // few distinct values: comparisons see ties
  const any = (r: Rng) => (isInt ? r.int(-20, 20) : r.uniform(-3, 3));
  const nonzero = (r: Rng) => (r.next() < 0.5 ? -1 : 1) * (isInt ? r.int(1, 7) : r.uniform(0.5, 3));
  switch (op) {
    case "div":
      return [any, nonzero];
    case "remainder":
      return [any, nonzero];
    case "pow":
      return isInt ? [(r) => r.int(-3, 4), (r) => r.int(0, 4)] : [(r) => r.uniform(0.1, 3), (r) => r.uniform(-2, 2)];
    case "eq":
    case "ne":
    case "lt":
    case "le":
    case "gt":
    case "ge":
    case "logicalAnd":
    case "logicalOr":
    case "maximum":
    case "minimum":
    case "thresholdBackward":
      return [small, small];
    default:
      return [any, any];
  }
}

const TRANSCENDENTAL = new Set<string>([
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "sigmoid",
  "tanh",
  "gelu",
  "silu",
  "siluBackward",
  "geluBackward",
  "sin",
  "cos",
  "reciprocal",
  "expm1",
  "log1p",
  "erf",
  "div",
  "pow",
  "remainder",
]);

// ---- the suite ------------------------------------------------------------------------------------

/**
 * Registers `Deno.test` cases that run every kernel of `backend` against
 * the references above.
 *
 * @example
 * ```ts ignore
 * import { cpuBackend } from "./cpu/backend.ts";
 * import { runConformance } from "./backend_conformance.ts";
 * runConformance(cpuBackend, { floatDTypes: ["float32", "float64"] });
 * ```
 */
export function runConformance(backend: Backend, opts: ConformanceOptions = {}): void {
  const name = opts.name ?? backend.device;
  const floats = opts.floatDTypes ?? ["float32"];
  const seed = opts.seed ?? 1234;
  const fTol = (dtype: DType): Tolerance =>
    dtype === "float64" ? { atol: 1e-12, rtol: 1e-12 } : { atol: opts.atol ?? 1e-5, rtol: opts.rtol ?? 1e-5 };
  const layouts: Layout[] = ["contiguous", "strided", "broadcast"];
  const shapes: number[][] = [[], [7], [3, 5], [2, 3, 4], [2, 1, 3, 2]];
  const test = (title: string, fn: (rng: Rng) => Promise<void>) =>
    Deno.test(`conformance[${name}]: ${title}`, () => fn(new Rng(seed ^ hashString(title))));
  const out = (dtype: DType, n: number) => backend.alloc(dtype, n);

  test("alloc is zeroed, upload/read round-trip, fill", async (rng) => {
    for (const dtype of [...floats, "int32", "bool"] as DType[]) {
      const z = out(dtype, 17);
      assertAllClose(await readAll(backend, z), new Array(17).fill(0), {}, `alloc ${dtype}`);
      const host = allocArray(dtype, 9);
      for (let i = 0; i < 9; i++) host[i] = castTo(dtype, rng.uniform(-50, 50));
      const s = backend.upload(host);
      if (s.dtype !== dtype || s.length !== 9) throw new Error(`upload ${dtype}: got ${s.dtype} of ${s.length}`);
      assertAllClose(await readAll(backend, s), Array.from(host), {}, `upload/read ${dtype}`);
      const value = dtype === "bool" ? 1 : dtype === "int32" ? -7 : 2.5;
      backend.fill(z, value);
      assertAllClose(await readAll(backend, z), new Array(17).fill(value), {}, `fill ${dtype}`);
      backend.fill(z, 0);
      assertAllClose(await readAll(backend, z), new Array(17).fill(0), {}, `fill 0 ${dtype}`);
    }
  });

  test("copy: every dtype pair, strided source and strided destination", async (rng) => {
    const dtypes: DType[] = [...floats, "int32", "bool"];
    for (const from of dtypes) {
      for (const to of dtypes) {
        for (const shape of [[5], [3, 4], [2, 3, 4]]) {
          for (const layout of ["contiguous", "broadcast"] as Layout[]) {
            const gen = from === "bool" ? (r: Rng) => r.int(0, 2) : (r: Rng) => r.uniform(-9, 9);
            const src = makeView(backend, rng, shape, from, layout, gen);
            // The destination: a strided window (dims permuted, padded, offset) of a larger storage.
            const dst = makeView(backend, rng, shape, to, "strided", () => castTo(to, 42));
            const before = await readAll(backend, dst.view.storage);
            backend.copy(src.view, dst.view);
            const expected = before.slice();
            let e = 0;
            for (const idx of indices(shape)) {
              expected[at(dst.view.strides, dst.view.offset, idx)] = castTo(to, src.values[e++]);
            }
            assertAllClose(
              await readAll(backend, dst.view.storage),
              expected,
              {},
              `copy ${from}->${to} ${JSON.stringify(shape)} ${layout} (elements outside the view must be kept)`,
            );
          }
        }
      }
    }
  });

  for (const op of Object.keys(UNARY_TABLE) as UnaryOp[]) {
    test(`unary ${op}`, async (rng) => {
      const isBool = UNARY_TABLE[op].bool === true;
      const gen = UNARY_GEN[op] ?? ((r: Rng) => r.uniform(-3, 3));
      for (const dtype of floats) {
        for (const shape of shapes) {
          for (const layout of layouts) {
            const a = makeView(backend, rng, shape, dtype, layout, gen);
            const o = out(isBool ? "bool" : dtype, product(shape));
            backend.unary(op, a.view, o);
            const expected = a.values.map((x) => castTo(isBool ? "bool" : dtype, UNARY_REF[op](x)));
            let tol = TRANSCENDENTAL.has(op) ? fTol(dtype) : {};
            // erf is specified to float32 accuracy (elementwise_table.ts), also in float64.
            if ((op === "erf" || op === "gelu") && dtype === "float64") tol = { atol: 2e-7, rtol: 2e-7 };
            assertAllClose(await readAll(backend, o), expected, tol, `unary ${op} ${dtype} ${JSON.stringify(shape)}`);
          }
        }
      }
      if (op === "isfinite") {
        const v = makeView(backend, rng, [4], floats[0], "contiguous", () => 0);
        const host = allocArray(floats[0], 4);
        host.set([1, Infinity, -Infinity, NaN]);
        const s = backend.upload(host);
        const o = out("bool", 4);
        backend.unary("isfinite", { ...v.view, storage: s }, o);
        assertAllClose(await readAll(backend, o), [1, 0, 0, 0], {}, "isfinite on inf/nan");
      }
    });
  }
  test("unary on int32 (neg, abs, sign, relu)", async (rng) => {
    for (const op of ["neg", "abs", "sign", "relu"] as UnaryOp[]) {
      const a = makeView(backend, rng, [3, 4], "int32", "strided", (r) => r.int(-9, 9));
      const o = out("int32", 12);
      backend.unary(op, a.view, o);
      assertAllClose(await readAll(backend, o), a.values.map(UNARY_REF[op]), {}, `unary ${op} int32`);
    }
  });

  for (const op of Object.keys(BINARY_TABLE) as BinaryOp[]) {
    test(`binary ${op} (strided, broadcast and scalar operands)`, async (rng) => {
      const isBool = BINARY_TABLE[op].bool === true;
      // pow and SiLU's and GELU's gradients are float-only.
      const floatOnly = op === "pow" || op === "siluBackward" || op === "geluBackward";
      const dtypes: DType[] = floatOnly ? [...floats] : [...floats, "int32"];
      for (const dtype of dtypes) {
        const isInt = dtype === "int32";
        const [genA, genB] = binaryGen(op, isInt);
        const outDtype: DType = isBool ? "bool" : dtype;
        let tol = TRANSCENDENTAL.has(op) && !isInt ? fTol(dtype) : {};
        // GELU's gradient goes through erf, specified to float32 accuracy (elementwise_table.ts), also in float64.
        if (op === "geluBackward" && dtype === "float64") tol = { atol: 2e-7, rtol: 2e-7 };
        for (const shape of shapes) {
          for (const la of layouts) {
            for (const lb of [...layouts, "scalar"] as (Layout | "scalar")[]) {
              const a = makeView(backend, rng, shape, dtype, la, genA);
              const bScalar = castTo(dtype, genB(rng));
              const b = lb === "scalar" ? null : makeView(backend, rng, shape, dtype, lb, genB);
              const o = out(outDtype, product(shape));
              backend.binary(op, a.view, b ? b.view : bScalar, o, shape);
              const expected = a.values.map((x, i) => castTo(outDtype, BINARY_REF[op](x, b ? b.values[i] : bScalar)));
              assertAllClose(
                await readAll(backend, o),
                expected,
                tol,
                `binary ${op} ${dtype} ${JSON.stringify(shape)} ${la}/${lb}`,
              );
            }
          }
          // A scalar first operand.
          const aScalar = castTo(dtype, genA(rng));
          const b = makeView(backend, rng, shape, dtype, "strided", genB);
          const o = out(outDtype, product(shape));
          backend.binary(op, aScalar, b.view, o, shape);
          const expected = b.values.map((y) => castTo(outDtype, BINARY_REF[op](aScalar, y)));
          assertAllClose(await readAll(backend, o), expected, tol, `binary ${op} ${dtype} scalar/strided`);
        }
      }
    });
  }

  test("where (bool condition, strided/broadcast/scalar branches)", async (rng) => {
    for (const dtype of [...floats, "int32"] as DType[]) {
      for (const shape of shapes) {
        for (const layout of layouts) {
          const c = makeView(backend, rng, shape, "bool", layout, (r) => r.int(0, 2));
          const a = makeView(backend, rng, shape, dtype, layouts[rng.int(0, 3)], (r) => r.int(-9, 9) + 0.5);
          const b = makeView(backend, rng, shape, dtype, layouts[rng.int(0, 3)], (r) => r.int(-9, 9) - 0.25);
          const o = out(dtype, product(shape));
          backend.where(c.view, a.view, b.view, o, shape);
          let expected = c.values.map((ci, i) => (ci ? a.values[i] : b.values[i]));
          assertAllClose(await readAll(backend, o), expected, {}, `where ${dtype} ${JSON.stringify(shape)} ${layout}`);
          const o2 = out(dtype, product(shape));
          backend.where(c.view, 3, b.view, o2, shape);
          expected = c.values.map((ci, i) => (ci ? 3 : b.values[i]));
          assertAllClose(await readAll(backend, o2), expected, {}, `where ${dtype} scalar a`);
          const o3 = out(dtype, product(shape));
          backend.where(c.view, a.view, -1, o3, shape);
          expected = c.values.map((ci, i) => (ci ? a.values[i] : -1));
          assertAllClose(await readAll(backend, o3), expected, {}, `where ${dtype} scalar b`);
        }
      }
    }
  });

  const REDUCE_REF: Record<ReduceOp, (xs: number[]) => number> = {
    sum: (xs) => xs.reduce((s, x) => s + x, 0),
    prod: (xs) => xs.reduce((p, x) => p * x, 1),
    max: (xs) => xs.reduce((m, x) => (x > m ? x : m), -Infinity),
    min: (xs) => xs.reduce((m, x) => (x < m ? x : m), Infinity),
    argmax: (xs) => xs.indexOf(Math.max(...xs)), // the first maximum, as PyTorch returns it
    argmin: (xs) => xs.indexOf(Math.min(...xs)),
  };
  for (const op of Object.keys(REDUCE_REF) as ReduceOp[]) {
    test(`reduce ${op} (strided input, 1 and 2 reduced dims)`, async (rng) => {
      for (const dtype of [...floats, "int32"] as DType[]) {
        // Few distinct values: argmax/argmin must pick the first of tied extremes.
        // prod: mostly ones so 70-element products stay exact in int32 and float32.
        const gen = op === "prod" ? (r: Rng) => [1, 1, 1, -1, 2, 0.5, -0.5][r.int(0, 7)] : (r: Rng) => r.int(-5, 6);
        for (const shape of [[6], [3, 5], [2, 3, 4], [3, 1, 4, 2], [2, 70]]) {
          for (const reduceDims of [1, 2]) {
            if (reduceDims > shape.length) continue;
            for (const layout of layouts) {
              const a = makeView(backend, rng, shape, dtype, layout, gen);
              const outer = product(shape.slice(0, shape.length - reduceDims));
              const inner = product(shape.slice(shape.length - reduceDims));
              const isArg = op === "argmax" || op === "argmin";
              const outDtype: DType = isArg ? "int32" : dtype;
              const o = out(outDtype, outer);
              backend.reduce(op, a.view, reduceDims, o);
              const expected: number[] = [];
              for (let r = 0; r < outer; r++) {
                expected.push(castTo(outDtype, REDUCE_REF[op](a.values.slice(r * inner, (r + 1) * inner))));
              }
              assertAllClose(
                await readAll(backend, o),
                expected,
                dtype === "int32" || isArg ? {} : fTol(dtype),
                `reduce ${op} ${dtype} ${JSON.stringify(shape)} over ${reduceDims} ${layout}`,
              );
            }
          }
        }
      }
    });
  }

  test("matmul: strided, transposed, batched with stride-0 batch, block edges, K = 0", async (rng) => {
    const cases: [number[], number, number, number][] = [
      [[], 1, 1, 1],
      [[], 3, 4, 5],
      [[], 5, 7, 3],
      [[2], 4, 3, 6],
      [[2, 3], 2, 5, 3],
      [[], 70, 300, 9], // crosses the CPU's MC = 64 and KC = 256 blocks
      [[], 9, 6, 530], // crosses NC = 512
      [[3], 4, 0, 2],
    ];
    for (const dtype of floats) {
      for (const [batch, m, k, n] of cases) {
        for (const layout of layouts) {
          const a = makeView(backend, rng, [...batch, m, k], dtype, layout, (r) => r.uniform(-1, 1));
          const b = makeView(backend, rng, [...batch, k, n], dtype, layouts[rng.int(0, 3)], (r) => r.uniform(-1, 1));
          const nb = product(batch);
          const o = out(dtype, nb * m * n);
          backend.matmul(a.view, b.view, o);
          const expected: number[] = [];
          for (let t = 0; t < nb; t++) {
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let p = 0; p < k; p++) s += a.values[t * m * k + i * k + p] * b.values[t * k * n + p * n + j];
                expected.push(castTo(dtype, s));
              }
            }
          }
          const tol = dtype === "float64" ? { atol: 1e-12 } : { atol: 1e-5 * Math.max(1, Math.sqrt(k)), rtol: 1e-5 };
          assertAllClose(await readAll(backend, o), expected, tol, `matmul ${dtype} ${batch}|${m}x${k}x${n} ${layout}`);
        }
      }
      // A batch broadcast with stride 0 (one matrix reused for every batch entry), transposed operand.
      const a = makeView(backend, rng, [3, 4, 5], dtype, "contiguous", (r) => r.uniform(-1, 1));
      const b = makeView(backend, rng, [5, 2], dtype, "contiguous", (r) => r.uniform(-1, 1));
      const bT: View = { storage: b.view.storage, shape: [3, 5, 2], strides: [0, 2, 1], offset: 0 };
      const aT: View = { storage: a.view.storage, shape: [3, 4, 5], strides: [20, 1, 4], offset: 0 }; // each [5,4] block transposed
      const o = out(dtype, 3 * 4 * 2);
      backend.matmul(aT, bT, o);
      const expected: number[] = [];
      for (let t = 0; t < 3; t++) {
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 2; j++) {
            let s = 0;
            for (let p = 0; p < 5; p++) s += a.values[t * 20 + p * 4 + i] * b.values[p * 2 + j];
            expected.push(castTo(dtype, s));
          }
        }
      }
      assertAllClose(await readAll(backend, o), expected, { atol: 1e-5 }, `matmul ${dtype} stride-0 batch`);
    }
  });

  test("gather along every dim (strided input and index, index smaller than input)", async (rng) => {
    for (const dtype of [...floats, "int32"] as DType[]) {
      for (const shape of [[5], [3, 4], [2, 3, 4]]) {
        for (let dim = 0; dim < shape.length; dim++) {
          const a = makeView(backend, rng, shape, dtype, "strided", (r) => r.int(-50, 50));
          const ishape = shape.map((s, d) => (d === dim ? rng.int(1, 6) : rng.int(1, s + 1)));
          const idx = makeView(
            backend,
            rng,
            ishape,
            "int32",
            rng.next() < 0.5 ? "strided" : "broadcast",
            (r) => r.int(0, shape[dim]),
          );
          const o = out(dtype, product(ishape));
          backend.gather(a.view, dim, idx.view, o);
          const aStr = rowMajor(shape);
          const expected: number[] = [];
          let e = 0;
          for (const ix of indices(ishape)) {
            const src = ix.slice();
            src[dim] = idx.values[e++];
            expected.push(a.values[at(aStr, 0, src)]);
          }
          assertAllClose(
            await readAll(backend, o),
            expected,
            {},
            `gather ${dtype} ${JSON.stringify(shape)} dim ${dim}`,
          );
        }
      }
    }
  });

  test("scatterAdd along every dim (duplicate indices accumulate)", async (rng) => {
    for (const dtype of [...floats, "int32"] as DType[]) {
      for (const shape of [[5], [3, 4], [2, 3, 4]]) {
        for (let dim = 0; dim < shape.length; dim++) {
          const init = allocArray(dtype, product(shape));
          for (let i = 0; i < init.length; i++) init[i] = rng.int(-9, 9);
          const expected = Array.from(init); // before the upload: a backend may keep the host array
          const o = backend.upload(init);
          const ishape = shape.map((s, d) => (d === dim ? rng.int(1, 7) : rng.int(1, s + 1)));
          const idx = makeView(backend, rng, ishape, "int32", "strided", (r) => r.int(0, shape[dim]));
          const src = makeView(backend, rng, ishape, dtype, layouts[rng.int(0, 3)], (r) => r.int(-20, 20) / 4);
          backend.scatterAdd(o, shape, dim, idx.view, src.view);
          const oStr = rowMajor(shape);
          let e = 0;
          for (const ix of indices(ishape)) {
            const dst = ix.slice();
            dst[dim] = idx.values[e];
            expected[at(oStr, 0, dst)] += src.values[e++];
          }
          assertAllClose(
            await readAll(backend, o),
            expected.map((v) => castTo(dtype, v)),
            {},
            `scatterAdd ${dtype} ${JSON.stringify(shape)} dim ${dim}`,
          );
        }
      }
    }
  });

  test("scatterReduce: every op along every dim, view or scalar source, strided and broadcast index", async (rng) => {
    const ops: ScatterReduceOp[] = ["assign", "sum", "prod", "amax", "amin"];
    // Powers of two (and small multiples of 1/4 for sums) keep every order of accumulation exact in float32.
    const gens: Record<ScatterReduceOp, (r: Rng) => number> = {
      assign: (r) => r.int(-20, 20),
      sum: (r) => r.int(-20, 20) / 4,
      prod: (r) => [-2, -1, -0.5, 0.5, 1, 2][r.int(0, 6)],
      amax: (r) => r.int(-20, 20) / 4,
      amin: (r) => r.int(-20, 20) / 4,
    };
    for (const op of ops) {
      // bool: assign only (maskedScatter on a bool tensor); PyTorch's bool sums are logical ors, not offered here.
      for (const dtype of [...floats, "int32", ...(op === "assign" ? ["bool"] : [])] as DType[]) {
        const gen = dtype === "bool"
          ? (r: Rng) => r.int(0, 2)
          : dtype === "int32" && op === "prod"
          ? (r: Rng) => [-2, -1, 1, 2][r.int(0, 4)]
          : gens[op];
        for (const shape of [[], [5], [3, 4], [2, 3, 4]]) {
          for (let dim = 0; dim < Math.max(shape.length, 1); dim++) {
            const init = allocArray(dtype, product(shape));
            for (let i = 0; i < init.length; i++) init[i] = castTo(dtype, gen(rng));
            const before = Array.from(init); // before the upload: a backend may keep the host array
            const o = backend.upload(init);
            const ishape = shape.map((s, d) => (d === dim ? rng.int(1, 7) : rng.int(1, s + 1)));
            const size = shape.length ? shape[dim] : 1;
            const layout = rng.next() < 0.5 ? "strided" : "broadcast";
            const idx = makeView(backend, rng, ishape, "int32", layout, (r) => r.int(0, size));
            const scalar = rng.next() < 0.25;
            const src = scalar ? null : makeView(backend, rng, ishape, dtype, layouts[rng.int(0, 3)], gen);
            const value = castTo(dtype, gen(rng));
            backend.scatterReduce(op, o, shape, dim, idx.view, src ? src.view : value);
            // Reference: every destination's list of incoming values, in index order.
            const oStr = rowMajor(shape);
            const incoming = new Map<number, number[]>();
            let e = 0;
            for (const ix of indices(ishape)) {
              const dst = ix.slice();
              if (dst.length) dst[dim] = idx.values[e];
              const p = at(oStr, 0, dst);
              if (!incoming.has(p)) incoming.set(p, []);
              incoming.get(p)!.push(src ? src.values[e] : value);
              e++;
            }
            const got = await readAll(backend, o);
            const what = `scatterReduce ${op} ${dtype} ${JSON.stringify(shape)} dim ${dim}${scalar ? " scalar" : ""}`;
            for (let p = 0; p < before.length; p++) {
              const vs = incoming.get(p);
              if (!vs) {
                assertAllClose([got[p]], [before[p]], {}, `${what}: untouched element ${p}`);
              } else if (op === "assign") {
                if (!vs.includes(got[p])) throw new Error(`${what}: element ${p} is ${got[p]}, not one of ${vs}`);
              } else {
                const combine = SCATTER_REF[op];
                const expected = castTo(dtype, vs.reduce((acc, v) => castTo(dtype, combine(acc, v)), before[p]));
                assertAllClose([got[p]], [expected], {}, `${what}: element ${p}`);
              }
            }
          }
        }
      }
    }
  });

  test("scatterReduce: amax/amin let NaN win; an out-of-range index is an error naming it", async () => {
    for (const dtype of floats) {
      for (const op of ["amax", "amin"] as const) {
        const o = backend.upload(allocArray(dtype, 3));
        const src = backend.upload(Object.assign(allocArray(dtype, 4), [1, NaN, -1, 5]));
        const idx = backend.upload(new Int32Array([0, 0, 2, 2]));
        backend.scatterReduce(op, o, [3], 0, view1d(idx, 4), view1d(src, 4));
        const got = await readAll(backend, o);
        assertAllClose(got, [NaN, 0, op === "amax" ? 5 : -1], {}, `scatterReduce ${op} ${dtype} with NaN`);
      }
    }
    const init = new Float32Array([1, 2, 3]);
    const o = backend.upload(init.slice());
    const idx = backend.upload(new Int32Array([0, 9, 1]));
    const src = backend.upload(new Float32Array([5, 6, 7]));
    let error: unknown = null;
    try {
      backend.scatterReduce("sum", o, [3], 0, view1d(idx, 3), view1d(src, 3));
    } catch (e) {
      error = e;
    }
    const rangeError = (e: unknown) =>
      e instanceof RangeError && /index 9 is out of range for dimension 0 of size 3/.test(e.message);
    if (error !== null) {
      // A backend that throws does so before writing anything.
      if (!rangeError(error)) throw new Error(`scatterReduce with index 9: unexpected error ${error}`);
      assertAllClose(await readAll(backend, o), Array.from(init), {}, "scatterReduce: out untouched after the error");
    } else {
      // A device that cannot throw reports at the next read-back, once.
      let late: unknown = null;
      await readAll(backend, o).catch((e) => (late = e));
      if (!rangeError(late)) throw new Error(`scatterReduce with index 9: expected a RangeError at read, got ${late}`);
      await readAll(backend, o);
    }
  });

  test("softmax and log-softmax over rows (offset input, large values, -inf entries)", async (rng) => {
    for (const dtype of floats) {
      for (const [rows, cols] of [[1, 1], [3, 5], [4, 33], [2, 1000]]) {
        for (const log of [false, true]) {
          const gen = (r: Rng) => (r.next() < 0.05 ? -Infinity : r.uniform(-5, 5) + (r.next() < 0.1 ? 500 : 0));
          const a = makeView(backend, rng, [rows, cols], dtype, "contiguous", gen);
          // Shift the rows to a non-zero offset inside a larger storage.
          const host = allocArray(dtype, rows * cols + 3);
          host[0] = 123;
          host[1] = -7;
          host[2] = 99;
          for (let i = 0; i < rows * cols; i++) host[3 + i] = a.values[i];
          for (let r = 0; r < rows; r++) {
            if (a.values.slice(r * cols, (r + 1) * cols).every((v) => v === -Infinity)) {
              host[3 + r * cols] = 0; // keep every row with at least one finite entry
            }
          }
          const values = Array.from(host.subarray(3));
          const view: View = { storage: backend.upload(host), shape: [rows, cols], strides: [cols, 1], offset: 3 };
          const o = out(dtype, rows * cols);
          backend.softmax(view, o, log);
          const expected: number[] = [];
          for (let r = 0; r < rows; r++) {
            const row = values.slice(r * cols, (r + 1) * cols);
            const m = Math.max(...row);
            const z = row.reduce((s, x) => s + Math.exp(x - m), 0);
            for (const x of row) expected.push(castTo(dtype, log ? x - m - Math.log(z) : Math.exp(x - m) / z));
          }
          assertAllClose(
            await readAll(backend, o),
            expected,
            fTol(dtype),
            `softmax log=${log} ${dtype} ${rows}x${cols}`,
          );
        }
      }
    }
  });

  if (backend.axpy) {
    test("axpy (optional): out += alpha·x in place, x strided or broadcast", async (rng) => {
      for (const dtype of [...floats, "int32"] as DType[]) {
        for (const shape of [[7], [3, 5], [2, 3, 4]]) {
          for (const layout of layouts) {
            const isInt = dtype === "int32";
            const gen = isInt ? (r: Rng) => r.int(-20, 20) : (r: Rng) => r.uniform(-3, 3);
            const o = makeView(backend, rng, shape, dtype, "contiguous", gen);
            const x = makeView(backend, rng, shape, dtype, layout, gen);
            const alpha = isInt ? -3 : -0.37;
            backend.axpy!(o.view.storage, x.view, alpha);
            const expected = o.values.map((v, i) => castTo(dtype, v + alpha * x.values[i]));
            assertAllClose(
              await readAll(backend, o.view.storage),
              expected,
              isInt ? {} : fTol(dtype),
              `axpy ${dtype} ${JSON.stringify(shape)} ${layout}`,
            );
          }
        }
      }
    });
  }

  if (backend.assertValues) {
    test("assertValues (optional): the first failing element is raised at the next read, once", async (rng) => {
      const probe = backend.upload(allocArray("float32", 1));
      const failure = async (): Promise<Error | null> => {
        try {
          await backend.read(probe);
          return null;
        } catch (e) {
          return e as Error;
        }
      };
      const check = (v: View, c: Parameters<NonNullable<Backend["assertValues"]>>[1], key: string) =>
        backend.assertValues!(v, c, `conformance:${key}`, (value, i) => new RangeError(`${key}: ${value} at ${i}`));
      for (const dtype of [...floats, "int32"] as DType[]) {
        for (const layout of layouts) {
          const isInt = dtype === "int32";
          const inside = makeView(backend, rng, [3, 5], dtype, layout, (r) => isInt ? r.int(0, 10) : r.uniform(0, 1));
          check(inside.view, { min: 0, max: isInt ? 9 : 1 }, "inside");
          const e0 = await failure();
          if (e0) throw new Error(`assertValues ${dtype} ${layout}: values inside the range failed: ${e0.message}`);
          // One element out of range (or not finite), at a known logical index.
          const bad = makeView(backend, rng, [4, 3], dtype, layout, (r) => isInt ? r.int(0, 5) : r.uniform(0, 1));
          const at = rng.int(0, 12);
          const host = await readView(backend, bad.view);
          host[at] = isInt ? 7 : Number.NaN;
          const fresh = backend.upload(Object.assign(allocArray(dtype, 12), host));
          check({ storage: fresh, shape: [4, 3], strides: [3, 1], offset: 0 }, { min: 0, max: 5 }, `bad-${dtype}`);
          const e1 = await failure();
          const want = `bad-${dtype}: ${isInt ? 7 : "NaN"} at ${at}`;
          if (!e1 || !(e1 instanceof RangeError) || e1.message !== want) {
            throw new Error(`assertValues ${dtype}: expected RangeError "${want}", got ${e1 ? e1.message : "none"}`);
          }
          const e2 = await failure();
          if (e2) throw new Error(`assertValues ${dtype}: the failure was raised twice: ${e2.message}`);
          // The excepted value passes wherever it is.
          const ignored = backend.upload(Object.assign(allocArray(dtype, 3), [1, -100, 2]));
          check({ storage: ignored, shape: [3], strides: [1], offset: 0 }, { min: 0, max: 5, except: -100 }, "ex");
          const e3 = await failure();
          if (e3) throw new Error(`assertValues ${dtype}: the excepted value failed: ${e3.message}`);
          for (const st of [inside.view.storage, bad.view.storage, fresh, ignored]) backend.free(st);
        }
      }
      backend.free(probe);
    });
  }

  convPoolTests(backend, test, floats);
  interpolateTests(backend, test, floats);
  fusedTests(backend, test, floats, fTol);
  rnnCellTests(backend, test, floats, fTol);
  attentionTests(backend, test, floats, fTol);
  batchNormTests(backend, test, floats);

  test("random: same (seed, offset) gives the documented counter-based stream", async () => {
    for (const dtype of floats) {
      for (const [seed, offset, n] of [[0, 0, 10], [42, 7, 33], [123456789, 2 ** 32 + 5, 16], [7, 3, 1]]) {
        const u = out(dtype, n);
        backend.random("uniform", u, seed, offset);
        const expectedU = Array.from({ length: n }, (_, i) => refUniform(seed, offset + i));
        assertAllClose(await readAll(backend, u), expectedU, {}, `uniform seed ${seed} offset ${offset} ${dtype}`);
        const g = out(dtype, n);
        backend.random("normal", g, seed, offset);
        const expectedN = Array.from({ length: n }, (_, i) => castTo(dtype, refNormal(seed, offset, i)));
        assertAllClose(await readAll(backend, g), expectedN, fTol(dtype), `normal seed ${seed} offset ${offset}`);
      }
      // Moments of a large draw (a loose sanity check of the distributions).
      const n = 20000;
      const u = await readAll(
        backend,
        (() => {
          const s = out(dtype, n);
          backend.random("uniform", s, 9, 0);
          return s;
        })(),
      );
      const g = await readAll(
        backend,
        (() => {
          const s = out(dtype, n);
          backend.random("normal", s, 9, 0);
          return s;
        })(),
      );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      if (Math.abs(mean(u) - 0.5) > 0.01 || u.some((x) => x < 0 || x >= 1)) throw new Error("uniform: bad moments");
      const gm = mean(g), gv = mean(g.map((x) => (x - gm) ** 2));
      if (Math.abs(gm) > 0.03 || Math.abs(gv - 1) > 0.05) throw new Error(`normal: mean ${gm}, variance ${gv}`);
    }
  });
}

/** How each {@link ScatterReduceOp} but `assign` folds one incoming value into the accumulator. */
const SCATTER_REF: Record<Exclude<ScatterReduceOp, "assign">, (acc: number, v: number) => number> = {
  sum: (acc, v) => acc + v,
  prod: (acc, v) => acc * v,
  amax: (acc, v) => (Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.max(acc, v)),
  amin: (acc, v) => (Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.min(acc, v)),
};

/** A contiguous 1-D view of the first `n` elements of `storage`. */
function view1d(storage: Storage, n: number): View {
  return { storage, shape: [n], strides: [1], offset: 0 };
}

function rowMajor(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

// The generator as `tensor/random.ts` documents it, written again from the description.
function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

function refUniform(seed: number, counter: number): number {
  const lo = counter % 4294967296, hi = Math.floor(counter / 4294967296);
  const bits = pcg((pcg((pcg(seed) ^ hi) >>> 0) + lo) >>> 0);
  return (bits >>> 8) / 16777216;
}

function refNormal(seed: number, offset: number, i: number): number {
  const base = offset + i - (i % 2);
  const u1 = 1 - refUniform(seed, base), u2 = refUniform(seed, base + 1);
  const r = Math.sqrt(-2 * Math.log(u1));
  return i % 2 === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
}

// ---- convolution and pooling ----------------------------------------------------------------------

type Pair = [number, number];

/**
 * A convolution case: n, cIn, h, w, cOut, kernel, stride, padding, dilation, groups, and optionally an output size
 * smaller than the windows that fit (what a transposed convolution whose outputPadding exceeds its stride asks for:
 * the kernels must then leave the last windows out).
 */
type ConvCase = [number, number, number, number, number, Pair, Pair, Pair, Pair, number, Pair?];

function convGeometry(
  [n, cIn, h, w, cOut, [kh, kw], [sh, sw], [ph, pw], [dh, dw], groups, outSize]: ConvCase,
): Conv2dGeometry {
  const outH = outSize?.[0] ?? Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const outW = outSize?.[1] ?? Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return {
    n,
    cIn,
    h,
    w,
    cOut,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    padH: ph,
    padW: pw,
    dilationH: dh,
    dilationW: dw,
    groups,
    outH,
    outW,
  };
}

/**
 * The three convolution sums as direct loops over every (image, output
 * channel, output cell, input channel of the group, tap): the forward gathers,
 * both gradients scatter.
 */
function convReference(
  g: Conv2dGeometry,
  x: number[],
  wt: number[],
  go: number[],
): { out: number[]; gradInput: number[]; gradWeight: number[] } {
  const cing = g.cIn / g.groups, coutg = g.cOut / g.groups;
  const out = new Array<number>(g.n * g.cOut * g.outH * g.outW).fill(0);
  const gradInput = new Array<number>(g.n * g.cIn * g.h * g.w).fill(0);
  const gradWeight = new Array<number>(g.cOut * cing * g.kh * g.kw).fill(0);
  for (let b = 0; b < g.n; b++) {
    for (let co = 0; co < g.cOut; co++) {
      const grp = Math.floor(co / coutg);
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          const o = ((b * g.cOut + co) * g.outH + oh) * g.outW + ow;
          let s = 0;
          for (let ci = 0; ci < cing; ci++) {
            for (let ki = 0; ki < g.kh; ki++) {
              const ih = oh * g.strideH - g.padH + ki * g.dilationH;
              if (ih < 0 || ih >= g.h) continue;
              for (let kj = 0; kj < g.kw; kj++) {
                const iw = ow * g.strideW - g.padW + kj * g.dilationW;
                if (iw < 0 || iw >= g.w) continue;
                const xi = ((b * g.cIn + grp * cing + ci) * g.h + ih) * g.w + iw;
                const wi = ((co * cing + ci) * g.kh + ki) * g.kw + kj;
                s += x[xi] * wt[wi];
                gradInput[xi] += go[o] * wt[wi];
                gradWeight[wi] += go[o] * x[xi];
              }
            }
          }
          out[o] = s;
        }
      }
    }
  }
  return { out, gradInput, gradWeight };
}

/** A pooling case: n, c, h, w, kernel, stride, padding, dilation, ceil mode. */
type PoolCase = [number, number, number, number, Pair, Pair, Pair, Pair, boolean];

function poolOutSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch's rule: in ceil mode the last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function poolGeometry(
  [n, c, h, w, [kh, kw], [sh, sw], [ph, pw], [dh, dw], ceil]: PoolCase,
  countIncludePad: boolean,
): Pool2dGeometry {
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    padH: ph,
    padW: pw,
    dilationH: dh,
    dilationW: dw,
    outH: poolOutSize(h, kh, sh, ph, dh, ceil),
    outW: poolOutSize(w, kw, sw, pw, dw, ceil),
    countIncludePad,
  };
}

/** Max pooling by scanning each window's taps row by row: the first of equal maxima wins; indices are flat `h*w`. */
function maxPoolReference(g: Pool2dGeometry, x: number[]): { out: number[]; idx: number[] } {
  const out: number[] = [], idx: number[] = [];
  for (let pl = 0; pl < g.n * g.c; pl++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        let best = -Infinity, at = -1;
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++) {
            const ih = oh * g.strideH - g.padH + ki * g.dilationH;
            const iw = ow * g.strideW - g.padW + kj * g.dilationW;
            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
            const v = x[pl * g.h * g.w + ih * g.w + iw];
            if (at < 0 || v > best) [best, at] = [v, ih * g.w + iw];
          }
        }
        out.push(best);
        idx.push(at);
      }
    }
  }
  return { out, idx };
}

/** PyTorch's average-pool window: clipped to the padded input for the divisor with padding, to the input for the sum. */
function avgWindowRef(
  g: Pool2dGeometry,
  oh: number,
  ow: number,
): { h0: number; h1: number; w0: number; w1: number; div: number } {
  let h0 = oh * g.strideH - g.padH, w0 = ow * g.strideW - g.padW;
  let h1 = Math.min(h0 + g.kh, g.h + g.padH), w1 = Math.min(w0 + g.kw, g.w + g.padW);
  const padded = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, g.h);
  w1 = Math.min(w1, g.w);
  return { h0, h1, w0, w1, div: g.countIncludePad ? padded : (h1 - h0) * (w1 - w0) };
}

function avgPoolReference(g: Pool2dGeometry, x: number[], go: number[]): { out: number[]; grad: number[] } {
  const out: number[] = [];
  const grad = new Array<number>(g.n * g.c * g.h * g.w).fill(0);
  for (let pl = 0; pl < g.n * g.c; pl++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const r = avgWindowRef(g, oh, ow);
        const o = (pl * g.outH + oh) * g.outW + ow;
        let s = 0;
        for (let ih = r.h0; ih < r.h1; ih++) {
          for (let iw = r.w0; iw < r.w1; iw++) {
            s += x[pl * g.h * g.w + ih * g.w + iw];
            if (r.div > 0) grad[pl * g.h * g.w + ih * g.w + iw] += go[o] / r.div;
          }
        }
        out.push(r.div > 0 ? s / r.div : 0);
      }
    }
  }
  return { out, grad };
}

function convPoolTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
): void {
  const convCases: ConvCase[] = [
    [2, 3, 5, 6, 4, [3, 3], [1, 1], [1, 1], [1, 1], 1],
    [1, 4, 7, 5, 6, [3, 2], [2, 1], [1, 0], [1, 2], 2], // groups, uneven stride/padding/dilation
    [2, 6, 9, 8, 6, [3, 3], [2, 2], [2, 2], [2, 2], 3],
    [1, 4, 6, 6, 4, [3, 3], [1, 1], [1, 1], [1, 1], 4], // depthwise
    [2, 8, 4, 4, 8, [1, 1], [1, 1], [0, 0], [1, 1], 1], // 1×1
    [1, 3, 7, 7, 5, [5, 5], [3, 3], [0, 0], [1, 1], 1], // kernel larger than stride, cells left over
    [2, 5, 9, 9, 70, [3, 3], [1, 1], [1, 1], [1, 1], 1], // M crosses a 64-row tile
    [2, 16, 8, 8, 16, [3, 3], [1, 1], [1, 1], [1, 1], 1], // multiples of 4 (vectorized paths), deep K
    [1, 8, 12, 12, 8, [3, 3], [2, 2], [1, 1], [1, 1], 1],
    [3, 1, 6, 6, 8, [3, 3], [1, 1], [1, 1], [1, 1], 1], // one input channel (a network's first layer)
    // Transposed convolutions whose outputPadding is at least the stride (allowed by a larger dilation): 4×3 → 9×8
    // (dilation 2, outputPadding 1), where 5×4 windows fit; 3×3 → 9×10 (groups 2; along W stride 2, dilation 3,
    // outputPadding 2), where 3×4 fit.
    [2, 3, 9, 8, 2, [3, 3], [1, 1], [0, 0], [2, 2], 1, [4, 3]],
    [1, 4, 9, 10, 6, [3, 2], [3, 2], [1, 0], [2, 3], 2, [3, 3]],
  ];
  test("conv2d forward and both backward kernels (stride, padding, dilation, groups)", async (rng) => {
    for (const dtype of floats) {
      for (const c of convCases) {
        const g = convGeometry(c);
        const cing = g.cIn / g.groups;
        const layout = (): Layout => (rng.next() < 0.3 ? "strided" : "contiguous");
        const x = makeView(backend, rng, [g.n, g.cIn, g.h, g.w], dtype, layout(), (r) => r.uniform(-1, 1));
        const wt = makeView(backend, rng, [g.cOut, cing, g.kh, g.kw], dtype, layout(), (r) => r.uniform(-1, 1));
        const go = makeView(backend, rng, [g.n, g.cOut, g.outH, g.outW], dtype, layout(), (r) => r.uniform(-1, 1));
        const ref = convReference(g, x.values, wt.values, go.values);
        const out = backend.alloc(dtype, ref.out.length);
        const gi = backend.alloc(dtype, ref.gradInput.length);
        const gw = backend.alloc(dtype, ref.gradWeight.length);
        backend.conv2d(x.view, wt.view, out, g);
        backend.conv2dBackwardInput(go.view, wt.view, gi, g);
        backend.conv2dBackwardWeight(go.view, x.view, gw, g);
        const [o, i, w] = await Promise.all([out, gi, gw].map((s) => readAll(backend, s)));
        const what = `${dtype} ${JSON.stringify(c)}`;
        const tol = (k: number): Tolerance =>
          dtype === "float64" ? { atol: 1e-12, rtol: 1e-12 } : { atol: 2e-6 * Math.sqrt(k) + 1e-6, rtol: 1e-5 };
        const cing2 = cing * g.kh * g.kw, coutg = (g.cOut / g.groups) * g.kh * g.kw;
        assertAllClose(o, ref.out.map((v) => castTo(dtype, v)), tol(cing2), `conv2d ${what}`);
        assertAllClose(i, ref.gradInput.map((v) => castTo(dtype, v)), tol(coutg), `conv2dBackwardInput ${what}`);
        assertAllClose(
          w,
          ref.gradWeight.map((v) => castTo(dtype, v)),
          tol(g.n * g.outH * g.outW),
          `conv2dBackwardWeight ${what}`,
        );
      }
    }
  });

  const poolCases: PoolCase[] = [
    [2, 3, 6, 6, [2, 2], [2, 2], [0, 0], [1, 1], false],
    [1, 2, 7, 5, [3, 3], [2, 2], [1, 1], [1, 1], false], // overlapping windows, padding
    [1, 2, 7, 7, [3, 3], [2, 2], [1, 1], [1, 1], true], // ceil mode
    [2, 3, 5, 6, [3, 2], [2, 1], [1, 0], [1, 1], true],
    [1, 2, 8, 8, [2, 2], [3, 3], [0, 0], [1, 1], true], // ceil mode, windows run past the edge
  ];
  test("maxPool2d with indices and its backward (ties, overlap, padding, dilation, ceil mode)", async (rng) => {
    for (const dtype of floats) {
      for (const c of [...poolCases, [1, 2, 9, 8, [3, 3], [1, 2], [1, 1], [2, 2], false] as PoolCase]) {
        const g = poolGeometry(c, false);
        // Few distinct values: ties must go to the first maximum in the window.
        const x = makeView(backend, rng, [g.n, g.c, g.h, g.w], dtype, "contiguous", (r) => r.int(-4, 5));
        const ref = maxPoolReference(g, x.values);
        const out = backend.alloc(dtype, ref.out.length), idx = backend.alloc("int32", ref.out.length);
        backend.maxPool2d(x.view, out, idx, g);
        const go = makeView(backend, rng, [g.n, g.c, g.outH, g.outW], dtype, "contiguous", (r) => r.uniform(-1, 1));
        const refIdx = backend.upload(Int32Array.from(ref.idx));
        const gi = backend.alloc(dtype, g.n * g.c * g.h * g.w);
        const view4 = (s: Storage): View => ({
          storage: s,
          shape: [g.n, g.c, g.outH, g.outW],
          strides: rowMajor([g.n, g.c, g.outH, g.outW]),
          offset: 0,
        });
        backend.maxPool2dBackward(go.view, view4(refIdx), gi, g);
        const expectedGrad = new Array<number>(g.n * g.c * g.h * g.w).fill(0);
        const P = g.outH * g.outW;
        for (let o = 0; o < ref.idx.length; o++) {
          expectedGrad[Math.floor(o / P) * g.h * g.w + ref.idx[o]] += go.values[o];
        }
        const [o, i, gr] = await Promise.all([out, idx, gi].map((s) => readAll(backend, s)));
        const what = `${dtype} ${JSON.stringify(c)}`;
        assertAllClose(o, ref.out, {}, `maxPool2d values ${what}`);
        assertAllClose(i, ref.idx, {}, `maxPool2d indices ${what}`);
        assertAllClose(gr, expectedGrad.map((v) => castTo(dtype, v)), { atol: 1e-6 }, `maxPool2dBackward ${what}`);
      }
    }
  });

  test("avgPool2d and its backward (countIncludePad both ways, padding, ceil mode)", async (rng) => {
    for (const dtype of floats) {
      for (const c of poolCases) {
        for (const countIncludePad of [true, false]) {
          const g = poolGeometry(c, countIncludePad);
          const x = makeView(backend, rng, [g.n, g.c, g.h, g.w], dtype, "contiguous", (r) => r.uniform(-2, 2));
          const go = makeView(backend, rng, [g.n, g.c, g.outH, g.outW], dtype, "contiguous", (r) => r.uniform(-1, 1));
          const ref = avgPoolReference(g, x.values, go.values);
          const out = backend.alloc(dtype, ref.out.length), gi = backend.alloc(dtype, ref.grad.length);
          backend.avgPool2d(x.view, out, g);
          backend.avgPool2dBackward(go.view, gi, g);
          const [o, i] = await Promise.all([out, gi].map((s) => readAll(backend, s)));
          const what = `${dtype} ${JSON.stringify(c)} countIncludePad=${countIncludePad}`;
          const tol = dtype === "float64" ? { atol: 1e-12 } : { atol: 1e-6, rtol: 1e-5 };
          assertAllClose(o, ref.out.map((v) => castTo(dtype, v)), tol, `avgPool2d ${what}`);
          assertAllClose(i, ref.grad.map((v) => castTo(dtype, v)), tol, `avgPool2dBackward ${what}`);
        }
      }
    }
  });
}

// ---- interpolation ------------------------------------------------------------------------------------

/**
 * The cells and weights one output index reads along an axis, by PyTorch's rules written out here: nearest
 * `min(⌊o·scale⌋, in − 1)` with the product in float32 (`o` when the sizes agree, `o/2` when the output is
 * twice the input); bilinear the two cells around `o·(in − 1)/(out − 1)` (alignCorners) or
 * `max((o + ½)·scale − ½, 0)`, where scale is `1/scaleFactor` when a factor was given, else `in/out`.
 */
function interpolateAxisRef(
  o: number,
  inSize: number,
  outSize: number,
  factor: number | null,
  g: Interpolate2dGeometry,
): [number, number][] {
  const scale = factor !== null ? 1 / factor : inSize / outSize;
  if (g.mode === "nearest") {
    if (outSize === inSize) return [[o, 1]];
    if (outSize === 2 * inSize) return [[Math.floor(o / 2), 1]];
    return [[Math.min(Math.floor(Math.fround(o * Math.fround(scale))), inSize - 1), 1]];
  }
  const src = g.alignCorners
    ? (outSize > 1 ? o * (inSize - 1) / (outSize - 1) : 0)
    : Math.max((o + 0.5) * scale - 0.5, 0);
  const lo = Math.min(Math.floor(src), inSize - 1), f = Math.min(src - lo, 1);
  return [[lo, 1 - f], [Math.min(lo + 1, inSize - 1), f]];
}

function interpolateTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
): void {
  // n, c, h, w, outH, outW, mode, alignCorners, scale factors
  const cases: [number, number, number, number, number, number, "nearest" | "bilinear", boolean, number | null][] = [
    [2, 3, 5, 4, 10, 8, "nearest", false, 2],
    [1, 2, 5, 7, 8, 4, "nearest", false, null], // up along H, down along W
    [1, 2, 5, 5, 8, 3, "nearest", false, 1.7], // a factor whose 1/factor differs from in/out
    [2, 2, 4, 6, 8, 12, "bilinear", false, 2],
    [1, 3, 6, 5, 4, 11, "bilinear", false, null],
    [1, 2, 5, 4, 9, 10, "bilinear", true, null],
    [1, 1, 4, 3, 1, 7, "bilinear", true, null], // a single output row
    [2, 4, 7, 7, 14, 14, "bilinear", false, null], // a U-Net's 7 → 14
  ];
  test("interpolate2d and its backward (nearest, bilinear, alignCorners, scale factors, up and down)", async (rng) => {
    for (const dtype of floats) {
      for (const [n, c, h, w, outH, outW, mode, alignCorners, factor] of cases) {
        const g: Interpolate2dGeometry = {
          n,
          c,
          h,
          w,
          outH,
          outW,
          mode,
          alignCorners,
          scaleFactorH: factor,
          scaleFactorW: factor,
        };
        const layout = (): Layout => (rng.next() < 0.5 ? "strided" : "contiguous");
        const x = makeView(backend, rng, [n, c, h, w], dtype, layout(), (r) => r.uniform(-2, 2));
        const go = makeView(backend, rng, [n, c, outH, outW], dtype, layout(), (r) => r.uniform(-1, 1));
        const out = new Array<number>(n * c * outH * outW).fill(0), grad = new Array<number>(n * c * h * w).fill(0);
        for (let p = 0; p < n * c; p++) {
          for (let oh = 0; oh < outH; oh++) {
            for (let ow = 0; ow < outW; ow++) {
              const o = (p * outH + oh) * outW + ow;
              for (const [ih, a] of interpolateAxisRef(oh, h, outH, factor, g)) {
                for (const [iw, b] of interpolateAxisRef(ow, w, outW, factor, g)) {
                  out[o] += a * b * x.values[(p * h + ih) * w + iw];
                  grad[(p * h + ih) * w + iw] += a * b * go.values[o];
                }
              }
            }
          }
        }
        const o = backend.alloc(dtype, out.length), gi = backend.alloc(dtype, grad.length);
        backend.interpolate2d(x.view, o, g);
        backend.interpolate2dBackward(go.view, gi, g);
        const [ov, iv] = await Promise.all([o, gi].map((s) => readAll(backend, s)));
        const what = `${dtype} ${JSON.stringify([n, c, h, w, outH, outW, mode, alignCorners, factor])}`;
        const tol = dtype === "float64" ? { atol: 1e-12 } : { atol: 1e-5, rtol: 1e-5 };
        assertAllClose(ov, out.map((v) => castTo(dtype, v)), tol, `interpolate2d ${what}`);
        assertAllClose(iv, grad.map((v) => castTo(dtype, v)), tol, `interpolate2dBackward ${what}`);
      }
    }
  });
}

// ---- optional fused kernels: cross-entropy and optimizer updates -------------------------------

/** Conformance of the optional fused kernels; each case is skipped (silently) when the backend lacks its kernel. */
function fusedTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
  fTol: (dtype: DType) => Tolerance,
): void {
  const out = (dtype: DType, n: number) => backend.alloc(dtype, n);
  const ceFwd = backend.crossEntropyForward?.bind(backend), ceBwd = backend.crossEntropyBackward?.bind(backend);
  if (ceFwd && ceBwd) {
    test("crossEntropyForward/Backward (optional): weights, ignored rows, label smoothing, strided targets", async (rng) => {
      for (const dtype of floats) {
        for (const [rows, c] of [[1, 1], [3, 5], [4, 33], [2, 100]]) {
          for (const weighted of [false, true]) {
            for (const eps of [0, 0.2]) {
              const ignore = -1;
              // Logits at offset 3; targets at stride 2; weights at stride 2, offset 1.
              const xs = Array.from({ length: rows * c }, () => castTo(dtype, rng.uniform(-4, 4) * 3));
              const xHost = allocArray(dtype, rows * c + 3);
              xs.forEach((v, i) => (xHost[3 + i] = v));
              const logits: View = { storage: backend.upload(xHost), shape: [rows, c], strides: [c, 1], offset: 3 };
              const ts = Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? ignore : rng.int(0, c)));
              const tHost = allocArray("int32", 2 * rows);
              ts.forEach((v, i) => (tHost[2 * i] = v));
              const target: View = { storage: backend.upload(tHost), shape: [rows], strides: [2], offset: 0 };
              const ws = Array.from({ length: c }, () => (weighted ? castTo(dtype, rng.uniform(0.2, 2)) : 1));
              const wHost = allocArray(dtype, 2 * c + 1);
              ws.forEach((v, i) => (wHost[1 + 2 * i] = v));
              const weight: View | null = weighted
                ? { storage: backend.upload(wHost), shape: [c], strides: [2], offset: 1 }
                : null;
              const args = { logits, target, weight, ignoreIndex: ignore, labelSmoothing: eps };
              const loss = out(dtype, rows), rowW = out(dtype, rows), saved = out(dtype, 2 * rows);
              ceFwd(args, loss, rowW, saved);
              // gradLoss: one value per row, read at stride 1 (offset 1).
              const gs = Array.from({ length: rows }, () => castTo(dtype, rng.uniform(-2, 2)));
              const gHost = allocArray(dtype, rows + 1);
              gs.forEach((v, i) => (gHost[1 + i] = v));
              const gradLoss: View = { storage: backend.upload(gHost), shape: [rows], strides: [1], offset: 1 };
              const grad = out(dtype, rows * c);
              ceBwd(args, { storage: saved, shape: [rows, 2], strides: [2, 1], offset: 0 }, gradLoss, grad);
              const eLoss: number[] = [], eW: number[] = [], eGrad: number[] = [];
              const wSum = ws.reduce((a, b) => a + b, 0);
              for (let r = 0; r < rows; r++) {
                const row = xs.slice(r * c, (r + 1) * c), t = ts[r];
                if (t === ignore) {
                  eLoss.push(0);
                  eW.push(0);
                  for (let j = 0; j < c; j++) eGrad.push(0);
                  continue;
                }
                const m = Math.max(...row);
                const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
                let smooth = 0;
                for (let j = 0; j < c; j++) smooth += ws[j] * (lse - row[j]);
                eLoss.push(castTo(dtype, (1 - eps) * ws[t] * (lse - row[t]) + (eps / c) * smooth));
                eW.push(ws[t]);
                for (let j = 0; j < c; j++) {
                  const p = Math.exp(row[j] - lse);
                  // d/dx_j of (1-ε)·w_t·(lse - x_t) + ε/C·Σ w_c (lse - x_c)
                  const d = (1 - eps) * ws[t] * (p - (j === t ? 1 : 0)) + (eps / c) * (wSum * p - ws[j]);
                  eGrad.push(castTo(dtype, gs[r] * d));
                }
              }
              const what = `${dtype} ${rows}x${c} weighted=${weighted} eps=${eps}`;
              assertAllClose(await readAll(backend, loss), eLoss, fTol(dtype), `crossEntropyForward loss ${what}`);
              assertAllClose(await readAll(backend, rowW), eW, fTol(dtype), `crossEntropyForward rowWeight ${what}`);
              assertAllClose(await readAll(backend, grad), eGrad, fTol(dtype), `crossEntropyBackward ${what}`);
            }
          }
        }
      }
    });
  }

  /** `n` values at `offset` of a fresh storage, with the view's host values. */
  const vec = (rng: Rng, dtype: DType, n: number, offset: number, lo: number, hi: number) => {
    const values = Array.from({ length: n }, () => castTo(dtype, rng.uniform(lo, hi)));
    const host = allocArray(dtype, n + offset);
    values.forEach((v, i) => (host[offset + i] = v));
    return { storage: backend.upload(host), values, view: { shape: [n], strides: [1], offset } };
  };
  const adam = backend.adamUpdate?.bind(backend);
  if (adam) {
    test("adamUpdate (optional): Adam, AdamW, AMSGrad, maximize, against the per-element formula", async (rng) => {
      const variants = [
        { decoupled: false, amsgrad: false, maximize: false, weightDecay: 0 },
        { decoupled: false, amsgrad: true, maximize: false, weightDecay: 0.1 },
        { decoupled: true, amsgrad: true, maximize: true, weightDecay: 0.05 },
        { decoupled: true, amsgrad: false, maximize: false, weightDecay: 0.01 },
      ];
      for (const dtype of floats) {
        for (const v of variants) {
          for (const n of [1, 37, 1000]) {
            const step = rng.int(1, 6), lr = 0.01, beta1 = 0.9, beta2 = 0.99, eps = 1e-3;
            const p = vec(rng, dtype, n, 0, -2, 2), g = vec(rng, dtype, n, 2, -1, 1);
            const m = vec(rng, dtype, n, 0, -0.5, 0.5), s = vec(rng, dtype, n, 0, 0, 0.3);
            const mx = vec(rng, dtype, n, 0, 0, 0.3);
            const o = {
              ...v,
              lr,
              beta1,
              beta2,
              eps,
              stepSize: lr / (1 - beta1 ** step),
              biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
            };
            adam(p.storage, { storage: g.storage, ...g.view }, m.storage, s.storage, v.amsgrad ? mx.storage : null, o);
            const eP: number[] = [], eM: number[] = [], eS: number[] = [], eX: number[] = [];
            for (let i = 0; i < n; i++) {
              let gi = v.maximize ? -g.values[i] : g.values[i];
              let th = p.values[i];
              if (v.decoupled) th *= 1 - lr * v.weightDecay;
              else gi += v.weightDecay * th;
              const mi = beta1 * m.values[i] + (1 - beta1) * gi;
              const si = beta2 * s.values[i] + (1 - beta2) * gi * gi;
              const xi = v.amsgrad ? Math.max(mx.values[i], si) : mx.values[i];
              const second = v.amsgrad ? xi : si;
              eP.push(castTo(dtype, th - o.stepSize * (mi / (Math.sqrt(second) / o.biasCorrection2Sqrt + eps))));
              eM.push(castTo(dtype, mi));
              eS.push(castTo(dtype, si));
              eX.push(castTo(dtype, xi));
            }
            const what = `${dtype} n=${n} ${JSON.stringify(v)}`;
            assertAllClose(await readAll(backend, p.storage), eP, fTol(dtype), `adamUpdate param ${what}`);
            assertAllClose(await readAll(backend, m.storage), eM, fTol(dtype), `adamUpdate exp_avg ${what}`);
            assertAllClose(await readAll(backend, s.storage), eS, fTol(dtype), `adamUpdate exp_avg_sq ${what}`);
            assertAllClose(await readAll(backend, mx.storage), eX, fTol(dtype), `adamUpdate max_exp_avg_sq ${what}`);
          }
        }
      }
    });
  }

  const sgd = backend.sgdUpdate?.bind(backend);
  if (sgd) {
    test("sgdUpdate (optional): momentum, first step, dampening, nesterov, maximize", async (rng) => {
      const variants = [
        { momentum: 0, dampening: 0, nesterov: false, maximize: false, weightDecay: 0, firstStep: false },
        { momentum: 0.9, dampening: 0, nesterov: false, maximize: false, weightDecay: 0.1, firstStep: true },
        { momentum: 0.8, dampening: 0.3, nesterov: false, maximize: true, weightDecay: 0, firstStep: false },
        { momentum: 0.9, dampening: 0, nesterov: true, maximize: false, weightDecay: 0.05, firstStep: false },
        { momentum: 0.7, dampening: 0, nesterov: true, maximize: false, weightDecay: 0, firstStep: true },
      ];
      for (const dtype of floats) {
        for (const v of variants) {
          for (const n of [1, 37, 1000]) {
            const lr = 0.05;
            const p = vec(rng, dtype, n, 0, -2, 2), g = vec(rng, dtype, n, 3, -1, 1);
            const b = vec(rng, dtype, n, 0, -0.5, 0.5);
            sgd(p.storage, { storage: g.storage, ...g.view }, v.momentum ? b.storage : null, { ...v, lr });
            const eP: number[] = [], eB: number[] = [];
            for (let i = 0; i < n; i++) {
              let gi = (v.maximize ? -g.values[i] : g.values[i]) + v.weightDecay * p.values[i];
              let bi = b.values[i];
              if (v.momentum !== 0) {
                bi = v.firstStep ? gi : v.momentum * bi + (1 - v.dampening) * gi;
                gi = v.nesterov ? gi + v.momentum * bi : bi;
              }
              eP.push(castTo(dtype, p.values[i] - lr * gi));
              eB.push(castTo(dtype, bi));
            }
            const what = `${dtype} n=${n} ${JSON.stringify(v)}`;
            assertAllClose(await readAll(backend, p.storage), eP, fTol(dtype), `sgdUpdate param ${what}`);
            assertAllClose(await readAll(backend, b.storage), eB, fTol(dtype), `sgdUpdate momentum_buffer ${what}`);
          }
        }
      }
    });
  }
}

// ---- optional fused recurrent cells --------------------------------------------------------------

/**
 * Row blocks packed into one storage, as a recurrent layer keeps its states: block k starts after block k-1 and a
 * gap, so a kernel must honour each view's offset (and, on a GPU, read and write one buffer through several views).
 */
function rowBlocks(
  backend: Backend,
  rng: Rng,
  dtype: DType,
  blocks: [rows: number, width: number][],
): { views: View[]; values: number[][] } {
  const starts: number[] = [];
  let at = 2;
  for (const [r, w] of blocks) {
    starts.push(at);
    at += r * w + 3;
  }
  const data = allocArray(dtype, at);
  for (let i = 0; i < at; i++) data[i] = castTo(dtype, rng.uniform(-2, 2));
  const storage = backend.upload(data);
  const views = blocks.map(([r, w], k): View => ({ storage, shape: [r, w], strides: [w, 1], offset: starts[k] }));
  const values = blocks.map(([r, w], k) => Array.from(data.subarray(starts[k], starts[k] + r * w)));
  return { views, values };
}

/** Reads the rows of a row-block view back. */
async function readRows(backend: Backend, v: View): Promise<number[]> {
  const all = await backend.read(v.storage);
  return Array.from(all.subarray(v.offset, v.offset + v.shape[0] * v.shape[1]));
}

const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));

/** Conformance of the optional recurrent-cell kernels against their equations; skipped without them. */
function rnnCellTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
  fTol: (dtype: DType) => Tolerance,
): void {
  const fwd = backend.rnnCellForward?.bind(backend), bwd = backend.rnnCellBackward?.bind(backend);
  if (!fwd || !bwd) return;
  test("rnnCellForward/Backward (optional): LSTM, GRU, RNN tanh/ReLU, shared buffers, recurrent rows", async (rng) => {
    for (const dtype of floats) {
      for (const mode of ["lstm", "gru", "rnnTanh", "rnnRelu"] as RnnCellMode[]) {
        const k = mode === "lstm" ? 4 : mode === "gru" ? 3 : 1;
        for (const [n, H] of [[1, 1], [3, 5], [4, 16]]) {
          for (const withBias of mode === "gru" ? [true, false] : [false]) {
            const G = k * H;
            const what = `${dtype} ${mode} ${n}x${H} bias=${withBias}`;
            // Gates in one storage; prev, h and c in another (as a layer's state buffer); saved alone.
            const gates = rowBlocks(backend, rng, dtype, [[n, G], [n, G], [1, G]]);
            const state = rowBlocks(backend, rng, dtype, [[n, H], [n, H], [n, H]]);
            const sv = rowBlocks(backend, rng, dtype, [[n, 4 * H]]);
            const [xgV, hgV, biasRow] = gates.views;
            const [xg, hg, bias] = gates.values;
            const [prevV, hV, cV] = state.views;
            const prev = state.values[0];
            const hasPrev = mode === "lstm" || mode === "gru";
            const biasV: View = { ...biasRow, shape: [G], strides: [1] };
            fwd({
              mode,
              xGates: xgV,
              hGates: hgV,
              hBias: withBias ? biasV : null,
              prev: hasPrev ? prevV : null,
              h: hV,
              c: mode === "lstm" ? cV : null,
              saved: hasPrev ? sv.views[0] : null,
            });
            const eH: number[] = [], eC: number[] = [], eS = new Array<number>(n * 4 * H).fill(0);
            for (let r = 0; r < n; r++) {
              for (let j = 0; j < H; j++) {
                const pre = (g: number) => xg[r * G + g * H + j] + hg[r * G + g * H + j];
                const p = prev[r * H + j];
                const s = (g: number, v: number) => (eS[r * 4 * H + g * H + j] = v);
                if (mode === "lstm") {
                  const i = sigmoidRef(pre(0)), f = sigmoidRef(pre(1)), g = Math.tanh(pre(2)), o = sigmoidRef(pre(3));
                  const c = f * p + i * g;
                  [i, f, g, o].forEach((v, q) => s(q, v));
                  eC.push(c);
                  eH.push(o * Math.tanh(c));
                } else if (mode === "gru") {
                  const b = (g: number) => (withBias ? bias[g * H + j] : 0);
                  const rg = sigmoidRef(pre(0) + b(0)), z = sigmoidRef(pre(1) + b(1));
                  const hn = hg[r * G + 2 * H + j] + b(2);
                  const nv = Math.tanh(xg[r * G + 2 * H + j] + rg * hn);
                  [rg, z, nv, hn].forEach((v, q) => s(q, v));
                  eH.push((1 - z) * nv + z * p);
                } else eH.push(mode === "rnnTanh" ? Math.tanh(pre(0)) : Math.max(pre(0), 0));
              }
            }
            const cast = (xs: number[]) => xs.map((v) => castTo(dtype, v));
            assertAllClose(await readRows(backend, hV), cast(eH), fTol(dtype), `rnnCellForward h ${what}`);
            if (mode === "lstm") {
              assertAllClose(await readRows(backend, cV), cast(eC), fTol(dtype), `rnnCellForward c ${what}`);
            }
            if (hasPrev) {
              assertAllClose(
                await readRows(backend, sv.views[0]),
                cast(eS),
                fTol(dtype),
                `rnnCellForward saved ${what}`,
              );
            }
            // Backward from the forward's own outputs (read back), so it is checked on its own.
            const saved = hasPrev ? await readRows(backend, sv.views[0]) : [];
            const hOut = await readRows(backend, hV), cOut = mode === "lstm" ? await readRows(backend, cV) : [];
            for (const recRows of [0, Math.max(1, n - 1), n + 2]) {
              const nRec = mode === "gru" ? 2 : 1;
              const grads = rowBlocks(backend, rng, dtype, [
                [n, H],
                [n, H],
                ...Array.from({ length: nRec + 1 }, () => [Math.max(recRows, 1), H] as [number, number]),
              ]);
              const [ghV, gcV, ...recVs] = grads.views;
              const [gh, gc, ...recs] = grads.values;
              const outs = rowBlocks(backend, rng, dtype, [[n, G], [n, G], [n, H]]);
              const [dxV, dhgV, gpV] = outs.views;
              bwd({
                mode,
                gradH: ghV,
                gradHRec: recRows ? recVs.slice(0, nRec) : [],
                recRows,
                gradC: mode === "lstm" ? gcV : null,
                gradCRec: mode === "lstm" && recRows ? recVs[nRec] : null,
                saved: hasPrev ? sv.views[0] : null,
                prev: hasPrev ? prevV : null,
                out: mode === "lstm" ? cV : mode === "gru" ? null : hV,
                gradXGates: dxV,
                gradHGates: mode === "gru" ? dhgV : null,
                gradPrev: hasPrev ? gpV : null,
              });
              const eDx: number[] = new Array(n * G).fill(0), eDhg: number[] = new Array(n * G).fill(0);
              const eGp: number[] = [];
              for (let r = 0; r < n; r++) {
                for (let j = 0; j < H; j++) {
                  const rec = (q: number) => (r < recRows ? recs[q][r * H + j] : 0);
                  let dh = gh[r * H + j];
                  for (let q = 0; q < nRec; q++) dh += rec(q);
                  const sv4 = (q: number) => saved[r * 4 * H + q * H + j];
                  const p = prev[r * H + j];
                  if (mode === "lstm") {
                    const [i, f, g, o] = [0, 1, 2, 3].map(sv4);
                    const tc = Math.tanh(cOut[r * H + j]);
                    const dc = gc[r * H + j] + rec(nRec) + dh * o * (1 - tc * tc);
                    // d/d(pre-activation) of each gate: σ' = σ(1-σ), tanh' = 1 - tanh².
                    eDx[r * G + j] = dc * g * i * (1 - i);
                    eDx[r * G + H + j] = dc * p * f * (1 - f);
                    eDx[r * G + 2 * H + j] = dc * i * (1 - g * g);
                    eDx[r * G + 3 * H + j] = dh * tc * o * (1 - o);
                    eGp.push(dc * f);
                  } else if (mode === "gru") {
                    const [rg, z, nv, hn] = [0, 1, 2, 3].map(sv4);
                    const dn = dh * (1 - z) * (1 - nv * nv);
                    const dz = dh * (p - nv) * z * (1 - z);
                    const dr = dn * hn * rg * (1 - rg);
                    [dr, dz, dn].forEach((v, q) => (eDx[r * G + q * H + j] = v));
                    [dr, dz, dn * rg].forEach((v, q) => (eDhg[r * G + q * H + j] = v));
                    eGp.push(dh * z);
                  } else {
                    const hv = hOut[r * H + j];
                    eDx[r * G + j] = mode === "rnnTanh" ? dh * (1 - hv * hv) : (hv > 0 ? dh : 0);
                  }
                }
              }
              const w = `${what} recRows=${recRows}`;
              assertAllClose(await readRows(backend, dxV), cast(eDx), fTol(dtype), `rnnCellBackward gradXGates ${w}`);
              if (mode === "gru") {
                assertAllClose(
                  await readRows(backend, dhgV),
                  cast(eDhg),
                  fTol(dtype),
                  `rnnCellBackward gradHGates ${w}`,
                );
              }
              if (hasPrev) {
                assertAllClose(await readRows(backend, gpV), cast(eGp), fTol(dtype), `rnnCellBackward gradPrev ${w}`);
              }
            }
          }
        }
      }
    }
  });
}

// ---- batch normalization ------------------------------------------------------------------------

/** A `[c]` view of `values` (cast to `dtype`) at stride 2 and offset 1, so kernels must honour both. */
function channelView(backend: Backend, values: readonly number[], dtype: DType): View {
  const data = allocArray(dtype, 2 * values.length + 2);
  data.fill(castTo(dtype, 1e3)); // a wrong index reads a value far from every real one
  values.forEach((v, i) => (data[1 + 2 * i] = castTo(dtype, v)));
  return { storage: backend.upload(data), shape: [values.length], strides: [2], offset: 1 };
}

/** Per-channel mean and biased variance of row-major `[n, c, s]` values, by direct loops in float64. */
function bnStatsReference(
  n: number,
  c: number,
  s: number,
  x: readonly number[],
): { mean: number[]; variance: number[] } {
  const mean: number[] = [], variance: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < s; j++) sum += x[(i * c + ch) * s + j];
    const mu = sum / (n * s);
    let sq = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < s; j++) sq += (x[(i * c + ch) * s + j] - mu) ** 2;
    mean.push(mu);
    variance.push(sq / (n * s));
  }
  return { mean, variance };
}

function batchNormTests(
  backend: Backend,
  test: (title: string, fn: (rng: Rng) => Promise<void>) => void,
  floats: DType[],
): void {
  // [n, c, s]: BatchNorm1d (s = 1), a channel longer than a workgroup, many channels, one image.
  const cases: [number, number, number][] = [[2, 3, 5], [4, 2, 1], [3, 5, 16], [1, 70, 3], [2, 1, 300], [5, 4, 33]];
  const tolFor = (dtype: DType, m: number): Tolerance =>
    dtype === "float64" ? { atol: 1e-12, rtol: 1e-10 } : { atol: 2e-6 * Math.sqrt(m) + 1e-5, rtol: 1e-4 };

  test("batchNormStats: per-channel mean, 1/sqrt(biased var + eps), variance (strided input)", async (rng) => {
    for (const dtype of floats) {
      for (const [n, c, s] of cases) {
        for (const layout of ["contiguous", "strided"] as Layout[]) {
          // Channel means far from 0 check that the variance does not cancel catastrophically.
          const x = makeView(backend, rng, [n, c, s], dtype, layout, (r) => r.uniform(-2, 2) + 5);
          const eps = 1e-3;
          const ref = bnStatsReference(n, c, s, x.values);
          const mean = backend.alloc(dtype, c), invStd = backend.alloc(dtype, c), variance = backend.alloc(dtype, c);
          backend.batchNormStats(x.view, eps, mean, invStd, variance);
          const invStd2 = backend.alloc(dtype, c);
          backend.batchNormStats(x.view, eps, backend.alloc(dtype, c), invStd2, null);
          const [m, is, v, is2] = await Promise.all(
            [mean, invStd, variance, invStd2].map((st) => readAll(backend, st)),
          );
          const what = `${dtype} ${JSON.stringify([n, c, s])} ${layout}`;
          const tol = tolFor(dtype, 1);
          assertAllClose(m, ref.mean, tol, `batchNormStats mean ${what}`);
          assertAllClose(v, ref.variance, tol, `batchNormStats variance ${what}`);
          const refInv = ref.variance.map((vv) => 1 / Math.sqrt(vv + eps));
          assertAllClose(is, refInv, tol, `batchNormStats invStd ${what}`);
          assertAllClose(is2, refInv, tol, `batchNormStats invStd without variance ${what}`);
        }
      }
    }
  });

  test("batchNormForward: (x - mean)·invStd·weight + bias, strided [c] operands, absent weight/bias", async (rng) => {
    for (const dtype of floats) {
      for (const [n, c, s] of cases) {
        for (const [hasW, hasB] of [[true, true], [false, false], [true, false], [false, true]]) {
          const layout: Layout = rng.next() < 0.5 ? "strided" : "contiguous";
          const x = makeView(backend, rng, [n, c, s], dtype, layout, (r) => r.uniform(-3, 3));
          const mean = Array.from({ length: c }, () => rng.uniform(-1, 1));
          const invStd = Array.from({ length: c }, () => rng.uniform(0.5, 2));
          const w = Array.from({ length: c }, () => rng.uniform(-2, 2));
          const b = Array.from({ length: c }, () => rng.uniform(-2, 2));
          const cast = (a: number[]) => a.map((v) => castTo(dtype, v));
          const out = backend.alloc(dtype, n * c * s);
          backend.batchNormForward(
            x.view,
            channelView(backend, mean, dtype),
            channelView(backend, invStd, dtype),
            hasW ? channelView(backend, w, dtype) : null,
            hasB ? channelView(backend, b, dtype) : null,
            out,
          );
          const [cm, ci, cw, cb] = [cast(mean), cast(invStd), cast(w), cast(b)];
          const expected: number[] = [];
          for (let e = 0; e < n * c * s; e++) {
            const ch = Math.floor(e / s) % c;
            expected.push((x.values[e] - cm[ch]) * ci[ch] * (hasW ? cw[ch] : 1) + (hasB ? cb[ch] : 0));
          }
          assertAllClose(
            await readAll(backend, out),
            expected,
            tolFor(dtype, 1),
            `batchNormForward ${dtype} ${JSON.stringify([n, c, s])} weight=${hasW} bias=${hasB} ${layout}`,
          );
        }
      }
    }
  });

  test("batchNormBackward: input, weight and bias gradients, batch or fixed statistics", async (rng) => {
    for (const dtype of floats) {
      for (const [n, c, s] of cases) {
        for (const batchStats of [true, false]) {
          for (const hasW of [true, false]) {
            const layout = (): Layout => (rng.next() < 0.5 ? "strided" : "contiguous");
            const x = makeView(backend, rng, [n, c, s], dtype, layout(), (r) => r.uniform(-2, 2) + 1);
            const go = makeView(backend, rng, [n, c, s], dtype, layout(), (r) => r.uniform(-1, 1));
            const m = n * s;
            let mean: number[], invStd: number[];
            if (batchStats) {
              const st = bnStatsReference(n, c, s, x.values);
              mean = st.mean.map((v) => castTo(dtype, v));
              invStd = st.variance.map((v) => castTo(dtype, 1 / Math.sqrt(v + 1e-3)));
            } else {
              mean = Array.from({ length: c }, () => castTo(dtype, rng.uniform(-1, 1)));
              invStd = Array.from({ length: c }, () => castTo(dtype, rng.uniform(0.5, 2)));
            }
            const w = Array.from({ length: c }, () => castTo(dtype, rng.uniform(-2, 2)));
            const gi = backend.alloc(dtype, n * c * s), gw = backend.alloc(dtype, c), gb = backend.alloc(dtype, c);
            const args = [
              go.view,
              x.view,
              channelView(backend, mean, dtype),
              channelView(backend, invStd, dtype),
              hasW ? channelView(backend, w, dtype) : null,
              batchStats,
            ] as const;
            backend.batchNormBackward(...args, { input: gi, weight: gw, bias: gb });
            // Each output alone too: the kernel must not depend on the others being requested.
            const giOnly = backend.alloc(dtype, n * c * s), gbOnly = backend.alloc(dtype, c);
            backend.batchNormBackward(...args, { input: giOnly, weight: null, bias: null });
            backend.batchNormBackward(...args, { input: null, weight: null, bias: gbOnly });
            // The reference: direct sums per channel, then the closed form.
            const sumG = new Array<number>(c).fill(0), sumGX = new Array<number>(c).fill(0);
            for (let e = 0; e < n * c * s; e++) {
              const ch = Math.floor(e / s) % c;
              sumG[ch] += go.values[e];
              sumGX[ch] += go.values[e] * (x.values[e] - mean[ch]);
            }
            const expIn: number[] = [];
            for (let e = 0; e < n * c * s; e++) {
              const ch = Math.floor(e / s) % c;
              const k = invStd[ch] * (hasW ? w[ch] : 1);
              const xhat = (x.values[e] - mean[ch]) * invStd[ch];
              expIn.push(
                batchStats ? k * (go.values[e] - sumG[ch] / m - xhat * invStd[ch] * sumGX[ch] / m) : k * go.values[e],
              );
            }
            const expW = sumGX.map((v, ch) => v * invStd[ch]);
            const [i, wg, bg, i2, b2] = await Promise.all(
              [gi, gw, gb, giOnly, gbOnly].map((st) => readAll(backend, st)),
            );
            const what = `${dtype} ${JSON.stringify([n, c, s])} batchStats=${batchStats} weight=${hasW}`;
            const tol = tolFor(dtype, m);
            assertAllClose(i, expIn, tol, `batchNormBackward input ${what}`);
            assertAllClose(wg, expW, tol, `batchNormBackward weight ${what}`);
            assertAllClose(bg, sumG, tol, `batchNormBackward bias ${what}`);
            assertAllClose(i2, expIn, tol, `batchNormBackward input alone ${what}`);
            assertAllClose(b2, sumG, tol, `batchNormBackward bias alone ${what}`);
          }
        }
      }
    }
  });
}
