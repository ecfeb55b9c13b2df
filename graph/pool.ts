/**
 * Global pooling over each graph of a mini-batch (PyTorch Geometric's
 * `global_add_pool`, `global_mean_pool` and `global_max_pool`): node features `[N, F]` and the
 * `batch` vector `[N]` naming each node's graph give one row per graph.
 *
 * @module
 */

import { getBackend, type Tensor } from "./deps.ts";
import { checkGroups } from "./scatter.ts";
import { aggregateAt } from "./message_passing.ts";

function pool(
  op: string,
  x: Tensor,
  batch: Tensor | null,
  size: number | undefined,
  aggr: "add" | "mean" | "max",
): Tensor {
  if (x.ndim !== 2) throw new RangeError(`${op}: x must be [numNodes, features], got [${x.shape}]`);
  if (batch === null) {
    return aggr === "add" ? x.sum(0, { keepdim: true }) : aggr === "mean" ? x.mean(0, { keepdim: true }) : x.amax(0, {
      keepdim: true,
    });
  }
  const n = size ?? numGraphs(op, batch);
  checkGroups(op, x, batch, n);
  return aggregateAt(x, batch, n, aggr);
}

/** The number of graphs a `batch` vector names (its largest entry + 1), read on the host. */
function numGraphs(op: string, batch: Tensor): number {
  if (!getBackend(batch.device).readSync) {
    throw new Error(
      `${op}: pass the number of graphs (size) on device "${batch.device}"; it cannot be read from batch`,
    );
  }
  let max = -1;
  for (const b of batch.dataSync()) if (b > max) max = b;
  return max + 1;
}

/**
 * The sum of each graph's node features, `[numGraphs, F]`: `batch[i]` is node
 * i's graph; `size` is the number of graphs (default: the largest entry of
 * `batch` + 1). Without `batch`, all nodes form one graph.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { globalAddPool } from "./pool.ts";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * console.log(await globalAddPool(x, tensor([0, 0, 1], { dtype: "int32" })).tolist()); // [[4, 6], [5, 6]]
 * ```
 */
export function globalAddPool(x: Tensor, batch: Tensor | null = null, size?: number): Tensor {
  return pool("globalAddPool", x, batch, size, "add");
}

/** The mean of each graph's node features, `[numGraphs, F]` (see {@link globalAddPool}). */
export function globalMeanPool(x: Tensor, batch: Tensor | null = null, size?: number): Tensor {
  return pool("globalMeanPool", x, batch, size, "mean");
}

/** The elementwise max of each graph's node features, `[numGraphs, F]` (see {@link globalAddPool}). */
export function globalMaxPool(x: Tensor, batch: Tensor | null = null, size?: number): Tensor {
  return pool("globalMaxPool", x, batch, size, "max");
}
