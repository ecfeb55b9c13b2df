/**
 * The `sparse` namespace (like `torch.sparse`): products of a sparse COO
 * matrix with a dense one.
 *
 * @module
 */

import { fmtShape } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import type { SparseTensor } from "./sparse.ts";
import { zeros } from "./ops/creation.ts";

/**
 * `sparse · dense` (like `torch.sparse.mm`): `sparse` is an `[n, m]` sparse
 * COO matrix (two sparse dimensions, scalar values; duplicates add up),
 * `dense` an `[m, k]` dense matrix; the result is dense `[n, k]`. Costs
 * O(nnz·k) plus writing the result. Gradients flow to `dense` and to the
 * sparse matrix's values (build it from values that require grad). A dense
 * first operand gives the ordinary product.
 *
 * @example
 * ```ts
 * import { sparse, sparseCooTensor, tensor } from "./mod.ts";
 * const a = sparseCooTensor([[0, 1, 1], [1, 0, 2]], [2, 3, 4], [2, 3]); // [[0, 2, 0], [3, 0, 4]]
 * const y = sparse.mm(a, tensor([[1, 0], [0, 1], [1, 1]]));
 * console.log(await y.tolist()); // [[0, 2], [7, 4]]
 * ```
 */
export function mm(sparse: Tensor, dense: Tensor): Tensor {
  const op = "sparse.mm";
  if (!(sparse instanceof Tensor) || !(dense instanceof Tensor)) throw new TypeError(`${op}: expected two tensors`);
  if (dense.isSparse) throw new TypeError(`${op}: the second operand must be dense (sparse · sparse is not supported)`);
  if (!sparse.isSparse) return sparse.mm(dense);
  const s = sparse as SparseTensor;
  if (s.ndim !== 2 || s.sparseDim() !== 2) {
    throw new RangeError(
      `${op}: expected a sparse matrix with 2 sparse dimensions and scalar values, got shape ${
        fmtShape(s.shape)
      } with ${s.sparseDim()} sparse dimension(s)`,
    );
  }
  if (dense.ndim !== 2 || dense.shape[0] !== s.shape[1]) {
    throw new RangeError(
      `${op}: shapes ${fmtShape(s.shape)} and ${fmtShape(dense.shape)} cannot be multiplied (${s.shape[1]} columns ` +
        `against ${dense.ndim === 2 ? dense.shape[0] : "a non-matrix"})`,
    );
  }
  if (s.device !== dense.device) {
    throw new Error(`${op}: expected both tensors on the same device, but found "${s.device}" and "${dense.device}"`);
  }
  if (s.dtype !== dense.dtype) {
    throw new TypeError(`${op}: expected one dtype, got ${s.dtype} (sparse) and ${dense.dtype} (dense)`);
  }
  const [n] = s.shape, k = dense.shape[1];
  const indices = s._indices(), values = s._values();
  const nnz = values.shape[0];
  // Each entry (i, j, v) adds v · dense[j] to row i: gather the rows, scale, scatter-add them (all recorded).
  const picked = dense.indexSelect(0, indices.select(0, 1));
  const contrib = picked.mul(values.unsqueeze(1));
  const target = indices.select(0, 0).unsqueeze(1).expand([nnz, k]);
  return zeros([n, k], { dtype: dense.dtype, device: dense.device }).scatterAdd(0, target, contrib);
}
