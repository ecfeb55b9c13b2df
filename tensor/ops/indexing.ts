/**
 * Indexing by tensors: gather, scatterAdd, indexSelect, oneHot, tril/triu.
 *
 * @module
 */

import { getBackend } from "../backend.ts";
import { fmtShape, normalizeDim, shapesEqual } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { arange } from "./creation.ts";
import { where } from "./binary.ts";

function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== "int32") {
    throw new TypeError(`${op}: index must be an int32 tensor, got dtype ${index.dtype} (convert with .int())`);
  }
}

/** `out[i][j] = x[i][index[i][j]]` along `dim` (out has the index's shape). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  commonDevice("gather", x, index);
  checkIndex("gather", index);
  const d = normalizeDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i])) {
    throw new RangeError(
      `gather: index of shape ${fmtShape(index.shape)} does not fit input of shape ${
        fmtShape(x.shape)
      } (same rank, and no larger except in dimension ${dim})`,
    );
  }
  const out = empty(index.shape, x.dtype, x.device);
  backendOf(x, "gather").gather(x, d, index, out.storage);
  const inShape = x.shape;
  return record(out, "GatherBackward", [x], (g) => [empty(inShape, g.dtype, g.device).scatterAdd(d, index, g)]);
}

/** A copy of `x` with `src[i][j]` added at `index[i][j]` along `dim`. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  commonDevice("scatterAdd", x, index, src);
  checkIndex("scatterAdd", index);
  const d = normalizeDim("scatterAdd", dim, x.ndim);
  if (
    index.ndim !== x.ndim || src.ndim !== x.ndim ||
    index.shape.some((s, i) => s > src.shape[i] || (i !== d && s > x.shape[i]))
  ) {
    throw new RangeError(
      `scatterAdd: index ${fmtShape(index.shape)} must not be larger than src ${fmtShape(src.shape)}, nor than input ${
        fmtShape(x.shape)
      } outside dimension ${dim}`,
    );
  }
  const out = empty(x.shape, x.dtype, x.device);
  const backend = backendOf(x, "scatterAdd");
  backend.copy(x, out);
  const srcView = { storage: src.storage, shape: index.shape, strides: src.strides, offset: src.offset };
  backend.scatterAdd(out.storage, out.shape, d, index, src.dtype === x.dtype ? srcView : src.to(x.dtype));
  return record(
    out,
    "ScatterAddBackward",
    [x, src],
    (g) => [g, src.requiresGrad ? padTo(g.gather(d, index), src.shape) : null],
  );
}

/** Zeros of `shape` with `g` in its leading corner (the gradient of a src larger than its index). */
function padTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const out = empty(shape, g.dtype, g.device);
  backendOf(g, "scatterAdd").copy(g, { storage: out.storage, shape: g.shape, strides: out.strides, offset: 0 });
  return out;
}

/** Slices of `x` along `dim` picked by a 1-D int32 `index` (a gather with a broadcast index). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex("indexSelect", index);
  if (index.ndim > 1) throw new RangeError(`indexSelect: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const d = normalizeDim("indexSelect", dim, x.ndim);
  const idx = index.reshape([-1]);
  const outShape = [...x.shape];
  outShape[d] = idx.shape[0];
  const viewShape = x.shape.map((_, i) => (i === d ? idx.shape[0] : 1));
  return gather(x, d, idx.reshape(viewShape).expand(outShape));
}

/** One-hot encoding of int32 class indices: a new last dim of `numClasses` (int32, like PyTorch's int64). */
export function oneHot(index: Tensor, numClasses = -1): Tensor {
  checkIndex("oneHot", index);
  const values = getBackend(index.device).readSync ? index.dataSync() : null;
  let max = -1;
  if (values) {
    for (const v of values) {
      if (v < 0) throw new RangeError(`oneHot: class values must be non-negative, got ${v}`);
      if (v > max) max = v;
    }
  }
  const n = numClasses === -1 ? max + 1 : numClasses;
  if (values && max >= n) throw new RangeError(`oneHot: class value ${max} is out of range for numClasses ${n}`);
  return index.unsqueeze(-1).eq(arange(0, n, 1, { device: index.device, dtype: "int32" })).int();
}

function triangle(x: Tensor, diagonal: number, lower: boolean): Tensor {
  const op = lower ? "tril" : "triu";
  if (x.ndim < 2) throw new RangeError(`${op}: input must have at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  const rows = x.shape[x.ndim - 2], cols = x.shape[x.ndim - 1];
  const r = arange(0, rows, 1, { device: x.device, dtype: "int32" }).unsqueeze(1);
  const c = arange(0, cols, 1, { device: x.device, dtype: "int32" }).unsqueeze(0);
  const offset = c.sub(r);
  const keep = lower ? offset.le(diagonal) : offset.ge(diagonal);
  return where(keep, x, 0);
}

/** Lower triangle of the last two dims. */
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, true);
/** Upper triangle of the last two dims. */
export const triu = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, false);
