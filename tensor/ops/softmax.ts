/**
 * Softmax and log-softmax along a dim, from one fused kernel per row.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { normalizeDim } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, empty, record } from "./core.ts";
import { traced } from "../trace.ts";

function fused(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  const d = normalizeDim(op, dim, x.ndim);
  const src = isFloating(x.dtype) ? x : x.to("float32");
  if (src.ndim === 0) return fused(src.reshape([1]), 0, log).reshape([]);
  // Move `dim` last and make rows contiguous; the kernel works on [rows, cols].
  const moved = d === src.ndim - 1 ? src : src.transpose(d, -1);
  const rows = moved.contiguous();
  const cols = rows.shape[rows.ndim - 1];
  const out2d = empty(rows.shape, src.dtype, src.device, op);
  backendOf(src, op).softmax(
    { storage: rows.storage, shape: [rows.numel() / Math.max(cols, 1), cols], strides: [cols, 1], offset: rows.offset },
    out2d.storage,
    log,
  );
  const out = d === src.ndim - 1 ? out2d : out2d.transpose(d, -1);
  return traced(
    record(out, log ? "LogSoftmaxBackward" : "SoftmaxBackward", [src], (g) => {
      if (log) return [g.sub(out.exp().mul(g.sum(d, { keepdim: true })))];
      return [out.mul(g.sub(g.mul(out).sum(d, { keepdim: true })))];
    }, [out]),
    op,
    [src],
    { dim: d },
  );
}

/** Softmax along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return fused(x, dim, false);
}

/** Log-softmax along `dim`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return fused(x, dim, true);
}
