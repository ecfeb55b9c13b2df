/**
 * Aggregation over groups of rows, PyTorch Geometric's `scatter`: row `e` of
 * `src` goes to group `index[e]` and each group's rows are summed, averaged or
 * maxed. Message passing aggregates each node's incoming messages this way,
 * and pooling each graph's nodes.
 *
 * @module
 */

import { fmtShape, getBackend, type Tensor } from "./deps.ts";
import { aggregateAt } from "./message_passing.ts";

/** How rows of a group combine. */
export type Aggregation = "sum" | "add" | "mean" | "max" | "min";

/**
 * Groups the rows of `src` `[E, ...]` by int32 `index` `[E]` into
 * `[dimSize, ...]`: the sum ("sum" or "add"), mean, or elementwise max or min
 * of each group's rows; a group without rows is zero (as in PyG). Gradients
 * flow to `src` (for max and min, to the rows that attain it, shared when tied).
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { scatter } from "./scatter.ts";
 * const src = tensor([[1, 2], [3, 4], [5, 6]]);
 * const out = scatter(src, tensor([0, 2, 0], { dtype: "int32" }), 3, "mean");
 * console.log(await out.tolist()); // [[3, 4], [0, 0], [3, 4]]
 * ```
 */
export function scatter(src: Tensor, index: Tensor, dimSize: number, reduce: Aggregation = "sum"): Tensor {
  const op = "scatter";
  if (!["sum", "add", "mean", "max", "min"].includes(reduce)) {
    throw new RangeError(`${op}: reduce must be "sum", "add", "mean", "max" or "min", got "${reduce}"`);
  }
  checkGroups(op, src, index, dimSize);
  return aggregateAt(src, index, dimSize, reduce);
}

/**
 * Throws an error naming `op` unless `index` is int32 `[E]` with one entry per
 * row of `src`, on `src`'s device, and every entry lies in `[0, dimSize)`
 * (checked where the device reads synchronously).
 */
export function checkGroups(op: string, src: Tensor, index: Tensor, dimSize: number): void {
  if (index.dtype !== "int32") throw new TypeError(`${op}: index must be int32, got ${index.dtype}`);
  if (src.ndim < 1 || index.ndim !== 1 || index.shape[0] !== src.shape[0]) {
    throw new RangeError(
      `${op}: index ${fmtShape(index.shape)} must hold one group per row of src ${fmtShape(src.shape)}`,
    );
  }
  if (index.device !== src.device) {
    throw new Error(`${op}: index is on "${index.device}" but src on "${src.device}"`);
  }
  if (!Number.isInteger(dimSize) || dimSize < 0) {
    throw new RangeError(`${op}: the number of groups must be an integer >= 0, got ${dimSize}`);
  }
  if (!getBackend(index.device).readSync) return;
  const ids = index.dataSync();
  for (let k = 0; k < ids.length; k++) {
    if (ids[k] < 0 || ids[k] >= dimSize) {
      throw new RangeError(`${op}: index[${k}] = ${ids[k]} is out of range for ${dimSize} groups`);
    }
  }
}

/**
 * Softmax of `src` `[E]` or `[E, H]` over the entries of each group of int32
 * `index` `[E]` (PyG's `utils.softmax`): `exp(src_e − max) / Σ exp(src_k − max)`
 * over the `k` sharing `e`'s group. GAT normalises its attention scores over
 * each node's incoming edges with it.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { segmentSoftmax } from "./scatter.ts";
 * const a = segmentSoftmax(tensor([1, 1, 5]), tensor([0, 0, 1], { dtype: "int32" }), 2);
 * console.log(await a.tolist()); // [0.5, 0.5, 1]
 * ```
 */
export function segmentSoftmax(src: Tensor, index: Tensor, numGroups: number): Tensor {
  checkGroups("segmentSoftmax", src, index, numGroups);
  // The shift only keeps exp in range (softmax does not depend on it), so it carries no gradient, as in PyG.
  const max = aggregateAt(src.detach(), index, numGroups, "max");
  const e = src.sub(max.indexSelect(0, index)).exp();
  return e.div(aggregateAt(e, index, numGroups, "sum").indexSelect(0, index).add(1e-16));
}
