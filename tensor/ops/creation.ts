/**
 * Creating tensors: from values, constant fills, ranges, and random draws.
 *
 * @module
 */

import { type Device, getBackend, getDefaultDevice } from "../backend.ts";
import { allocArray, checkDType, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { checkShape, fmtShape, numel, type Shape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { traced } from "../trace.ts";
import { allocationFailed, checkAllocation } from "./core.ts";

/** Where and how a new tensor is made. */
export interface TensorOptions {
  /** Element type (default float32; int32 for `arange`/`randint` with integer arguments). */
  dtype?: DType;
  /** Device (default: the default device, normally "cpu"). */
  device?: Device;
  /** Make it a leaf that requires grad. */
  requiresGrad?: boolean;
}

/** Options of random creation functions. */
export interface RandomOptions extends TensorOptions {
  /** The generator to draw from (default: the global one seeded by `manualSeed`). */
  generator?: Generator;
}

/** Nested arrays of numbers or booleans, as `tensor` accepts them. */
export type NestedValues = number | boolean | readonly NestedValues[];

function finish(storageData: TypedArray, shape: Shape, opts: TensorOptions | undefined): Tensor {
  const device = opts?.device ?? getDefaultDevice();
  const t = new Tensor(getBackend(device).upload(storageData), shape);
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return traced(t, "constant", []);
}

function inferNested(values: NestedValues): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let probe: NestedValues = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
    if (probe === undefined) break;
  }
  const flat: (number | boolean)[] = [];
  // The index path of the element being visited; spelled out (`[1][0]`) only for an error message.
  const pos: number[] = [];
  const path = () => pos.map((i) => `[${i}]`).join("");
  const walk = (v: NestedValues, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v === "number" || typeof v === "boolean") {
        flat.push(v);
        return;
      }
      if (Array.isArray(v)) {
        throw new RangeError(`tensor: ragged nested array: element ${path()} is an array but siblings are scalars`);
      }
      throw new TypeError(`tensor: element ${path()} is ${typeof v}, expected a number or boolean`);
    }
    if (!Array.isArray(v)) {
      throw new RangeError(
        `tensor: ragged nested array: element ${path()} is a scalar, expected an array of length ${shape[depth]}`,
      );
    }
    if (v.length !== shape[depth]) {
      throw new RangeError(
        `tensor: ragged nested array: element ${path()} has length ${v.length}, expected ${shape[depth]}`,
      );
    }
    pos.push(0);
    for (let i = 0; i < v.length; i++) {
      pos[depth] = i;
      walk((v as readonly NestedValues[])[i], depth + 1);
    }
    pos.pop();
  };
  walk(values, 0);
  return { shape, flat };
}

/**
 * A tensor from nested arrays, a number, or a typed array (kept flat unless
 * `shape` is given). Numbers make float32 unless `dtype` says otherwise
 * (unlike PyTorch, whose integer lists make int64: our users write weights,
 * and labels say `{ dtype: "int32" }`); booleans make bool; a typed array keeps
 * its own dtype.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * const labels = tensor([0, 2, 1], { dtype: "int32" });
 * ```
 */
export function tensor(values: NestedValues | TypedArray, opts?: TensorOptions & { shape?: Shape }): Tensor {
  if (ArrayBuffer.isView(values)) {
    const src = values as TypedArray;
    const shape = opts?.shape ?? [src.length];
    checkShape("tensor", shape);
    if (numel(shape) !== src.length) {
      throw new RangeError(`tensor: shape ${fmtShape(shape)} does not hold ${src.length} values`);
    }
    const dtype = opts?.dtype ? checkDType(opts.dtype) : dtypeOfArray(src);
    const data = allocArray(dtype, src.length);
    data.set(src);
    return finish(data, shape, opts);
  }
  const { shape, flat } = inferNested(values);
  const allBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
  const dtype = opts?.dtype ? checkDType(opts.dtype) : allBool ? "bool" : "float32";
  const data = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    data[i] = typeof v === "boolean" ? (v ? 1 : 0) : dtype === "bool" ? (v ? 1 : 0) : v;
  }
  if (opts?.shape) {
    checkShape("tensor", opts.shape);
    if (numel(opts.shape) !== flat.length) {
      throw new RangeError(`tensor: shape ${fmtShape(opts.shape)} does not hold ${flat.length} values`);
    }
  }
  return finish(data, opts?.shape ?? shape, opts);
}

/**
 * A zeroed host array for a new tensor of `shape` on the options' device, after checking the device can hold it
 * (errors name `op`, the function the user called).
 */
function hostArray(op: string, dtype: DType, shape: Shape, opts: TensorOptions | undefined): TypedArray {
  const backend = getBackend(opts?.device ?? getDefaultDevice());
  checkAllocation(op, shape, dtype, backend);
  try {
    return allocArray(dtype, numel(shape));
  } catch (e) {
    throw allocationFailed(op, shape, dtype, backend, e);
  }
}

/** `full` under the name the user called (`zeros`, `onesLike`, …), for its errors. */
function filled(op: string, shape: Shape, value: number | boolean, opts?: TensorOptions): Tensor {
  checkShape(op, shape);
  const dtype = opts?.dtype ? checkDType(opts.dtype) : typeof value === "boolean" ? "bool" : "float32";
  const data = hostArray(op, dtype, shape, opts);
  if (value !== 0 && value !== false) data.fill(Number(value));
  return traced(finish(data, shape, opts), "full", [], { value: Number(value) });
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number | boolean, opts?: TensorOptions): Tensor {
  return filled("full", shape, value, opts);
}

/** Zeros of `shape`. */
export function zeros(shape: Shape, opts?: TensorOptions): Tensor {
  return filled("zeros", shape, 0, opts);
}

/** Ones of `shape`. */
export function ones(shape: Shape, opts?: TensorOptions): Tensor {
  return filled("ones", shape, 1, opts);
}

/**
 * Values from `start` to `end` (exclusive) by `step`; `arange(n)` is 0..n-1.
 * Integer arguments make int32, like PyTorch's int64.
 */
export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange: step must be non-zero and finite, got ${step}`);
  }
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`arange: start and end must be finite, got start=${start}, end=${end}`);
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts?.dtype ?? ([start, end, step].every(Number.isInteger) ? "int32" : "float32");
  const data = hostArray("arange", checkDType(dtype), [n], opts);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return traced(finish(data, [n], opts), "arange", [], { start, end, step });
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  }
  const data = hostArray("linspace", checkDType(opts?.dtype ?? "float32"), [steps], opts);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half from the end so both endpoints are exact.
  // With one step PyTorch returns [start]; the loop below would write `end`.
  const half = steps === 1 ? 1 : Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + i * step : end - (steps - 1 - i) * step;
  return finish(data, [steps], opts);
}

/** An `n × m` identity matrix (`m` defaults to `n`; `eye(n, opts)` works too, like `torch.eye(n, dtype=...)`). */
export function eye(n: number, m?: number | TensorOptions, opts?: TensorOptions): Tensor {
  if (typeof m === "object") {
    opts = m;
    m = n;
  }
  m ??= n;
  checkShape("eye", [n, m]);
  const data = hostArray("eye", checkDType(opts?.dtype ?? "float32"), [n, m], opts);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return finish(data, [n, m], opts);
}

function randomFill(op: string, kind: "uniform" | "normal", shape: Shape, opts?: RandomOptions): Tensor {
  checkShape(op, shape);
  const dtype = opts?.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(`${op}: dtype must be floating point, got ${dtype}`);
  }
  const device = opts?.device ?? getDefaultDevice();
  const backend = getBackend(device);
  const n = numel(shape);
  // Checked before the generator advances: a refused call leaves the random stream where it was.
  checkAllocation(op, shape, dtype, backend);
  const gen = opts?.generator ?? defaultGenerator;
  const offset = gen.reserve(kind === "normal" ? 2 * Math.ceil(n / 2) : n);
  let storage;
  try {
    storage = backend.alloc(dtype, n);
  } catch (e) {
    throw allocationFailed(op, shape, dtype, backend, e);
  }
  backend.random(kind, storage, gen.seed, offset);
  const t = new Tensor(storage, shape);
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return traced(t, op, [], { dtype });
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, opts?: RandomOptions): Tensor {
  return randomFill("rand", "uniform", shape, opts);
}

/** Standard normal samples. */
export function randn(shape: Shape, opts?: RandomOptions): Tensor {
  return randomFill("randn", "normal", shape, opts);
}

/** Uniform integers in [low, high) (int32 unless `dtype` says otherwise). */
export function randint(low: number, high: number, shape: Shape, opts?: RandomOptions): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: expects integers low < high, got low=${low}, high=${high}`);
  }
  const u = randomFill("randint", "uniform", shape, {
    ...opts,
    dtype: "float64" === opts?.dtype ? "float64" : "float32",
    requiresGrad: false,
  });
  const span = high - low;
  // floor(u * span) with u < 1 in 24 bits: exact for spans below 2^24.
  return u.mul(span).floor().add(low).to(opts?.dtype ?? "int32");
}

/** Zeros shaped like `t` (same dtype and device unless told). */
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return filled("zerosLike", t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
}

/** Ones shaped like `t`. */
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return filled("onesLike", t.shape, 1, { dtype: t.dtype, device: t.device, ...opts });
}

/** A fill of `value` shaped like `t`. */
export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  return filled("fullLike", t.shape, value, { dtype: t.dtype, device: t.device, ...opts });
}

/** Standard normal samples shaped like `t`. */
export function randnLike(t: Tensor, opts?: RandomOptions): Tensor {
  return randn(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}

/** Uniform samples shaped like `t`. */
export function randLike(t: Tensor, opts?: RandomOptions): Tensor {
  return rand(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}
