/**
 * Matrix products with PyTorch's rules: 1-D operands gain and lose a dim,
 * batch dims broadcast. The derivative of `C = A·B` is `dA = dC·Bᵀ`,
 * `dB = Aᵀ·dC`, summed over broadcast batch dims.
 *
 * @module
 */

import { broadcastShapes, broadcastStrides, fmtShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record, sumToShape } from "./core.ts";
import { promoteTypes } from "../dtype.ts";

/** Batched product of operands of rank ≥ 2, broadcasting batch dims. */
function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  const m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1];
  const k2 = b.shape[b.ndim - 2], n = b.shape[b.ndim - 1];
  if (k !== k2) {
    throw new RangeError(
      `matmul: shapes ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      } cannot be multiplied (${k} vs ${k2} inner dimensions)`,
    );
  }
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const aShape = [...batch, m, k], bShape = [...batch, k, n];
  const out = empty([...batch, m, n], a.dtype, a.device);
  backendOf(a, "matmul").matmul(
    { storage: a.storage, shape: aShape, strides: broadcastStrides(a.shape, a.strides, aShape), offset: a.offset },
    { storage: b.storage, shape: bShape, strides: broadcastStrides(b.shape, b.strides, bShape), offset: b.offset },
    out.storage,
  );
  return record(out, "MatmulBackward", [a, b], (g) => [
    a.requiresGrad ? sumToShape(productLike(a, g, b.transpose(-1, -2)), a.shape) : null,
    b.requiresGrad ? sumToShape(productLike(b, a.transpose(-1, -2), g), b.shape) : null,
  ]);
}

/** Whether a 2-D tensor is the transpose of a contiguous one (`weight.t()` in a Linear layer). */
function isTransposedContiguous(t: Tensor): boolean {
  return t.ndim === 2 && t.strides[0] === 1 && t.strides[1] === t.shape[0] && t.shape[0] > 1 && t.shape[1] > 1;
}

/**
 * `x·y`, laid out like `like`: when `like` is a transposed contiguous matrix
 * (a Linear layer's `weight.t()`), computed as `(yᵀ·xᵀ)ᵀ`, so the gradient
 * that reaches the weight through the transpose is contiguous — an optimizer
 * then updates it in one pass instead of first copying a strided gradient.
 */
function productLike(like: Tensor, x: Tensor, y: Tensor): Tensor {
  if (isTransposedContiguous(like) && x.ndim === 2 && y.ndim === 2) {
    return y.transpose(0, 1).matmul(x.transpose(0, 1)).transpose(0, 1);
  }
  return x.matmul(y);
}

/** `torch.matmul`: dot, matrix-vector, matrix-matrix or batched product. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  commonDevice("matmul", a, b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: both arguments need at least 1 dimension, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  if (a.dtype === "bool" || b.dtype === "bool") {
    throw new TypeError("matmul: bool tensors cannot be multiplied; convert with .float()");
  }
  const dtype = promoteTypes(a.dtype, b.dtype);
  const ca = a.dtype === dtype ? a : a.to(dtype), cb = b.dtype === dtype ? b : b.to(dtype);
  if (ca.ndim === 1 && cb.ndim === 1) {
    if (ca.shape[0] !== cb.shape[0]) {
      throw new RangeError(`matmul: 1-D shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ in size`);
    }
    return batchedMatmul(ca.unsqueeze(0), cb.unsqueeze(1)).reshape([]);
  }
  if (ca.ndim === 1) return batchedMatmul(ca.unsqueeze(0), cb).squeeze(-2);
  if (cb.ndim === 1) return batchedMatmul(ca, cb.unsqueeze(1)).squeeze(-1);
  if (cb.ndim === 2 && ca.ndim > 2 && ca.isContiguous()) {
    // Fold the batch into rows: one large GEMM instead of many small ones.
    const rows = ca.reshape([-1, ca.shape[ca.ndim - 1]]);
    return batchedMatmul(rows, cb).reshape([...ca.shape.slice(0, -1), cb.shape[1]]);
  }
  return batchedMatmul(ca, cb);
}

/** 2-D matrix product (both operands must be matrices). */
export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new RangeError(`mm: expects two matrices, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return matmul(a, b);
}
