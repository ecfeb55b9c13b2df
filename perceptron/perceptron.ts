/**
 * Rosenblatt's perceptron (1958) and its learning rule, one example at a time.
 *
 * The prediction is ŷ = 1 when w·x + b > 0 and 0 otherwise. After each
 * example (x, y) the rule is Δw = η (y − ŷ) x and b ← b + η (y − ŷ): a correct
 * prediction changes nothing, a false positive subtracts x (and 1 from b), a
 * false negative adds x (and 1 to b) — with the default learning rate η = 1
 * exactly as the seed states it.
 *
 * @module
 */

import { defaultGenerator, Generator, Tensor, tensor } from "@dendrite/tensor";

/** Examples: an array of rows, or a 2-D `Tensor` of shape [n, nInputs]. */
export type Inputs = readonly (readonly number[])[] | Tensor;
/** Labels (each 0 or 1): an array, or a 1-D `Tensor` of shape [n]. */
export type Labels = readonly number[] | Tensor;

/** Options of {@link Perceptron}. */
export interface PerceptronOptions {
  /** η, the step size of the rule (default 1, the seed's rule). Must be positive and finite. */
  learningRate?: number;
  /** Initial weights, one per input (default all zero). */
  weights?: readonly number[];
  /** Initial bias (default 0). */
  bias?: number;
  /** Where the epoch shuffles come from (default: the global generator, seeded with `manualSeed`). */
  generator?: Generator;
  /** Visit the examples in a fresh random order each epoch (default true); false keeps the given order. */
  shuffle?: boolean;
}

/** Options of {@link Perceptron.fit}. */
export interface FitOptions {
  /** The cap: stop after this many epochs even if some example is still misclassified (default 100). */
  maxEpochs?: number;
}

/** What {@link Perceptron.fit} reports. */
export interface FitResult {
  /** True when an epoch went by with no mistake (the data were separated). */
  converged: boolean;
  /** How many epochs ran, the final mistake-free one included. */
  epochs: number;
  /** The number of misclassified examples (updates made) in each epoch. */
  mistakesPerEpoch: number[];
}

/**
 * A single-layer perceptron with a Heaviside output, trained by Rosenblatt's rule.
 *
 * `weights` and `bias` are plain numbers, readable after every `update`.
 * Data may be plain arrays or CPU `Tensor`s; {@link Perceptron.predictBatch}
 * runs the whole batch through tensor ops.
 *
 * @example
 * ```ts
 * import { Perceptron } from "./mod.ts";
 * const p = new Perceptron(2);
 * const result = p.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1], { maxEpochs: 20 });
 * console.log(result.converged, p.weights, p.bias); // true, and a separating line
 * p.predict([1, 1]); // 1
 * ```
 */
export class Perceptron {
  /** How many inputs each example has. */
  readonly nInputs: number;
  /** η, the step size of the rule. */
  readonly learningRate: number;
  /** Whether `fit` shuffles each epoch. */
  readonly shuffle: boolean;
  #weights: number[];
  #bias: number;
  #generator: Generator | undefined;

  /** A perceptron over `nInputs` inputs, starting from w = 0, b = 0 unless told otherwise. */
  constructor(nInputs: number, options: PerceptronOptions = {}) {
    if (!Number.isInteger(nInputs) || nInputs < 1) {
      throw new RangeError(`Perceptron: nInputs must be a positive integer, got ${String(nInputs)}`);
    }
    const { learningRate = 1, weights, bias = 0, generator, shuffle = true } = options;
    if (typeof learningRate !== "number" || !Number.isFinite(learningRate) || learningRate <= 0) {
      throw new RangeError(`Perceptron: learningRate must be a positive finite number, got ${String(learningRate)}`);
    }
    if (typeof bias !== "number" || !Number.isFinite(bias)) {
      throw new TypeError(`Perceptron: bias must be a finite number, got ${String(bias)}`);
    }
    if (weights !== undefined) {
      checkRow("Perceptron", "weights", weights, nInputs);
    }
    if (generator !== undefined && !(generator instanceof Generator)) {
      throw new TypeError("Perceptron: generator must be a Generator (new Generator(seed))");
    }
    this.nInputs = nInputs;
    this.learningRate = learningRate;
    this.shuffle = shuffle;
    this.#weights = weights ? [...weights] : new Array<number>(nInputs).fill(0);
    this.#bias = bias;
    this.#generator = generator;
  }

  /** The current weights w (a copy: changing it does not change the perceptron). */
  get weights(): number[] {
    return [...this.#weights];
  }

  /** The current bias b. */
  get bias(): number {
    return this.#bias;
  }

  /** w·x + b for one example (the value the step function thresholds). */
  activation(x: readonly number[] | Tensor): number {
    const row = toRow("Perceptron.activation", x, this.nInputs);
    return this.#activation(row);
  }

  /** ŷ for one example: 1 when w·x + b > 0, else 0. */
  predict(x: readonly number[] | Tensor): 0 | 1 {
    const row = toRow("Perceptron.predict", x, this.nInputs);
    return this.#activation(row) > 0 ? 1 : 0;
  }

  /**
   * ŷ for every row of `X` (shape [n, nInputs]) at once, computed with tensor
   * ops as `(X @ w + b) > 0`; returns an int32 tensor of 0/1 of shape [n] on X's device.
   */
  predictBatch(X: Tensor | readonly (readonly number[])[]): Tensor {
    const op = "Perceptron.predictBatch";
    let x: Tensor;
    if (X instanceof Tensor) {
      if (X.ndim !== 2 || X.shape[1] !== this.nInputs) {
        throw new RangeError(`${op}: expected X of shape [n, ${this.nInputs}], got [${X.shape.join(", ")}]`);
      }
      if (X.dtype === "bool" || X.dtype === "int32") x = X.float();
      else x = X;
    } else {
      const rows = toRows(op, X, this.nInputs);
      x = tensor(Float32Array.from(rows.flat()), { shape: [rows.length, this.nInputs] });
    }
    const w = tensor(this.#weights, { dtype: x.dtype, device: x.device }).reshape([this.nInputs, 1]);
    return x.matmul(w).add(this.#bias).gt(0).int().reshape([x.shape[0]]);
  }

  /**
   * One step of the rule on example (x, y): predicts, and on a mistake moves
   * w by η(y − ŷ)x and b by η(y − ŷ). Returns true when it changed w or b.
   */
  update(x: readonly number[] | Tensor, y: number): boolean {
    const row = toRow("Perceptron.update", x, this.nInputs);
    checkLabel("Perceptron.update", y, 0);
    return this.#step(row, y);
  }

  /**
   * Epochs of the rule over (X, Y) until an epoch makes no mistake or
   * `maxEpochs` epochs have run. Never loops forever: data that no line
   * separates (XOR) end with `converged: false`.
   */
  fit(X: Inputs, Y: Labels, options: FitOptions = {}): FitResult {
    const op = "Perceptron.fit";
    const { maxEpochs = 100 } = options;
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) {
      throw new RangeError(`${op}: maxEpochs must be a positive integer, got ${String(maxEpochs)}`);
    }
    // Everything is read and checked before the first update, so bad data leave w and b as they were.
    const [rows, labels] = toExamples(op, X, Y, this.nInputs);

    const generator = this.#generator ?? defaultGenerator;
    const order = rows.map((_, i) => i);
    const mistakesPerEpoch: number[] = [];
    for (let epoch = 1; epoch <= maxEpochs; epoch++) {
      const visit = this.shuffle ? generator.randperm(rows.length) : order;
      let mistakes = 0;
      for (const i of visit) {
        if (this.#step(rows[i], labels[i])) mistakes++;
      }
      mistakesPerEpoch.push(mistakes);
      if (mistakes === 0) return { converged: true, epochs: epoch, mistakesPerEpoch };
    }
    return { converged: false, epochs: maxEpochs, mistakesPerEpoch };
  }

  /** The fraction of examples (X, Y) that `predict` gets right. */
  accuracy(X: Inputs, Y: Labels): number {
    const [rows, labels] = toExamples("Perceptron.accuracy", X, Y, this.nInputs);
    let right = 0;
    rows.forEach((row, i) => {
      if ((this.#activation(row) > 0 ? 1 : 0) === labels[i]) right++;
    });
    return right / rows.length;
  }

  #activation(row: readonly number[]): number {
    let s = this.#bias;
    for (let k = 0; k < row.length; k++) s += this.#weights[k] * row[k];
    return s;
  }

  #step(row: readonly number[], y: number): boolean {
    const yHat = this.#activation(row) > 0 ? 1 : 0;
    if (yHat === y) return false; // the seed: Δw = (y − ŷ) x = 0 when right
    const delta = this.learningRate * (y - yHat); // +η on a false negative, −η on a false positive
    for (let k = 0; k < row.length; k++) this.#weights[k] += delta * row[k];
    this.#bias += delta;
    return true;
  }
}

function checkRow(op: string, what: string, row: readonly number[], n: number): void {
  if (!Array.isArray(row)) throw new TypeError(`${op}: ${what} must be an array of ${n} numbers`);
  if (row.length !== n) throw new RangeError(`${op}: ${what} must have length ${n}, got ${row.length}`);
  for (let k = 0; k < n; k++) {
    const v = row[k];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`${op}: ${what}[${k}] must be a finite number, got ${String(v)}`);
    }
  }
}

function checkLabel(op: string, y: number, i: number): void {
  if (y !== 0 && y !== 1) throw new RangeError(`${op}: labels must be 0 or 1, got ${String(y)} at index ${i}`);
}

function hostData(op: string, t: Tensor): number[] {
  try {
    return Array.from(t.dataSync(), Number);
  } catch (e) {
    throw new Error(`${op}: cannot read a tensor on device "${t.device}" synchronously; move it to the CPU first`, {
      cause: e,
    });
  }
}

/** One example as numbers: an array of length n or a 1-D tensor of shape [n] (or [1, n]). */
function toRow(op: string, x: readonly number[] | Tensor, n: number): number[] {
  if (x instanceof Tensor) {
    const ok = (x.ndim === 1 && x.shape[0] === n) || (x.ndim === 2 && x.shape[0] === 1 && x.shape[1] === n);
    if (!ok) throw new RangeError(`${op}: expected an input of shape [${n}], got [${x.shape.join(", ")}]`);
    const row = hostData(op, x);
    checkRow(op, "x", row, n); // NaN and ±Inf are refused in a tensor as in an array
    return row;
  }
  if (!Array.isArray(x)) throw new TypeError(`${op}: expected an array of ${n} numbers or a Tensor`);
  if (x.length !== n) throw new RangeError(`${op}: expected an input of length ${n}, got ${x.length}`);
  checkRow(op, "x", x, n);
  return x as number[];
}

function toRows(op: string, X: Inputs, n: number): number[][] {
  if (X instanceof Tensor) {
    if (X.ndim !== 2 || X.shape[1] !== n) {
      throw new RangeError(`${op}: expected X of shape [n, ${n}], got [${X.shape.join(", ")}]`);
    }
    const flat = hostData(op, X);
    const rows = Array.from({ length: X.shape[0] }, (_, i) => flat.slice(i * n, (i + 1) * n));
    rows.forEach((row, i) => checkRow(op, `X[${i}]`, row, n)); // NaN and ±Inf: refused as in arrays
    return rows;
  }
  if (!Array.isArray(X)) throw new TypeError(`${op}: X must be an array of rows or a Tensor of shape [n, ${n}]`);
  X.forEach((row, i) => {
    if (!Array.isArray(row)) throw new TypeError(`${op}: X[${i}] must be an array of ${n} numbers`);
    if (row.length !== n) throw new RangeError(`${op}: X[${i}] has length ${row.length}, expected ${n}`);
    checkRow(op, `X[${i}]`, row, n);
  });
  return X as number[][];
}

function toLabels(op: string, Y: Labels): number[] {
  if (Y instanceof Tensor) {
    if (Y.ndim !== 1) throw new RangeError(`${op}: expected Y of shape [n], got [${Y.shape.join(", ")}]`);
    return hostData(op, Y);
  }
  if (!Array.isArray(Y)) throw new TypeError(`${op}: Y must be an array of 0/1 labels or a Tensor of shape [n]`);
  return Y as number[];
}

/** A data set as rows and 0/1 labels, checked: not empty, one label per row. */
function toExamples(op: string, X: Inputs, Y: Labels, n: number): [number[][], number[]] {
  const rows = toRows(op, X, n);
  const labels = toLabels(op, Y);
  if (rows.length === 0) throw new RangeError(`${op}: the data set is empty (X has no rows)`);
  if (labels.length !== rows.length) {
    throw new RangeError(`${op}: X has ${rows.length} examples but Y has ${labels.length} labels`);
  }
  labels.forEach((y, i) => checkLabel(op, y, i));
  return [rows, labels];
}
