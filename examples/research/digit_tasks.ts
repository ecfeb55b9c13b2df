/**
 * What the few-shot, continual, multi-task, active-learning and domain-adaptation examples share: the digits of some
 * classes as tensors, random batches drawn by index, accuracy of a classifier in batches, and a mean with its 95%
 * confidence interval.
 *
 * @module
 */

import { type data, type Generator, noGrad, type Tensor, tensor } from "../../mod.ts";

/** Images `[N, 1, 28, 28]` (or flattened), labels `[N]` (int32) and the labels as numbers, on one device. */
export interface Digits {
  /** The images. */
  x: Tensor;
  /** The labels. */
  y: Tensor;
  /** The labels on the host, in the same order. */
  labels: Int32Array;
}

/** Positions of the samples whose label is in `classes`, in their order in the split. */
export function indicesOf(labels: ArrayLike<number>, classes: readonly number[]): number[] {
  const wanted = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (wanted.has(labels[i])) out.push(i);
  return out;
}

/** Rows `index` of `t` (an int32 index built on the host, moved to `t`'s device). */
export function rows(t: Tensor, index: readonly number[]): Tensor {
  return t.indexSelect(0, tensor(index as number[], { dtype: "int32" }).to(t.device));
}

/**
 * The samples of `split` whose digit is in `classes` (all when omitted), the first `limit` of them at most (the split
 * interleaves classes, so a prefix stays nearly balanced), on `device`; `flat` gives images as `[N, 784]` rows.
 */
export function digitsOf(
  split: data.MnistSplit,
  options: { classes?: readonly number[]; limit?: number; device?: string; flat?: boolean } = {},
): Digits {
  let index = options.classes ? indicesOf(split.labelArray, options.classes) : [...split.labelArray.keys()];
  if (options.limit !== undefined) index = index.slice(0, options.limit);
  const labels = Int32Array.from(index, (i) => split.labelArray[i]);
  let x = rows(split.images, index);
  if (options.flat) x = x.reshape([index.length, 784]);
  const device = options.device ?? "cpu";
  return { x: x.to(device), y: tensor(labels).to(device), labels };
}

/** `size` positions in `0..n` drawn with replacement. */
export function drawIndices(n: number, size: number, gen: Generator): number[] {
  return Array.from({ length: size }, () => gen.randint(0, n));
}

/** The fraction of rows of `logits` whose largest entry is at `y`, computed in batches of `batchSize` without a graph. */
export async function accuracyOf(
  forward: (x: Tensor) => Tensor,
  x: Tensor,
  y: Tensor,
  batchSize = 500,
): Promise<number> {
  let correct = 0;
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    const n = Math.min(batchSize, x.shape[0] - i);
    correct += await noGrad(() => forward(x.narrow(0, i, n)).argmax(1).eq(y.narrow(0, i, n)).sum()).item();
  }
  return correct / x.shape[0];
}

/** The mean of `values` and the half-width of its normal-approximation 95% confidence interval (1.96·s/√n). */
export function meanCi95(values: readonly number[]): { mean: number; ci95: number } {
  const n = values.length;
  if (n < 2) throw new RangeError(`meanCi95: need at least two values, got ${n}`);
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, ci95: 1.96 * Math.sqrt(variance / n) };
}
