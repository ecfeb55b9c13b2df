/**
 * Metrics that accumulate over batches, torchmetrics-style: `update` with
 * each batch, `compute` at the end, `reset` for the next epoch. Accuracy
 * (top-k), the confusion matrix with per-class precision, recall and F1
 * (printable, and drawable as a heat map), and the mean of a loss.
 *
 * Tensor updates read the batch back once (`await`), so they work on any
 * device; the `*Arrays` variants take plain numbers.
 *
 * @module
 */

import type { Tensor } from "@dendrite/tensor";
import { Heatmap, type HeatmapOptions } from "./plot.ts";

/** Checks an integer class index. */
function classIndex(op: string, what: string, v: number, numClasses: number, i: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
    throw new RangeError(`${op}: ${what}[${i}] = ${v} is not a class index in [0, ${numClasses})`);
  }
  return v;
}

/** The shapes `[N, C]` scores and `[N]` targets must have. */
function checkScores(op: string, scores: Tensor, target: Tensor, numClasses?: number): void {
  if (scores.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== scores.shape[0]) {
    throw new RangeError(
      `${op}: expected scores [N, C] and targets [N], got [${scores.shape.join(", ")}] and [${
        target.shape.join(", ")
      }]`,
    );
  }
  if (numClasses !== undefined && scores.shape[1] !== numClasses) {
    throw new RangeError(`${op}: scores have ${scores.shape[1]} classes, the metric was made for ${numClasses}`);
  }
}

/**
 * The mean of a value over batches, weighted (by batch size, say):
 * torchmetrics' `MeanMetric`.
 *
 * @example
 * ```ts
 * import { MeanMetric } from "./metrics.ts";
 * const loss = new MeanMetric();
 * loss.update(0.5, 64); // a batch of 64 with mean loss 0.5
 * loss.update(0.2, 16);
 * console.log(loss.compute()); // 0.44
 * ```
 */
export class MeanMetric {
  #sum = 0;
  #weight = 0;

  /** Adds `value` with `weight` (default 1). */
  update(value: number, weight = 1): void {
    if (!Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`MeanMetric.update: weight must be ≥ 0, got ${weight}`);
    }
    this.#sum += value * weight;
    this.#weight += weight;
  }

  /** The weighted mean so far (NaN before any update). */
  compute(): number {
    return this.#weight > 0 ? this.#sum / this.#weight : NaN;
  }

  /** The total weight so far. */
  get weight(): number {
    return this.#weight;
  }

  /** Starts over. */
  reset(): void {
    this.#sum = 0;
    this.#weight = 0;
  }
}

/**
 * How many rows have their target among the `k` highest scores. Ties go to
 * the lower class index, as `argmax` breaks them, so top-1 is argmax accuracy.
 */
function countTopK(scores: ArrayLike<number>, classes: number, targets: ArrayLike<number>, k: number): number {
  let correct = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = classIndex("Accuracy", "target", targets[i], classes, i);
    const st = scores[i * classes + t];
    let rank = 0;
    for (let c = 0; c < classes && rank < k; c++) {
      const s = scores[i * classes + c];
      if (s > st || (s === st && c < t) || Number.isNaN(st)) rank++;
    }
    if (rank < k) correct++;
  }
  return correct;
}

/** Options of {@link Accuracy}. */
export interface AccuracyOptions {
  /** Count a row correct when its target is among the `topK` highest scores (default 1). */
  topK?: number;
}

/**
 * Top-k accuracy over batches of scores (logits or probabilities) `[N, C]`
 * and integer targets `[N]`.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { Accuracy } from "./metrics.ts";
 * const top2 = new Accuracy({ topK: 2 });
 * await top2.update(tensor([[0.1, 0.5, 0.4], [0.2, 0.3, 0.5]]), tensor([2, 0], { dtype: "int32" }));
 * console.log(top2.compute()); // 0.5
 * ```
 */
export class Accuracy {
  /** The k of top-k. */
  readonly topK: number;
  #correct = 0;
  #count = 0;

  /** A top-k accuracy (k = 1 by default). */
  constructor(options: AccuracyOptions = {}) {
    const k = options.topK ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`Accuracy: topK must be an integer ≥ 1, got ${k}`);
    this.topK = k;
  }

  /** Adds a batch: scores `[N, C]`, targets `[N]` (read back once). */
  async update(scores: Tensor, target: Tensor): Promise<void> {
    checkScores("Accuracy.update", scores, target);
    const [s, t] = await Promise.all([scores.data(), target.data()]);
    this.updateArrays(s, scores.shape[1], t);
  }

  /** Adds a batch given as plain numbers: row-major scores of `numClasses` per row, and targets. */
  updateArrays(scores: ArrayLike<number>, numClasses: number, targets: ArrayLike<number>): void {
    if (scores.length !== targets.length * numClasses) {
      throw new RangeError(
        `Accuracy.update: ${scores.length} scores for ${targets.length} targets of ${numClasses} classes`,
      );
    }
    const correct = countTopK(scores, numClasses, targets, this.topK); // validates before counting
    this.#correct += correct;
    this.#count += targets.length;
  }

  /** The fraction correct so far (NaN before any update). */
  compute(): number {
    return this.#count > 0 ? this.#correct / this.#count : NaN;
  }

  /** Rows seen so far. */
  get count(): number {
    return this.#count;
  }

  /** Starts over. */
  reset(): void {
    this.#correct = 0;
    this.#count = 0;
  }
}

/** Options of {@link ConfusionMatrix}. */
export interface ConfusionMatrixOptions {
  /** A name per class for printing and drawing (default "0", "1", …). */
  labels?: readonly string[];
}

/** One class's precision, recall, F1 and support (how many rows truly are that class). */
export interface ClassScores {
  /** Of the rows predicted as the class, the fraction that are (0 when none are predicted). */
  precision: number;
  /** Of the rows of the class, the fraction predicted as it (0 when there are none). */
  recall: number;
  /** Harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
  /** Rows whose target is the class. */
  support: number;
}

/**
 * Counts of (true class, predicted class) pairs over batches: row = target,
 * column = prediction (sklearn's and torchmetrics' layout), with per-class
 * precision, recall and F1, a printed table and report, and a heat map.
 *
 * @example
 * ```ts
 * import { ConfusionMatrix } from "./metrics.ts";
 * const cm = new ConfusionMatrix(3);
 * cm.updateArrays([0, 1, 0, 1, 1, 2, 0, 2, 1], [0, 0, 0, 1, 1, 2, 2, 2, 2]); // predictions, targets
 * console.log(cm.matrix); // [[2, 1, 0], [0, 2, 0], [1, 1, 2]]
 * console.log(cm.accuracy()); // 0.666…
 * ```
 */
export class ConfusionMatrix {
  /** The number of classes. */
  readonly numClasses: number;
  /** The class names. */
  readonly labels: readonly string[];
  readonly #counts: number[][];

  /** An empty matrix for `numClasses` classes. */
  constructor(numClasses: number, options: ConfusionMatrixOptions = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new RangeError(`ConfusionMatrix: numClasses must be an integer ≥ 1, got ${numClasses}`);
    }
    if (options.labels && options.labels.length !== numClasses) {
      throw new RangeError(`ConfusionMatrix: ${options.labels.length} labels for ${numClasses} classes`);
    }
    this.numClasses = numClasses;
    this.labels = options.labels ? [...options.labels] : Array.from({ length: numClasses }, (_, i) => String(i));
    this.#counts = Array.from({ length: numClasses }, () => new Array(numClasses).fill(0));
  }

  /**
   * Adds a batch: `predictions` as scores `[N, C]` (the highest wins, ties to
   * the lower index) or class indices `[N]`, and targets `[N]`.
   */
  async update(predictions: Tensor, target: Tensor): Promise<void> {
    const op = "ConfusionMatrix.update";
    if (predictions.ndim === 2) checkScores(op, predictions, target, this.numClasses);
    else if (predictions.ndim !== 1 || target.ndim !== 1 || predictions.shape[0] !== target.shape[0]) {
      throw new RangeError(
        `${op}: expected predictions [N] or scores [N, C] and targets [N], got [${predictions.shape.join(", ")}] and [${
          target.shape.join(", ")
        }]`,
      );
    }
    const [p, t] = await Promise.all([predictions.data(), target.data()]);
    let preds: ArrayLike<number> = p;
    if (predictions.ndim === 2) {
      const c = this.numClasses, arg = new Int32Array(t.length);
      for (let i = 0; i < t.length; i++) {
        let best = 0;
        for (let j = 1; j < c; j++) if (p[i * c + j] > p[i * c + best]) best = j;
        arg[i] = best;
      }
      preds = arg;
    }
    this.updateArrays(preds, t);
  }

  /** Adds pairs given as plain class indices (every index is checked before any is counted). */
  updateArrays(predictions: ArrayLike<number>, targets: ArrayLike<number>): void {
    const op = "ConfusionMatrix.update";
    if (predictions.length !== targets.length) {
      throw new RangeError(`${op}: ${predictions.length} predictions for ${targets.length} targets`);
    }
    for (let i = 0; i < targets.length; i++) {
      classIndex(op, "prediction", predictions[i], this.numClasses, i);
      classIndex(op, "target", targets[i], this.numClasses, i);
    }
    for (let i = 0; i < targets.length; i++) this.#counts[targets[i]][predictions[i]]++;
  }

  /** The counts: `matrix[target][prediction]` (a copy). */
  get matrix(): number[][] {
    return this.#counts.map((r) => [...r]);
  }

  /** Pairs counted so far. */
  get total(): number {
    return this.#counts.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0);
  }

  /** The fraction on the diagonal (NaN when empty). */
  accuracy(): number {
    const n = this.total;
    return n > 0 ? this.#counts.reduce((s, r, i) => s + r[i], 0) / n : NaN;
  }

  /** Precision, recall, F1 and support of each class (0 where a ratio has nothing to divide by, as sklearn's default). */
  perClass(): ClassScores[] {
    const k = this.numClasses;
    return this.#counts.map((row, c) => {
      const tp = row[c];
      const support = row.reduce((a, b) => a + b, 0);
      let predicted = 0;
      for (let r = 0; r < k; r++) predicted += this.#counts[r][c];
      const precision = predicted > 0 ? tp / predicted : 0;
      const recall = support > 0 ? tp / support : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      return { precision, recall, f1, support };
    });
  }

  /** Per-class precision. */
  precision(): number[] {
    return this.perClass().map((s) => s.precision);
  }

  /** Per-class recall. */
  recall(): number[] {
    return this.perClass().map((s) => s.recall);
  }

  /** Per-class F1. */
  f1(): number[] {
    return this.perClass().map((s) => s.f1);
  }

  /** Unweighted means over classes of precision, recall and F1. */
  macro(): { precision: number; recall: number; f1: number } {
    const s = this.perClass(), n = s.length;
    const mean = (f: (c: ClassScores) => number) => s.reduce((a, c) => a + f(c), 0) / n;
    return { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1) };
  }

  /** Starts over. */
  reset(): void {
    for (const r of this.#counts) r.fill(0);
  }

  /** The counts as a table: rows are true classes, columns predicted ones. */
  toString(): string {
    const cells = this.#counts.map((r) => r.map(String));
    const w = Math.max(...this.labels.map((l) => l.length), ...cells.flat().map((c) => c.length), 3);
    const lw = Math.max(4, ...this.labels.map((l) => l.length));
    const head = `${"true".padEnd(lw)} | predicted\n${"".padEnd(lw)} | ` +
      this.labels.map((l) => l.padStart(w)).join(" ");
    const rule = "-".repeat(lw + 1) + "+" + "-".repeat((w + 1) * this.numClasses);
    const rows = cells.map((r, i) => `${this.labels[i].padEnd(lw)} | ` + r.map((c) => c.padStart(w)).join(" "));
    return [head, rule, ...rows].join("\n");
  }

  /** Deno's console.log uses this. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** sklearn's `classification_report`: precision, recall, F1 and support per class, accuracy and macro averages. */
  report(digits = 3): string {
    const s = this.perClass();
    const lw = Math.max(12, ...this.labels.map((l) => l.length));
    const col = (v: number) => v.toFixed(digits).padStart(10);
    const lines = [
      "".padEnd(lw) + ["precision", "recall", "f1-score", "support"].map((h) => h.padStart(10)).join(""),
      ...s.map((c, i) =>
        this.labels[i].padEnd(lw) + col(c.precision) + col(c.recall) + col(c.f1) + String(c.support).padStart(10)
      ),
      "",
      "accuracy".padEnd(lw) + "".padStart(20) + col(this.accuracy()) + String(this.total).padStart(10),
    ];
    const m = this.macro();
    lines.push("macro avg".padEnd(lw) + col(m.precision) + col(m.recall) + col(m.f1) + String(this.total).padStart(10));
    return lines.join("\n");
  }

  /**
   * The matrix as a {@link Heatmap} (Blues, counts written in the cells).
   * `normalize`: "true" divides each row by its sum (recall on the
   * diagonal), "pred" each column, "all" by the total.
   */
  heatmap(options: HeatmapOptions & { normalize?: "true" | "pred" | "all" } = {}): Heatmap {
    const { normalize, ...rest } = options;
    let values = this.matrix;
    if (normalize) {
      const k = this.numClasses, total = this.total;
      const colSum = Array.from({ length: k }, (_, c) => values.reduce((a, r) => a + r[c], 0));
      values = values.map((r) => {
        const rowSum = r.reduce((a, b) => a + b, 0);
        return r.map((v, c) => {
          const d = normalize === "true" ? rowSum : normalize === "pred" ? colSum[c] : total;
          return d > 0 ? v / d : 0;
        });
      });
    }
    return new Heatmap(values, {
      colormap: "blues",
      annotate: true,
      xLabel: "predicted",
      yLabel: "true",
      xTickLabels: this.labels,
      yTickLabels: this.labels,
      ...(normalize ? { valueRange: [0, 1] as const } : {}),
      ...rest,
    });
  }

  /** Draws {@link ConfusionMatrix.heatmap} to a PNG file. */
  async savePng(
    path: string,
    options: HeatmapOptions & { normalize?: "true" | "pred" | "all" } = {},
    width = 480,
    height = 420,
  ): Promise<void> {
    await this.heatmap(options).savePng(path, width, height);
  }
}
