/**
 * WebAssembly SIMD paths for the CPU backend's memory-bound elementwise ops
 * on float32: unary (ReLU, neg, abs, sqrt, floor, ceil, round, reciprocal,
 * sign, exact GELU, SiLU), binary arithmetic, maximum/minimum, comparisons, `where`, and ReLU's, GELU's and SiLU's
 * gradient. The kernels are generated in `wasm/elementwise_kernel.ts`.
 *
 * Each function returns true when it did the work and false, having written
 * nothing, when it does not apply (an operand not float32, not in the
 * WebAssembly heap, an innermost run that is strided or too short to pay, an
 * op left to TypeScript), so the caller runs the TypeScript loop instead.
 * Results equal the TypeScript loops' bit for bit (NaN payloads aside).
 *
 * Views are collapsed (`collapseDims`); the innermost dimension must be
 * contiguous (stride 1) or broadcast (stride 0) in each operand, the next one
 * may have any stride (one kernel call covers both), and the rest are looped
 * here: a conv bias `[32, 32, 28, 28] + [32, 1, 1]` is 32 calls of 32 rows
 * of 784, a linear bias `[128, 256] + [256]` one call.
 *
 * @module
 */

import type { BinaryOp, Storage, UnaryOp, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { numel, type Shape } from "../shape.ts";
import { cpuData } from "./storage.ts";
import { collapseDims } from "./strided.ts";
import { ewName } from "./wasm/elementwise_kernel.ts";
import { heapAddress, heapAlloc, heapF32, runElementwiseJob, wasmOps } from "./wasm/runtime.ts";

/** Shortest innermost run (after collapsing dimensions) handed to a kernel: below it the call costs more than it saves. */
export const WASM_MIN_RUN = 8;

const UNARY_OPS: ReadonlySet<UnaryOp> = new Set<UnaryOp>([
  "relu",
  "neg",
  "abs",
  "sqrt",
  "floor",
  "ceil",
  "round",
  "reciprocal",
  "sign",
  "gelu",
  "silu",
]);
const ARITH: ReadonlySet<BinaryOp> = new Set<BinaryOp>(["add", "sub", "mul", "div"]);
const MINMAX: ReadonlySet<BinaryOp> = new Set<BinaryOp>(["maximum", "minimum"]);
/** Each comparison with its operands swapped: `s < x` is `x > s`. */
const MIRROR: Partial<Record<BinaryOp, BinaryOp>> = { eq: "eq", ne: "ne", lt: "gt", le: "ge", gt: "lt", ge: "le" };

type Kernel = (...args: number[]) => number;

/** An operand as a kernel reads it: byte address of its first element, element strides, bytes per element. */
interface Arg {
  addr: number;
  strides: readonly number[];
  bytes: number;
}

/** Whether every element of `v` lies inside its storage of `length` elements. */
export function inBounds(v: View, length: number): boolean {
  let lo = v.offset, hi = v.offset;
  for (let d = 0; d < v.shape.length; d++) {
    const e = (v.shape[d] - 1) * v.strides[d];
    if (e < 0) lo += e;
    else hi += e;
  }
  return lo >= 0 && hi < length;
}

/** `v` as a kernel operand when its storage is a heap array of the given type, else null. */
function viewArg(v: View, type: typeof Float32Array | typeof Uint8Array): Arg | null {
  const d = cpuData(v.storage);
  if (!(d instanceof type)) return null;
  const base = heapAddress(d);
  if (base < 0 || !inBounds(v, d.length)) return null;
  return { addr: base + v.offset * d.BYTES_PER_ELEMENT, strides: v.strides, bytes: d.BYTES_PER_ELEMENT };
}

/** The heap address of `out` when it is a heap array of the given type holding at least `n` elements, else -1. */
function outAddr(out: Storage, type: typeof Float32Array | typeof Uint8Array, n: number): number {
  const o: TypedArray = cpuData(out);
  return o instanceof type && o.length >= n ? heapAddress(o) : -1;
}

// Scalar operands are splats read from a small heap block kept for the life of the process: 8 bytes per operand
// position (a float64 scalar needs them all).
let slots = -1;

function scalarSlots(): number {
  if (slots < 0) slots = heapAlloc(32);
  return slots;
}

/** Writes scalar operand `k` (float32, or float64 when `f64`) and returns its address. */
function writeScalar(k: number, value: number, f64: boolean): number {
  const at = slots + 8 * k;
  if (f64) new Float64Array(heapF32().buffer, at, 1)[0] = value;
  else heapF32()[at >> 2] = value;
  return at;
}

const isF32 = (s: number): boolean => Math.fround(s) === s || s !== s;

const bits = new Float32Array(1);
const bitsI = new Int32Array(bits.buffer);

/** The smallest float32 above float32 `f` (`f` not NaN nor +∞). */
function nextUp(f: number): number {
  if (f === 0) return 2 ** -149;
  bits[0] = f;
  bitsI[0] += f > 0 ? 1 : -1;
  return bits[0];
}

/**
 * A comparison of float32 `x` with a scalar float32 cannot hold, as an equal
 * comparison with a float32: no float32 lies strictly between `lo` and `hi`,
 * the float32 neighbours of `s`, so `x > s` ⟺ `x >= s` ⟺ `x > lo`, and
 * `x < s` ⟺ `x <= s` ⟺ `x < hi`; `x == s` never holds (nor does `x == NaN`).
 */
function exactCompare(op: BinaryOp, s: number): [BinaryOp, number] {
  if (isF32(s)) return [op, s];
  if (op === "eq" || op === "ne") return [op, NaN];
  const f = Math.fround(s);
  const lo = f < s ? f : -nextUp(-f), hi = f < s ? nextUp(f) : f;
  return op === "gt" || op === "ge" ? ["gt", lo] : ["lt", hi];
}

/**
 * Runs `fn` over collapsed `shape`: one call per index of the dimensions
 * before the last two, each covering `shape[nd-2]` rows of `shape[nd-1]`.
 */
function drive(fn: Kernel, shape: number[], args: Arg[], stridesList: number[][], out: number, outBytes: number): void {
  const nd = shape.length;
  const cols = shape[nd - 1], rows = nd >= 2 ? shape[nd - 2] : 1;
  const k = args.length;
  const rowBytes = args.map((a, i) => (nd >= 2 ? stridesList[i][nd - 2] * a.bytes : 0));
  const base = args.map((a) => a.addr);
  const outerNd = Math.max(0, nd - 2);
  let outer = 1;
  for (let d = 0; d < outerNd; d++) outer *= shape[d];
  const idx = new Array<number>(outerNd).fill(0);
  const step = rows * cols * outBytes;
  for (let t = 0; t < outer; t++) {
    if (k === 1) fn(rows, cols, base[0], rowBytes[0], out);
    else if (k === 2) fn(rows, cols, base[0], rowBytes[0], base[1], rowBytes[1], out);
    else fn(rows, cols, base[0], rowBytes[0], base[1], rowBytes[1], base[2], rowBytes[2], out);
    out += step;
    for (let d = outerNd - 1; d >= 0; d--) {
      for (let i = 0; i < k; i++) base[i] += stridesList[i][d] * args[i].bytes;
      if (++idx[d] < shape[d]) break;
      for (let i = 0; i < k; i++) base[i] -= stridesList[i][d] * shape[d] * args[i].bytes;
      idx[d] = 0;
    }
  }
}

/**
 * Kernels whose arithmetic, not memory traffic, sets their pace: one call over a large block is cut across the worker
 * threads (`runElementwiseJob`). Cutting the memory-bound ones gains little on two cores.
 */
const COMPUTE_BOUND: ReadonlySet<string> = new Set(["gelu", "gelu_backward", "silu", "silu_backward"]);

/**
 * {@link drive} for `op`'s kernel, but a block of at most two dimensions (one kernel call) of a compute-bound op
 * runs as a threaded job.
 */
function driveOp(
  op: string,
  modes: string,
  fn: Kernel,
  shape: number[],
  args: Arg[],
  stridesList: number[][],
  out: number,
): void {
  const nd = shape.length;
  if (!COMPUTE_BOUND.has(op) || nd > 2) return drive(fn, shape, args, stridesList, out, 4);
  const ins = args.map((a, i) =>
    [a.addr, nd === 2 ? stridesList[i][0] * a.bytes : 0, stridesList[i][nd - 1] * a.bytes] as const
  );
  runElementwiseJob(ewName(op, modes), nd === 2 ? shape[0] : 1, shape[nd - 1], ins, out);
}

/**
 * Collapses the operands' dimensions and names each one's mode along the
 * innermost run (`v` contiguous, `s` broadcast); null when a run is strided
 * or shorter than {@link WASM_MIN_RUN}, or no operand spans it.
 */
function plan(
  shape: Shape,
  strides: (readonly number[])[],
): { shape: number[]; strides: number[][]; modes: string[] } | null {
  if (numel(shape) === 0) return null;
  const c = collapseDims(shape, strides);
  const nd = c.shape.length;
  if (c.shape[nd - 1] < WASM_MIN_RUN) return null;
  const modes: string[] = [];
  for (const s of c.strides) {
    const inner = s[nd - 1];
    if (inner !== 0 && inner !== 1) return null;
    modes.push(inner === 1 ? "v" : "s");
  }
  return modes.includes("v") ? { ...c, modes } : null;
}

function kernel(op: string, modes: string): Kernel | null {
  const fn = wasmOps()?.[ewName(op, modes)];
  return typeof fn === "function" ? fn : null;
}

/**
 * `out = op(a)` elementwise on float32 data in the WebAssembly heap, for
 * relu, neg, abs, sqrt, floor, ceil, round, reciprocal, sign, exact GELU and SiLU
 * (other ops, such as the other transcendental ones, return false). `out` is contiguous with
 * `a`'s shape.
 *
 * @example
 * ```ts ignore
 * if (!wasmUnary("relu", x, out)) runTheTypeScriptLoop();
 * ```
 */
export function wasmUnary(op: UnaryOp, a: View, out: Storage): boolean {
  if (!UNARY_OPS.has(op)) return false;
  const n = numel(a.shape);
  const o = outAddr(out, Float32Array, n);
  const x = viewArg(a, Float32Array);
  if (o < 0 || !x) return false;
  const p = plan(a.shape, [a.strides]);
  const fn = p && kernel(op, p.modes.join(""));
  if (!p || !fn) return false;
  driveOp(op, p.modes.join(""), fn, p.shape, [x], p.strides, o);
  return true;
}

/**
 * `out = op(a, b)` elementwise on float32 operands in the WebAssembly heap
 * (a number is a scalar operand): add, sub, mul, div, maximum and minimum into
 * float32 `out`; eq, ne, lt, le, gt and ge into bool `out` (0/1 bytes). Views
 * share `shape` (broadcast dimensions have stride 0); `out` is contiguous.
 * A scalar that float32 cannot hold exactly is applied as the TypeScript loop does
 * (arithmetic in float64, rounded once; comparisons against its float32
 * neighbours); maximum/minimum with such a scalar return false.
 *
 * @example
 * ```ts ignore
 * if (!wasmBinary("add", x, bias, out, x.shape)) runTheTypeScriptLoop();
 * ```
 */
export function wasmBinary(op: BinaryOp, a: View | number, b: View | number, out: Storage, shape: Shape): boolean {
  const arith = ARITH.has(op), minmax = MINMAX.has(op), compare = MIRROR[op] !== undefined;
  if (!arith && !minmax && !compare) return false;
  const n = numel(shape);
  const o = outAddr(out, compare ? Uint8Array : Float32Array, n);
  if (o < 0) return false;
  const operands = [a, b];
  const args: (Arg | null)[] = operands.map((x) => (typeof x === "number" ? null : viewArg(x, Float32Array)));
  if (args.some((x, k) => x === null && typeof operands[k] !== "number")) return false;
  const zeros = new Array<number>(shape.length).fill(0);
  const p = plan(shape, args.map((x) => x?.strides ?? zeros));
  if (!p) return false;
  let kop = op;
  if (compare && p.modes[0] === "s") {
    // Comparisons come in vector-first form only: swap the operands and mirror the op.
    operands.reverse();
    args.reverse();
    p.modes.reverse();
    p.strides.reverse();
    kop = MIRROR[op] as BinaryOp;
  }
  const f64 = [false, false];
  for (let k = 0; k < 2; k++) {
    const s = operands[k];
    if (typeof s !== "number") continue;
    if (compare) [kop, operands[k]] = exactCompare(kop, s);
    else if (!isF32(s)) {
      if (minmax) return false;
      f64[k] = true;
      p.modes[k] = "d";
    }
  }
  const fn = kernel(kop, p.modes.join(""));
  if (!fn || scalarSlots() < 0) return false;
  const full = args.map((x, k) =>
    x ?? { addr: writeScalar(k, operands[k] as number, f64[k]), strides: zeros, bytes: 0 }
  );
  drive(fn, p.shape, full, p.strides, o, compare ? 1 : 4);
  return true;
}

/**
 * `out = cond ? a : b` elementwise: a bool condition (bytes, nonzero is true)
 * and float32 `a`, `b` (views, or numbers rounded to float32) in the
 * WebAssembly heap, float32 `out` contiguous. Views share `shape` (broadcast
 * dimensions have stride 0).
 *
 * @example
 * ```ts ignore
 * if (!wasmWhere(mask, grad, 0, out, grad.shape)) runTheTypeScriptLoop();
 * ```
 */
export function wasmWhere(cond: View, a: View | number, b: View | number, out: Storage, shape: Shape): boolean {
  const n = numel(shape);
  const o = outAddr(out, Float32Array, n);
  const c = viewArg(cond, Uint8Array);
  if (o < 0 || !c) return false;
  const operands = [a, b];
  const args = operands.map((x) => (typeof x === "number" ? null : viewArg(x, Float32Array)));
  if (args.some((x, k) => x === null && typeof operands[k] !== "number")) return false;
  const zeros = new Array<number>(shape.length).fill(0);
  const p = plan(shape, [c.strides, ...args.map((x) => x?.strides ?? zeros)]);
  const fn = p && kernel("where", p.modes.join(""));
  if (!p || !fn || scalarSlots() < 0) return false;
  const full = args.map((x, k) =>
    x ?? { addr: writeScalar(k, operands[k] as number, false), strides: zeros, bytes: 0 }
  );
  drive(fn, p.shape, [c, ...full], p.strides, o, 4);
  return true;
}

/**
 * ReLU's gradient, `out = x > 0 ? grad : 0`, for float32 `x` and `grad` of
 * the same shape in the WebAssembly heap (`grad` may be broadcast), float32
 * `out` contiguous. One pass, instead of `gt` then `where` through a bool
 * tensor.
 *
 * @example
 * ```ts ignore
 * if (!wasmReluBackward(x, gradOut, gradIn)) runTheTypeScriptLoop();
 * ```
 */
export function wasmReluBackward(x: View, grad: View, out: Storage): boolean {
  return wasmActivationBackward("relu_backward", x, grad, out);
}

/**
 * Exact GELU's gradient, `out = grad·(Φ(x) + x·φ(x))`, on the same terms as {@link wasmReluBackward} (within float32
 * rounding of the TypeScript loop, which computes in float64).
 *
 * @example
 * ```ts ignore
 * if (!wasmGeluBackward(x, gradOut, gradIn)) runTheTypeScriptLoop();
 * ```
 */
export function wasmGeluBackward(x: View, grad: View, out: Storage): boolean {
  return wasmActivationBackward("gelu_backward", x, grad, out);
}

/**
 * SiLU's gradient, `out = grad·σ(x)·(1 + x·(1 − σ(x)))`, on the same terms as {@link wasmReluBackward} (within
 * float32 rounding of the TypeScript loop, which computes in float64).
 *
 * @example
 * ```ts ignore
 * if (!wasmSiluBackward(x, gradOut, gradIn)) runTheTypeScriptLoop();
 * ```
 */
export function wasmSiluBackward(x: View, grad: View, out: Storage): boolean {
  return wasmActivationBackward("silu_backward", x, grad, out);
}

function wasmActivationBackward(name: string, x: View, grad: View, out: Storage): boolean {
  const shape = x.shape;
  if (grad.shape.length !== shape.length || grad.shape.some((s, d) => s !== shape[d])) return false;
  const o = outAddr(out, Float32Array, numel(shape));
  const xa = viewArg(x, Float32Array), ga = viewArg(grad, Float32Array);
  if (o < 0 || !xa || !ga) return false;
  const p = plan(shape, [x.strides, grad.strides]);
  const fn = p && kernel(name, p.modes.join(""));
  if (!p || !fn) return false;
  driveOp(name, p.modes.join(""), fn, p.shape, [xa, ga], p.strides, o);
  return true;
}
