/**
 * Indexing by tensors: gather, indexSelect, oneHot, tril/triu (the scatter family is in `scatter.ts`).
 *
 * @module
 */

import { getBackend } from "../backend.ts";
import { fmtShape, normalizeDim } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { arange } from "./creation.ts";
import { where } from "./binary.ts";
import { asOp, checkIndexDType, scatterAdd } from "./scatter.ts";
import { traced } from "../trace.ts";

/** `out[i][j] = x[i][index[i][j]]` along `dim` (out has the index's shape). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  commonDevice("gather", x, index);
  checkIndexDType("gather", index);
  const d = normalizeDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i])) {
    throw new RangeError(
      `gather: index of shape ${fmtShape(index.shape)} does not fit input of shape ${
        fmtShape(x.shape)
      } (same rank, and no larger except in dimension ${dim})`,
    );
  }
  const out = empty(index.shape, x.dtype, x.device, "gather");
  backendOf(x, "gather").gather(x, d, index, out.storage);
  const inShape = x.shape;
  return traced(
    record(
      out,
      "GatherBackward",
      [x],
      (g) => [scatterAdd(empty(inShape, g.dtype, g.device), d, index, g)],
      [index],
    ),
    "gather",
    [x, index],
    { dim: d },
  );
}

/** Slices of `x` along `dim` picked by a 1-D int32 `index` (a gather with a broadcast index). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexDType("indexSelect", index);
  if (index.ndim > 1) throw new RangeError(`indexSelect: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const d = normalizeDim("indexSelect", dim, x.ndim);
  const idx = index.reshape([-1]);
  const outShape = [...x.shape];
  outShape[d] = idx.shape[0];
  const viewShape = x.shape.map((_, i) => (i === d ? idx.shape[0] : 1));
  const y = asOp("indexSelect", () => gather(x, d, idx.reshape(viewShape).expand(outShape)));
  return traced(y, "indexSelect", [x, index], { dim: d });
}

/** One-hot encoding of int32 class indices: a new last dim of `numClasses` (int32, like PyTorch's int64). */
export function oneHot(index: Tensor, numClasses = -1): Tensor {
  checkIndexDType("oneHot", index);
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
  return traced(where(keep, x, 0), op, [x], { diagonal });
}

/** Lower triangle of the last two dims. */
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, true);
/** Upper triangle of the last two dims. */
export const triu = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, false);
