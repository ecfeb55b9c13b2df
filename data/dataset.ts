/**
 * Datasets: anything with a `length` and a `get(index)`, like PyTorch's
 * map-style `Dataset`, plus the usual combinators.
 *
 * @module
 */

import { defaultGenerator, type Generator, type Tensor } from "@dendrite/tensor";
import { specOf, type WorkerSendable, type WorkerSpec } from "./spec.ts";

/**
 * A map-style data set: `length` samples, each read by `get(i)` (sync or async).
 *
 * @example
 * ```ts
 * import type { Dataset } from "./mod.ts";
 * const squares: Dataset<number> = { length: 10, get: (i) => i * i };
 * ```
 */
export interface Dataset<T> {
  /** The number of samples. */
  readonly length: number;
  /** Sample `index` (0 ≤ index < length). */
  get(index: number): T | Promise<T>;
}

/** Throws a RangeError unless `index` is an integer in [0, length). */
export function checkIndex(what: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${what}: index ${index} is out of range for a dataset of length ${length}`);
  }
}

/**
 * Wraps tensors that share their first dimension: sample `i` is
 * `[t0[i], t1[i], …]` (views, no copies), like `torch.utils.data.TensorDataset`.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { TensorDataset } from "./mod.ts";
 * const ds = new TensorDataset(tensor([[1, 2], [3, 4]]), tensor([0, 1], { dtype: "int32" }));
 * const [x, y] = ds.get(1); // x = [3, 4], y = 1
 * ```
 */
export class TensorDataset implements Dataset<Tensor[]> {
  /** The wrapped tensors. */
  readonly tensors: readonly Tensor[];
  /** The shared first dimension. */
  readonly length: number;

  /** Wraps `tensors`; they must all have the same first dimension. */
  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new RangeError("TensorDataset: at least one tensor is required");
    for (const [k, t] of tensors.entries()) {
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensor ${k} is a scalar; every tensor needs a first dim`);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new RangeError(
          `TensorDataset: size mismatch: tensor 0 has shape [${
            tensors[0].shape
          }] but tensor ${k} has shape [${t.shape}]`,
        );
      }
    }
    this.tensors = tensors;
    this.length = tensors[0].shape[0];
  }

  /** `[t0[index], t1[index], …]`. */
  get(index: number): Tensor[] {
    checkIndex("TensorDataset.get", index, this.length);
    return this.tensors.map((t) => t.select(0, index));
  }
}

/**
 * The samples of `dataset` at `indices`, in that order (like `torch.utils.data.Subset`).
 *
 * @example
 * ```ts
 * import { Subset } from "./mod.ts";
 * const evens = new Subset({ length: 10, get: (i: number) => i }, [0, 2, 4]);
 * ```
 */
export class Subset<T> implements Dataset<T>, WorkerSendable {
  /** The wrapped dataset. */
  readonly dataset: Dataset<T>;
  /** Which of its samples, in order. */
  readonly indices: readonly number[];

  /** A view of `dataset` at `indices` (each checked against the dataset's length). */
  constructor(dataset: Dataset<T>, indices: readonly number[]) {
    for (const i of indices) checkIndex("Subset", i, dataset.length);
    this.dataset = dataset;
    this.indices = indices.slice();
  }

  /** The number of indices. */
  get length(): number {
    return this.indices.length;
  }

  /** Sample `indices[index]` of the wrapped dataset. */
  get(index: number): T | Promise<T> {
    checkIndex("Subset.get", index, this.indices.length);
    return this.dataset.get(this.indices[index]);
  }

  /** A spec rebuilding this subset in a worker (if the wrapped dataset can be rebuilt). */
  toWorkerSpec(): WorkerSpec {
    return {
      $module: import.meta.url,
      $export: "Subset",
      $args: [specOf(this.dataset, "Subset's dataset"), this.indices],
    };
  }
}

/**
 * Several datasets one after another (like `torch.utils.data.ConcatDataset`).
 *
 * @example
 * ```ts
 * import { ConcatDataset } from "./mod.ts";
 * const a = { length: 2, get: (i: number) => `a${i}` };
 * const b = { length: 3, get: (i: number) => `b${i}` };
 * const both = new ConcatDataset([a, b]); // length 5; both.get(2) === "b0"
 * ```
 */
export class ConcatDataset<T> implements Dataset<T>, WorkerSendable {
  /** The parts. */
  readonly datasets: readonly Dataset<T>[];
  /** Running totals: `cumulativeSizes[k]` is the length of parts 0..k. */
  readonly cumulativeSizes: readonly number[];

  /** Concatenates `datasets` (at least one). */
  constructor(datasets: readonly Dataset<T>[]) {
    if (datasets.length === 0) throw new RangeError("ConcatDataset: at least one dataset is required");
    this.datasets = datasets.slice();
    let total = 0;
    this.cumulativeSizes = datasets.map((d) => (total += d.length));
  }

  /** The total length. */
  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  /** Sample `index` of the concatenation. */
  get(index: number): T | Promise<T> {
    checkIndex("ConcatDataset.get", index, this.length);
    // Binary search for the first part whose running total exceeds index.
    let lo = 0, hi = this.cumulativeSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeSizes[mid] > index) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.cumulativeSizes[lo - 1];
    return this.datasets[lo].get(index - start);
  }

  /** A spec rebuilding this concatenation in a worker (if every part can be rebuilt). */
  toWorkerSpec(): WorkerSpec {
    return {
      $module: import.meta.url,
      $export: "ConcatDataset",
      $args: [this.datasets.map((d, k) => specOf(d, `ConcatDataset's dataset ${k}`))],
    };
  }
}

/**
 * Splits a dataset into non-overlapping random subsets (like
 * `torch.utils.data.random_split`). `lengths` are either counts that sum to
 * the dataset's length, or fractions that sum to 1: each gets
 * `floor(fraction * n)` and the remainder is handed out one by one from the
 * first subset on, as PyTorch does. The permutation comes from `generator`
 * (default: the global one, see `manualSeed`).
 *
 * @example
 * ```ts
 * import { Generator } from "@dendrite/tensor";
 * import { randomSplit } from "./mod.ts";
 * const ds = { length: 10, get: (i: number) => i };
 * const [train, val] = randomSplit(ds, [0.8, 0.2], new Generator(42)); // 8 and 2 samples
 * ```
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  generator: Generator = defaultGenerator,
): Subset<T>[] {
  const n = dataset.length;
  let counts: number[];
  const sum = lengths.reduce((a, b) => a + b, 0);
  if (lengths.some((l) => !(l >= 0) || !Number.isFinite(l))) {
    throw new RangeError(`randomSplit: lengths must be non-negative numbers, got [${lengths}]`);
  }
  if (Math.abs(sum - 1) < 1e-9 && lengths.every((l) => l <= 1)) {
    counts = lengths.map((f) => Math.floor(n * f));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]++;
  } else {
    if (!lengths.every(Number.isInteger)) {
      throw new RangeError(`randomSplit: lengths must be integers or fractions summing to 1, got [${lengths}]`);
    }
    counts = lengths.slice();
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== n) {
    throw new RangeError(`randomSplit: lengths [${lengths}] sum to ${total}, but the dataset has ${n} samples`);
  }
  const perm = generator.randperm(n);
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.slice(offset, offset + c)));
    offset += c;
  }
  return out;
}
