/**
 * A training run's history: one row of numbers per epoch (or per step),
 * appended to a CSV file as it comes so a stopped run still leaves its log,
 * and drawn as curves (loss and accuracy panels, train and validation) in
 * one PNG.
 *
 * @module
 */

import { Figure, niceTicks, Plot } from "./plot.ts";

/** One row of a history: column name to value. */
export type HistoryRow = Record<string, number | string>;

/** Options of {@link History}. */
export interface HistoryOptions {
  /** A CSV file to write: the header with the first row, then each row as it is pushed (an existing file is replaced). */
  csv?: string;
}

/** Options of {@link History.figure}. */
export interface CurvesOptions {
  /** The column on the x axis (default "epoch" when present, else the row number from 1). */
  x?: string;
  /**
   * Panels: title to the columns it draws. Default: the columns whose names
   * contain "loss" in a "loss" panel and those containing "acc" in an
   * "accuracy" panel (or one panel per numeric column when neither exists).
   */
  panels?: Record<string, readonly string[]>;
  /** The figure's title. */
  title?: string;
  /** Each panel's size in pixels (default 480 × 320). */
  panelWidth?: number;
  /** Each panel's height in pixels. */
  panelHeight?: number;
}

function csvCell(v: number | string | undefined): string {
  if (v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `trainLoss` → `train loss`, `val_acc` → `val acc`: column names as legend labels. */
function words(name: string): string {
  return name.replace(/[_-]+/g, " ").replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

/**
 * Rows of metrics, a CSV log and curves.
 *
 * @example
 * ```ts ignore
 * const history = new History({ csv: "run/metrics.csv" });
 * for (let epoch = 1; epoch <= 10; epoch++) {
 *   // ... train and evaluate ...
 *   history.push({ epoch, trainLoss, valLoss, trainAcc, valAcc });
 * }
 * await history.savePng("run/curves.png");
 * ```
 */
export class History {
  /** The rows pushed so far. */
  readonly rows: HistoryRow[] = [];
  readonly #csv: string | undefined;
  #columns: string[] | null = null;

  /** An empty history (writing `options.csv` from the first row on). */
  constructor(options: HistoryOptions = {}) {
    this.#csv = options.csv;
  }

  /** The column names (those of the first row), or [] before one. */
  get columns(): string[] {
    return this.#columns ? [...this.#columns] : [];
  }

  /**
   * Appends a row (and its line to the CSV file). The first row fixes the
   * columns; a later row may leave some out (an empty cell) but may not add
   * new ones.
   */
  push(row: HistoryRow): void {
    const keys = Object.keys(row);
    if (keys.length === 0) throw new RangeError("History.push: the row is empty");
    for (const [k, v] of Object.entries(row)) {
      if (typeof v !== "number" && typeof v !== "string") {
        throw new TypeError(`History.push: "${k}" must be a number or a string, got ${typeof v}`);
      }
    }
    if (this.#columns) {
      const extra = keys.filter((k) => !this.#columns!.includes(k));
      if (extra.length) {
        throw new RangeError(
          `History.push: new column(s) ${extra.map((k) => `"${k}"`).join(", ")}; the columns are ${
            this.#columns.join(", ")
          } (set by the first row)`,
        );
      }
    }
    const first = this.#columns === null;
    this.#columns ??= keys;
    this.rows.push({ ...row });
    if (this.#csv) {
      const line = this.#line(row);
      if (first) Deno.writeTextFileSync(this.#csv, this.#columns.map(csvCell).join(",") + "\n" + line);
      else Deno.writeTextFileSync(this.#csv, line, { append: true });
    }
  }

  #line(row: HistoryRow): string {
    return this.#columns!.map((c) => csvCell(row[c])).join(",") + "\n";
  }

  /** The values of one column, NaN where a row lacks it or holds text. */
  column(name: string): number[] {
    if (!this.#columns?.includes(name)) {
      throw new RangeError(`History.column: no column "${name}"; the columns are ${this.columns.join(", ")}`);
    }
    return this.rows.map((r) => (typeof r[name] === "number" ? r[name] as number : NaN));
  }

  /** The whole history as CSV text (header and one line per row). */
  toCsv(): string {
    if (!this.#columns) return "";
    return this.#columns.map(csvCell).join(",") + "\n" + this.rows.map((r) => this.#line(r)).join("");
  }

  /** The curves as a {@link Figure}: one panel per group of columns, one line per column. */
  figure(options: CurvesOptions = {}): Figure {
    if (!this.#columns || this.rows.length === 0) throw new Error("History.figure: no rows to draw yet");
    const cols = this.#columns;
    const xName = options.x ?? (cols.includes("epoch") ? "epoch" : undefined);
    const xs = xName ? this.column(xName) : this.rows.map((_, i) => i + 1);
    const numeric = cols.filter((c) => c !== xName && this.rows.some((r) => typeof r[c] === "number"));
    let panels = options.panels;
    if (!panels) {
      const loss = numeric.filter((c) => /loss/i.test(c)), acc = numeric.filter((c) => /acc/i.test(c));
      panels = loss.length || acc.length
        ? { ...(loss.length ? { loss } : {}), ...(acc.length ? { accuracy: acc } : {}) }
        : Object.fromEntries(numeric.map((c) => [words(c), [c]]));
    }
    // Integer x values (epochs) get integer ticks: no "epoch 2.5".
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const xTicks = !xs.every(Number.isInteger)
      ? undefined
      : hi - lo <= 8
      ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
      : niceTicks(lo, hi, 6).filter(Number.isInteger);
    const plots = Object.entries(panels).map(([title, names]) => {
      const plot = new Plot({ title, xLabel: xName ? words(xName) : "step", yLabel: title, xTicks });
      for (const n of names) plot.line(xs, this.column(n), { label: words(n), markers: xs.length <= 30 });
      return plot;
    });
    return new Figure(plots, {
      title: options.title,
      panelWidth: options.panelWidth,
      panelHeight: options.panelHeight,
    });
  }

  /** Draws {@link History.figure} to a PNG file. */
  async savePng(path: string, options: CurvesOptions = {}): Promise<void> {
    await this.figure(options).savePng(path);
  }
}
