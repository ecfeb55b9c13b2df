/**
 * `DataLoader`: batches a dataset, optionally shuffled with a seeded
 * generator, optionally loading on Deno Workers.
 *
 * @module
 */

import { defaultGenerator, type Generator, stack, Tensor, tensor, type TypedArray } from "@dendrite/tensor";
import type { Dataset } from "./dataset.ts";
import { NotSendableError, specOf } from "./spec.ts";
import type { EncodedError, EncodedTensor } from "./worker.ts";

/** What the default collate makes of a sample type: tensors/numbers/booleans stack, tuples and objects recurse. */
export type Collated<T> = T extends Tensor ? Tensor
  : T extends number | boolean | TypedArray ? Tensor
  : T extends string ? string[]
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: Collated<T[K]> }
  : T extends Record<string, unknown> ? { [K in keyof T]: Collated<T[K]> }
  : T[];

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Visit samples in a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Turns a list of samples into a batch (default {@link defaultCollate}). */
  collate?: (samples: T[]) => B;
  /** Draws the shuffle order and the workers' per-sample seeds (default: the global generator). */
  generator?: Generator;
  /**
   * Load on this many Deno Workers (default 0: on the main thread). The
   * dataset (and its transforms) must be rebuildable in a worker — see
   * `WorkerSendable`; if it is not, the loader warns once and loads on the
   * main thread.
   */
  numWorkers?: number;
  /** Batches each worker keeps in flight ahead of the consumer (default 2). */
  prefetch?: number;
}

/** An error raised while loading a batch on a worker; `path` names the file when one was involved. */
export class DataLoaderWorkerError extends Error {
  /** The file that failed, if known. */
  readonly path?: string;

  /** Creates the error from its encoded form. */
  constructor(e: EncodedError, worker: number) {
    super(`${e.message} (in DataLoader worker ${worker})`);
    this.name = e.name === "ImageReadError" ? "ImageReadError" : "DataLoaderWorkerError";
    this.path = e.path;
    if (e.stack) this.stack = `${this.name}: ${this.message}\n  [worker] ${e.stack}`;
  }
}

function isTypedArray(x: unknown): x is TypedArray {
  return x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array || x instanceof Uint8Array;
}

/**
 * Turns a list of samples into a batch, like PyTorch's `default_collate`:
 * tensors are stacked along a new first dim; numbers become an int32 tensor
 * (all integers) or a float32 one; booleans a bool tensor; typed arrays are
 * stacked as tensors; strings stay a string array; tuples/arrays and plain
 * objects are collated field by field. `null` samples (files skipped by
 * `ImageFolder`'s `onError: "skip"`) are dropped.
 */
export function defaultCollate<T>(samples: readonly (T | null | undefined)[]): Collated<T> {
  return collate(samples.filter((s) => s !== null && s !== undefined), "batch") as Collated<T>;
}

function collate(samples: readonly unknown[], where: string): unknown {
  if (samples.length === 0) throw new RangeError(`DataLoader collate: ${where} is empty`);
  const first = samples[0];
  if (first instanceof Tensor) {
    samples.forEach((s, i) => {
      if (!(s instanceof Tensor)) throw new TypeError(`DataLoader collate: ${where}[${i}] is not a tensor`);
      if (s.shape.length !== first.shape.length || s.shape.some((d, k) => d !== first.shape[k])) {
        throw new RangeError(
          `DataLoader collate: cannot stack ${where}: sample ${i} has shape [${s.shape}] but sample 0 has [${first.shape}]`,
        );
      }
    });
    return stack(samples as Tensor[], 0);
  }
  if (typeof first === "number") {
    const vals = samples as number[];
    return tensor(vals, { dtype: vals.every(Number.isInteger) ? "int32" : "float32" });
  }
  if (typeof first === "boolean") return tensor(samples as boolean[], { dtype: "bool" });
  if (typeof first === "string") return samples.slice();
  if (isTypedArray(first)) {
    const n = first.length;
    const out = new (first.constructor as new (n: number) => TypedArray)(n * samples.length);
    samples.forEach((s, i) => {
      if (!isTypedArray(s) || s.length !== n) {
        throw new RangeError(`DataLoader collate: ${where}[${i}] is not a typed array of length ${n}`);
      }
      out.set(s, i * n);
    });
    return tensor(out, { shape: [samples.length, n] });
  }
  if (Array.isArray(first)) {
    const len = first.length;
    samples.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== len) {
        throw new RangeError(`DataLoader collate: every sample must have ${len} fields; ${where}[${i}] does not`);
      }
    });
    return first.map((_, k) => collate(samples.map((s) => (s as unknown[])[k]), `${where} field ${k}`));
  }
  if (typeof first === "object" && first !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) {
      out[key] = collate(samples.map((s) => (s as Record<string, unknown>)[key]), `${where}.${key}`);
    }
    return out;
  }
  return samples.slice();
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    if ((value as EncodedTensor).$tensor === true) {
      const t = value as EncodedTensor;
      return tensor(t.data, { shape: t.shape, dtype: t.dtype as Tensor["dtype"] });
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeValue(v);
    return out;
  }
  return value;
}

let liveWorkers = 0;

/** How many DataLoader workers are running right now (all loaders together); for tests and debugging. */
export function activeWorkerCount(): number {
  return liveWorkers;
}

interface Pending {
  resolve: (items: unknown[]) => void;
  reject: (e: Error) => void;
}

/**
 * Iterates over a dataset in batches (like `torch.utils.data.DataLoader`).
 *
 * Each `for await` is one epoch: the order is `0..n-1`, or a fresh
 * permutation from `generator` when `shuffle` is set (so two loaders given
 * `new Generator(seed)` yield the same batches). With `numWorkers > 0`
 * samples are read, decoded and transformed on Deno Workers, up to
 * `numWorkers * prefetch` batches ahead, delivered in order; each sample is
 * loaded with the worker's global generator seeded from the epoch's base seed
 * and the sample's index, so random transforms are reproducible whatever the
 * number of workers. Errors come back with the file's path; the workers stop
 * when the loop ends, breaks or throws.
 *
 * @example
 * ```ts
 * import { Generator, randn, tensor } from "@dendrite/tensor";
 * import { DataLoader, TensorDataset } from "./mod.ts";
 * const ds = new TensorDataset(randn([10, 3]), tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], { dtype: "int32" }));
 * const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(0) });
 * for await (const [x, y] of loader) {
 *   console.log(x.shape, y.shape); // [4, 3] [4], [4, 3] [4], [2, 3] [2]
 * }
 * ```
 */
export class DataLoader<T, B = Collated<T>> implements AsyncIterable<B> {
  /** The dataset. */
  readonly dataset: Dataset<T>;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether a short last batch is dropped. */
  readonly dropLast: boolean;
  /** Requested worker count. */
  readonly numWorkers: number;
  /** Batches in flight per worker. */
  readonly prefetch: number;
  /** The generator used for order and seeds. */
  readonly generator: Generator;
  /** The collate function. */
  readonly collate: (samples: T[]) => B;
  #warned = false;

  /** A loader over `dataset`. */
  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    if (typeof dataset !== "object" || dataset === null || typeof dataset.get !== "function") {
      throw new TypeError("DataLoader: the dataset must have a length and a get(index) method");
    }
    if (!Number.isInteger(dataset.length) || dataset.length < 0) {
      throw new RangeError(`DataLoader: dataset length must be a non-negative integer, got ${dataset.length}`);
    }
    const { batchSize = 1, shuffle = false, dropLast = false, numWorkers = 0, prefetch = 2 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(numWorkers) || numWorkers < 0) {
      throw new RangeError(`DataLoader: numWorkers must be a non-negative integer, got ${numWorkers}`);
    }
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new RangeError(`DataLoader: prefetch must be a positive integer, got ${prefetch}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.numWorkers = numWorkers;
    this.prefetch = prefetch;
    this.generator = options.generator ?? defaultGenerator;
    this.collate = options.collate ?? (defaultCollate as unknown as (samples: T[]) => B);
  }

  /** The number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The batches of one epoch as lists of dataset indices (draws from the generator when shuffling). */
  #plan(): number[][] {
    const n = this.dataset.length;
    const order = this.shuffle ? this.generator.randperm(n) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let i = 0; i < n; i += this.batchSize) {
      const b = order.slice(i, i + this.batchSize);
      if (b.length < this.batchSize && this.dropLast) break;
      batches.push(b);
    }
    return batches;
  }

  #finish(items: unknown[]): B | undefined {
    const kept = items.filter((s) => s !== null && s !== undefined) as T[];
    if (kept.length === 0) return undefined; // every sample was skipped
    return this.collate(kept);
  }

  /** One epoch of batches. */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    // The base seed is drawn every epoch (as PyTorch does), so the shuffle order does not depend on numWorkers.
    const baseSeed = Math.floor(this.generator.random() * 2 ** 32);
    const batches = this.#plan();
    let spec: unknown;
    if (this.numWorkers > 0 && batches.length > 0) {
      try {
        spec = specOf(this.dataset, "the dataset");
      } catch (e) {
        if (!(e instanceof NotSendableError)) throw e;
        if (!this.#warned) {
          console.warn(`DataLoader: numWorkers=${this.numWorkers} ignored, loading on the main thread: ${e.message}`);
          this.#warned = true;
        }
      }
    }
    return spec === undefined ? this.#mainThread(batches) : this.#workers(batches, spec, baseSeed);
  }

  async *#mainThread(batches: number[][]): AsyncGenerator<B> {
    for (const indices of batches) {
      const items: unknown[] = [];
      // Sequential on purpose: random transforms then draw in sample order, reproducibly.
      for (const i of indices) items.push(await this.dataset.get(i));
      const batch = this.#finish(items);
      if (batch !== undefined) yield batch;
    }
  }

  async *#workers(batches: number[][], spec: unknown, baseSeed: number): AsyncGenerator<B> {
    const count = Math.min(this.numWorkers, batches.length);
    const workers: Worker[] = [];
    const pending = new Map<number, Pending>();
    const results: Promise<unknown[]>[] = [];
    let fatal: Error | undefined;
    const failAll = (err: Error) => {
      fatal ??= err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    try {
      for (let w = 0; w < count; w++) {
        const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
        worker.onmessage = (e: MessageEvent) => {
          const msg = e.data as
            | { type: "ready" }
            | { type: "init-error"; error: EncodedError }
            | { type: "batch"; id: number; items: unknown[] }
            | { type: "error"; id: number; error: EncodedError };
          if (msg.type === "ready") return;
          if (msg.type === "init-error") {
            failAll(
              new DataLoaderWorkerError(
                { ...msg.error, message: `cannot rebuild the dataset: ${msg.error.message}` },
                w,
              ),
            );
            return;
          }
          const p = pending.get(msg.id);
          if (!p) return;
          pending.delete(msg.id);
          if (msg.type === "batch") p.resolve(msg.items);
          else p.reject(new DataLoaderWorkerError(msg.error, w));
        };
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault(); // keep the main program alive; the error surfaces through the batch promises
          failAll(new Error(`DataLoader worker ${w} crashed: ${e.message}`));
        };
        workers.push(worker);
        liveWorkers++;
        worker.postMessage({ type: "init", spec });
      }
      const request = (b: number) => {
        const indices = batches[b];
        const p = new Promise<unknown[]>((resolve, reject) => {
          if (fatal) return reject(fatal);
          pending.set(b, { resolve, reject });
        });
        p.catch(() => {}); // handled when consumed; avoids an unhandled rejection if the loop stops first
        results[b] = p;
        const seeds = indices.map((i) => (baseSeed + i) >>> 0);
        workers[b % count].postMessage({ type: "batch", id: b, indices, seeds });
      };
      const ahead = count * this.prefetch;
      let next = 0;
      for (; next < Math.min(ahead, batches.length); next++) request(next);
      for (let b = 0; b < batches.length; b++) {
        const items = await results[b];
        delete results[b];
        if (next < batches.length) request(next++);
        const batch = this.#finish(items.map(decodeValue));
        if (batch !== undefined) yield batch;
      }
    } finally {
      for (const w of workers) {
        w.terminate();
        liveWorkers--;
      }
      failAll(new Error("DataLoader: the loop ended"));
    }
  }
}
