/**
 * Joining and splitting: cat, stack, split, chunk.
 *
 * @module
 */

import { promoteTypes } from "../dtype.ts";
import { fmtShape, normalizeDim, shapesEqual } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { backendOf, commonDevice, empty, record } from "./core.ts";
import { traced } from "../trace.ts";

/** Concatenates tensors along an existing `dim`. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("cat: expected a non-empty list of tensors");
  const device = commonDevice("cat", ...tensors);
  const ref = tensors[0];
  const d = normalizeDim("cat", dim, ref.ndim);
  for (const t of tensors) {
    if (t.ndim !== ref.ndim || t.shape.some((s, i) => i !== d && s !== ref.shape[i])) {
      throw new RangeError(
        `cat: shapes ${fmtShape(ref.shape)} and ${fmtShape(t.shape)} must match except in dimension ${dim}`,
      );
    }
  }
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const shape = [...ref.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d], 0);
  const out = empty(shape, dtype, device, "cat");
  const backend = backendOf(ref, "cat");
  let at = 0;
  for (const t of tensors) {
    backend.copy(t, { storage: out.storage, shape: t.shape, strides: out.strides, offset: at * out.strides[d] });
    at += t.shape[d];
  }
  const sizes = tensors.map((t) => t.shape[d]);
  return traced(
    record(out, "CatBackward", [...tensors], (g) => {
      let start = 0;
      return sizes.map((n, i) => {
        const piece = tensors[i].requiresGrad ? g.narrow(d, start, n) : null;
        start += n;
        return piece;
      });
    }, []),
    "cat",
    tensors,
    { dim: d },
  );
}

/** Stacks same-shaped tensors along a new `dim`. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: expected a non-empty list of tensors");
  const ref = tensors[0];
  for (const t of tensors) {
    if (!shapesEqual(t.shape, ref.shape)) {
      throw new RangeError(
        `stack: expects tensors of equal shape, got ${fmtShape(ref.shape)} and ${fmtShape(t.shape)}`,
      );
    }
  }
  const d = normalizeDim("stack", dim, ref.ndim + 1);
  const views = tensors.map((t) => t.unsqueeze(d));
  const out = cat(views, d);
  // Without a graph the views are done with: release their hold on the inputs' storage now (a DataLoader's collate
  // stacks every batch), so disposing an input frees its memory rather than waiting for the collector.
  if (!out.requiresGrad) { for (const v of views) v.dispose(); }
  return out;
}

/** Splits into pieces of `size` (last may be smaller) or of the listed sizes, as views. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim("split", dim, x.ndim);
  const n = x.shape[d];
  let list: number[];
  if (typeof sizes === "number") {
    if (!Number.isInteger(sizes) || sizes <= 0) {
      throw new RangeError(`split: split size must be a positive integer, got ${sizes}`);
    }
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
    if (list.length === 0) list.push(0);
  } else {
    list = [...sizes];
    const total = list.reduce((a, b) => a + b, 0);
    if (total !== n) {
      throw new RangeError(`split: sizes [${list.join(", ")}] sum to ${total}, but dimension ${dim} has size ${n}`);
    }
  }
  let start = 0;
  return list.map((len) => {
    const piece = x.narrow(d, start, len);
    start += len;
    return piece;
  });
}

/** Splits into `chunks` pieces of size ceil(n/chunks) (fewer when n is small), as views. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) {
    throw new RangeError(`chunk: chunks must be a positive integer, got ${chunks}`);
  }
  const d = normalizeDim("chunk", dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}
