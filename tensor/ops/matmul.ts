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
import { traced } from "../trace.ts";

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
  const out = empty([...batch, m, n], a.dtype, a.device, "matmul");
  backendOf(a, "matmul").matmul(
    { storage: a.storage, shape: aShape, strides: broadcastStrides(a.shape, a.strides, aShape), offset: a.offset },
    { storage: b.storage, shape: bShape, strides: broadcastStrides(b.shape, b.strides, bShape), offset: b.offset },
    out.storage,
  );
  return record(out, "MatmulBackward", [a, b], (g) => [
    a.requiresGrad ? sumToShape(productLike(a, g, b.transpose(-1, -2)), a.shape) : null,
    b.requiresGrad ? sumToShape(productLike(b, a.transpose(-1, -2), g), b.shape) : null,
  ], [b.requiresGrad ? a : null, a.requiresGrad ? b : null]);
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
  return traced(product(a, b), "matmul", [a, b]);
}

function product(a: Tensor, b: Tensor): Tensor {
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

/** Options of {@link addmm}, {@link baddbmm} and {@link addbmm}: `beta·input + alpha·product`. */
export interface AddmmOptions {
  /** The input's factor (default 1; with 0 the input is ignored, NaN and all, as in PyTorch). */
  beta?: number;
  /** The product's factor (default 1). */
  alpha?: number;
}

function need3d(op: string, name: string, t: Tensor): void {
  if (t.ndim !== 3) throw new RangeError(`${op}: ${name} must be a 3-D tensor, got shape ${fmtShape(t.shape)}`);
}

/** `torch.bmm`: batched matrix product of `[b, n, m]` and `[b, m, p]` (no broadcasting, as in PyTorch). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  need3d("bmm", "batch1", a);
  need3d("bmm", "batch2", b);
  if (b.shape[0] !== a.shape[0] || b.shape[1] !== a.shape[2]) {
    throw new RangeError(
      `bmm: expected size for the first two dimensions of batch2 to be [${a.shape[0]}, ${a.shape[2]}] (from batch1 ${
        fmtShape(a.shape)
      }), got ${fmtShape(b.shape)}`,
    );
  }
  return matmul(a, b);
}

/** `beta·input + alpha·product`, with `input` broadcast to the product's shape (never the other way). */
function addScaled(op: string, input: Tensor, product: Tensor, options: AddmmOptions): Tensor {
  const beta = options.beta ?? 1, alpha = options.alpha ?? 1;
  const lead = product.ndim - input.ndim;
  if (lead < 0 || input.shape.some((s, i) => s !== 1 && s !== product.shape[lead + i])) {
    throw new RangeError(
      `${op}: input of shape ${fmtShape(input.shape)} cannot be broadcast to the product's shape ${
        fmtShape(product.shape)
      }`,
    );
  }
  const scaled = alpha === 1 ? product : product.mul(alpha);
  if (beta === 0) return scaled;
  return scaled.add(beta === 1 ? input : input.mul(beta));
}

/**
 * `torch.addmm`: `beta·input + alpha·(mat1 · mat2)` for matrices `[n, m]`, `[m, p]`; input broadcasts to `[n, p]`.
 *
 * @example
 * ```ts
 * import { addmm, randn } from "../../mod.ts";
 * const bias = randn([3]), x = randn([2, 4]), w = randn([4, 3]);
 * const y = addmm(bias, x, w, { alpha: 0.5 }); // bias + 0.5·(x·w), shape [2, 3]
 * ```
 */
export function addmm(input: Tensor, mat1: Tensor, mat2: Tensor, options: AddmmOptions = {}): Tensor {
  commonDevice("addmm", input, mat1, mat2);
  for (const [name, m] of [["mat1", mat1], ["mat2", mat2]] as const) {
    if (m.ndim !== 2) throw new RangeError(`addmm: ${name} must be a matrix, got shape ${fmtShape(m.shape)}`);
  }
  if (mat1.shape[1] !== mat2.shape[0]) {
    throw new RangeError(
      `addmm: mat1 and mat2 shapes cannot be multiplied (${mat1.shape.join("x")} and ${mat2.shape.join("x")})`,
    );
  }
  return addScaled("addmm", input, matmul(mat1, mat2), options);
}

/** `torch.baddbmm`: `beta·input + alpha·bmm(batch1, batch2)`; input broadcasts to `[b, n, p]`. */
export function baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, options: AddmmOptions = {}): Tensor {
  commonDevice("baddbmm", input, batch1, batch2);
  return addScaled("baddbmm", input, bmm(batch1, batch2), options);
}

/**
 * `torch.addbmm`: `beta·input + alpha·Σ_b batch1[b]·batch2[b]`; input broadcasts to `[n, p]`. The sum over the batch
 * is one product: the batch1 matrices side by side `[n, b·m]` times the batch2 matrices stacked `[b·m, p]`.
 */
export function addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, options: AddmmOptions = {}): Tensor {
  commonDevice("addbmm", input, batch1, batch2);
  need3d("addbmm", "batch1", batch1);
  need3d("addbmm", "batch2", batch2);
  if (batch2.shape[0] !== batch1.shape[0] || batch2.shape[1] !== batch1.shape[2]) {
    throw new RangeError(
      `addbmm: expected size for the first two dimensions of batch2 to be [${batch1.shape[0]}, ${
        batch1.shape[2]
      }] (from batch1 ${fmtShape(batch1.shape)}), got ${fmtShape(batch2.shape)}`,
    );
  }
  const [b, n, m] = batch1.shape, p = batch2.shape[2];
  const wide = batch1.permute([1, 0, 2]).reshape([n, b * m]);
  return addScaled("addbmm", input, matmul(wide, batch2.reshape([b * m, p])), options);
}
