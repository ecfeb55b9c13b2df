/**
 * Views: ops that share storage and only change shape, strides and offset
 * (PyTorch's rules for when a view is possible), each with its derivative.
 *
 * @module
 */

import { contiguousStrides, fmtShape, normalizeDim, numel, type Shape, shapesEqual } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { backendOf, empty, record, sumToShape } from "./core.ts";
import { traced } from "../trace.ts";

/** Accepts both `f(2, 3)` and `f([2, 3])`. */
export function shapeArg(args: (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...args[0]];
  return args.map((a) => {
    if (typeof a !== "number") throw new TypeError("expected integers or a single array of integers");
    return a;
  });
}

/** Normalizes a dim of `t` for `op`. */
export function dimOf(t: Tensor, op: string, dim: number): number {
  return normalizeDim(op, dim, t.ndim);
}

function makeView(t: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  t.checkAlive("view");
  return new Tensor(t.storage, shape, strides, offset);
}

/** A contiguous copy of `t`, or `t` itself when it already is contiguous. */
export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous()) return t;
  const out = empty(t.shape, t.dtype, t.device, "contiguous");
  backendOf(t, "contiguous").copy(t, out);
  return traced(record(out, "ContiguousBackward", [t], (g) => [g], []), "identity", [t]);
}

function inferShape(op: string, t: Tensor, shape: readonly number[]): number[] {
  const n = t.numel();
  let infer = -1;
  let known = 1;
  shape.forEach((s, i) => {
    if (s === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: invalid size ${s} in shape ${fmtShape(shape)}`);
    } else known *= s;
  });
  const out = shape.slice();
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new RangeError(
        `${op}: shape ${fmtShape(shape)} is invalid for input of size ${n} (shape ${fmtShape(t.shape)})`,
      );
    }
    out[infer] = n / known;
  } else if (known !== n) {
    throw new RangeError(
      `${op}: shape ${fmtShape(shape)} is invalid for input of size ${n} (shape ${fmtShape(t.shape)})`,
    );
  }
  return out;
}

/**
 * Strides for viewing (shape, strides) as `newShape` without copying, or null
 * when impossible (PyTorch's `computeStride`).
 */
function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) {
    // Remaining leading size-1 dims.
    while (viewD >= 0) {
      if (newShape[viewD] !== 1) return null;
      out[viewD] = 1;
      viewD--;
    }
  }
  return out;
}

function viewOp(op: string, t: Tensor, shape: readonly number[], copyIfNeeded: boolean): Tensor {
  const newShape = inferShape(op, t, shape);
  let strides = t.ndim === 0 ? contiguousStrides(newShape) : viewStrides(t.shape, t.strides, newShape);
  let src = t;
  if (strides === null) {
    if (!copyIfNeeded) {
      throw new RangeError(
        `view: shape ${fmtShape(shape)} is not compatible with the input's size and strides (shape ${
          fmtShape(t.shape)
        }, strides ${fmtShape(t.strides)}); use reshape() instead`,
      );
    }
    src = contiguous(t);
    strides = contiguousStrides(newShape);
  }
  const out = makeView(src, newShape, strides, src.offset);
  const inShape = t.shape;
  return traced(
    record(
      out,
      op === "view" ? "ViewBackward" : "ReshapeBackward",
      [src],
      (g) => [g.reshape(src === t ? inShape : src.shape)],
      [],
    ),
    "reshape",
    [t],
  );
}

/** `t` with a new shape; a view when the strides allow, a copy otherwise. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  return viewOp("reshape", t, shape, true);
}

/** `t` with a new shape, only as a view. */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  return viewOp("view", t, shape, false);
}

/** Reorders dimensions. */
export function permute(t: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== t.ndim) {
    throw new RangeError(
      `permute: expected ${t.ndim} dimensions for a tensor of shape ${fmtShape(t.shape)}, got [${dims.join(", ")}]`,
    );
  }
  const d = dims.map((x) => normalizeDim("permute", x, t.ndim));
  if (new Set(d).size !== d.length) throw new RangeError(`permute: dimensions [${dims.join(", ")}] repeat`);
  const out = makeView(t, d.map((i) => t.shape[i]), d.map((i) => t.strides[i]), t.offset);
  const inverse = new Array<number>(d.length);
  d.forEach((src, i) => (inverse[src] = i));
  return traced(record(out, "PermuteBackward", [t], (g) => [g.permute(inverse)], []), "permute", [t], { dims: d });
}

/** Swaps two dimensions. */
export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  const perm = Array.from({ length: t.ndim }, (_, i) => i);
  const a = normalizeDim("transpose", dim0, t.ndim), b = normalizeDim("transpose", dim1, t.ndim);
  if (t.ndim === 0) return t;
  perm[a] = b;
  perm[b] = a;
  return permute(t, perm);
}

/** Transpose of a tensor of rank ≤ 2. */
export function t(x: Tensor): Tensor {
  if (x.ndim > 2) {
    throw new RangeError(`t: expects a tensor of rank <= 2, got shape ${fmtShape(x.shape)}; use transpose(dim0, dim1)`);
  }
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

/** Broadcasts size-1 dims to `shape` (-1 keeps a size) as a view with stride 0. */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < t.ndim) {
    throw new RangeError(
      `expand: the target shape ${fmtShape(shape)} has fewer dimensions than the tensor's ${fmtShape(t.shape)}`,
    );
  }
  const lead = shape.length - t.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const src = i - lead;
    const have = src >= 0 ? t.shape[src] : 1;
    const want = shape[i] === -1 ? (src >= 0 ? have : -1) : shape[i];
    if (want < 0 || !Number.isInteger(want)) {
      throw new RangeError(`expand: invalid size ${shape[i]} at dimension ${i} of ${fmtShape(shape)}`);
    }
    if (have !== want && have !== 1) {
      throw new RangeError(
        `expand: the size ${have} of dimension ${src} of shape ${fmtShape(t.shape)} cannot be expanded to ${
          fmtShape(shape)
        }`,
      );
    }
    outShape.push(want);
    strides.push(src < 0 || (have === 1 && want !== 1) ? 0 : t.strides[src]);
  }
  if (shapesEqual(outShape, t.shape)) return t;
  const out = makeView(t, outShape, strides, t.offset);
  const inShape = t.shape;
  return traced(record(out, "ExpandBackward", [t], (g) => [sumToShape(g, inShape)], []), "expand", [t]);
}

/** Removes size-1 dims (all, or the given ones; others are left as they are, like PyTorch). */
export function squeeze(t: Tensor, dim?: number | readonly number[]): Tensor {
  let drop: Set<number>;
  if (dim === undefined) drop = new Set(t.shape.flatMap((s, i) => (s === 1 ? [i] : [])));
  else {
    const list = typeof dim === "number" ? [dim] : dim;
    drop = new Set(list.map((d) => normalizeDim("squeeze", d, t.ndim)).filter((d) => t.shape[d] === 1));
  }
  if (drop.size === 0) return t;
  const shape = t.shape.filter((_, i) => !drop.has(i));
  const strides = t.strides.filter((_, i) => !drop.has(i));
  const out = makeView(t, shape, strides, t.offset);
  const inShape = t.shape;
  return traced(record(out, "SqueezeBackward", [t], (g) => [g.reshape(inShape)], []), "squeeze", [t], {
    dims: [...drop].sort((a, b) => a - b),
  });
}

/** Inserts a size-1 dim at `dim` (-1 appends). */
export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normalizeDim("unsqueeze", dim, t.ndim + 1);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < t.ndim ? t.strides[d] * t.shape[d] : 1);
  const out = makeView(t, shape, strides, t.offset);
  return traced(record(out, "UnsqueezeBackward", [t], (g) => [g.squeeze(d)], []), "unsqueeze", [t], { dim: d });
}

/** Flattens dims `startDim..endDim`. */
export function flatten(t: Tensor, startDim: number, endDim: number): Tensor {
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normalizeDim("flatten", startDim, t.ndim), e = normalizeDim("flatten", endDim, t.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/** Python-style slice `start:end:step` along `dim`, as a view. */
export function slice(t: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const d = normalizeDim("slice", dim, t.ndim);
  const n = t.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start ?? 0);
  const e = Math.max(clampIdx(end ?? n), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...t.shape];
  shape[d] = len;
  const strides = [...t.strides];
  strides[d] = t.strides[d] * step;
  const out = makeView(t, shape, strides, t.offset + s * t.strides[d]);
  const inShape = t.shape;
  return traced(record(out, "SliceBackward", [t], (g) => [sliceBackward(g, inShape, d, s, step)], []), "slice", [t], {
    dim: d,
    start: s,
    end: e,
    step,
  });
}

/** The gradient of a slice: zeros of the input's shape with `g` written into the sliced region. */
export function sliceBackward(g: Tensor, inShape: Shape, dim: number, start: number, step: number): Tensor {
  const out = empty(inShape, g.dtype, g.device);
  const strides = contiguousStrides(inShape);
  const dstStrides = [...strides];
  dstStrides[dim] *= step;
  backendOf(g, "sliceBackward").copy(g, {
    storage: out.storage,
    shape: g.shape,
    strides: dstStrides,
    offset: start * strides[dim],
  });
  return record(
    out,
    "SliceBackwardBackward",
    [g],
    (gg) => [slice(gg, dim, start, start + g.shape[dim] * step, step)],
    [],
  );
}

/** `length` elements from `start` along `dim`, as a view. */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim("narrow", dim, t.ndim);
  const n = t.shape[d];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new RangeError(
      `narrow: start ${start} with length ${length} is out of range for dimension ${dim} of size ${n} (shape ${
        fmtShape(t.shape)
      })`,
    );
  }
  return slice(t, d, s, s + length);
}

/** `t[..., index, ...]` along `dim`, removing that dim. */
export function select(t: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim("select", dim, t.ndim);
  const n = t.shape[d];
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(
      `select: index ${index} is out of range for dimension ${dim} of size ${n} (shape ${fmtShape(t.shape)})`,
    );
  }
  return squeeze(slice(t, d, i, i + 1), d);
}

/** Shape, strides and offset of the `offset`-th diagonal of dims `a` and `b` (moved to the end), or its length 0. */
function diagonalGeometry(
  shape: Shape,
  strides: readonly number[],
  start: number,
  offset: number,
  a: number,
  b: number,
): { shape: number[]; strides: number[]; offset: number } {
  const n = Math.max(0, offset >= 0 ? Math.min(shape[a], shape[b] - offset) : Math.min(shape[a] + offset, shape[b]));
  const keep = shape.map((_, i) => i).filter((i) => i !== a && i !== b);
  return {
    shape: [...keep.map((i) => shape[i]), n],
    strides: [...keep.map((i) => strides[i]), strides[a] + strides[b]],
    offset: start + (n === 0 ? 0 : offset >= 0 ? offset * strides[b] : -offset * strides[a]),
  };
}

/**
 * `torch.diagonal`: the `offset`-th diagonal of dims `dim1` and `dim2` (above the main one for a positive offset),
 * as a view with those dims removed and the diagonal appended as the last dim.
 */
export function diagonal(t: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  const a = normalizeDim("diagonal", dim1, t.ndim), b = normalizeDim("diagonal", dim2, t.ndim);
  if (a === b) throw new RangeError(`diagonal: dimensions cannot be identical, got ${dim1} and ${dim2}`);
  if (!Number.isInteger(offset)) throw new RangeError(`diagonal: offset must be an integer, got ${offset}`);
  const g = diagonalGeometry(t.shape, t.strides, t.offset, offset, a, b);
  const out = makeView(t, g.shape, g.strides, g.offset);
  const inShape = t.shape;
  return traced(
    record(out, "DiagonalBackward", [t], (grad) => [diagonalBackward(grad, inShape, offset, a, b)], []),
    "diagonal",
    [t],
    { offset, dim1: a, dim2: b },
  );
}

/** The gradient of a diagonal: zeros of the input's shape with `g` written along that diagonal. */
function diagonalBackward(g: Tensor, inShape: Shape, offset: number, a: number, b: number): Tensor {
  const out = empty(inShape, g.dtype, g.device);
  const dst = diagonalGeometry(inShape, contiguousStrides(inShape), 0, offset, a, b);
  backendOf(g, "diagonal").copy(g, { storage: out.storage, ...dst });
  return record(out, "DiagonalBackwardBackward", [g], (gg) => [diagonal(gg, offset, a, b)], []);
}
