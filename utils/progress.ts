/**
 * A progress bar in the spirit of tqdm: wrap an iterable or a DataLoader and
 * iterate as before; the bar shows the count and total, the rate, the time
 * spent and left, and live values such as the loss. On a terminal it redraws
 * one line in place; piped to a file or under CI it prints a plain line every
 * few seconds and one at the end, so logs stay readable.
 *
 * @module
 */

/** Where a bar writes: Deno's `stdout`/`stderr`, or anything with the same two methods. */
export interface ProgressStream {
  /** Writes bytes, returning how many were written. */
  writeSync(p: Uint8Array): number;
  /** Whether the stream is a terminal (default: not). */
  isTerminal?(): boolean;
}

/** Options of {@link progress} and {@link ProgressBar}. */
export interface ProgressOptions {
  /** Expected number of items (default: the iterable's `length` or `size`, when it has one). */
  total?: number;
  /** Text before the bar, e.g. "epoch 3/10". */
  desc?: string;
  /** What one item is called in the rate (default "it": `12.5it/s`). */
  unit?: string;
  /** Where to write (default `Deno.stderr`, as tqdm does). */
  stream?: ProgressStream;
  /**
   * "tty": redraw one line with carriage returns; "lines": a line every
   * `interval` seconds and one at the end. Default "auto": "tty" on a
   * terminal unless the `CI` environment variable is set, else "lines".
   */
  mode?: "auto" | "tty" | "lines";
  /** Seconds between lines in "lines" mode (default 10). */
  interval?: number;
  /** Least seconds between redraws in "tty" mode (default 0.1). */
  minInterval?: number;
  /** Line width in characters (default: the terminal's, else 100). */
  width?: number;
  /** Keep the last state on screen when done (default true); false clears the line (tty mode). */
  leave?: boolean;
  /** Print nothing at all (default false). */
  disable?: boolean;
  /** Milliseconds clock (default `performance.now`); tests pass their own. */
  now?: () => number;
}

/** Postfix values shown after the rate: `loss=0.231, acc=0.912`. */
export type Postfix = Record<string, number | string>;

const encoder = new TextEncoder();

/** `mm:ss`, or `h:mm:ss` past an hour (tqdm's format). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function formatValue(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

function lengthOf(x: unknown): number | undefined {
  if (x === null || typeof x !== "object") return undefined;
  const o = x as { length?: unknown; size?: unknown };
  if (typeof o.length === "number") return o.length;
  if (typeof o.size === "number") return o.size;
  return undefined;
}

function defaultMode(stream: ProgressStream): "tty" | "lines" {
  let ci = false;
  try {
    ci = !!Deno.env.get("CI");
  } catch {
    // No env permission: decide by the stream alone.
  }
  return !ci && stream.isTerminal?.() ? "tty" : "lines";
}

function terminalWidth(): number | undefined {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}

const BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/**
 * A progress bar over an iterable (sync or async) or updated by hand.
 * Iterating it yields the items and counts each one when the loop asks for
 * the next (or leaves); it closes itself when the loop ends.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./progress.ts";
 * const lines: string[] = [];
 * const stream = { writeSync: (p: Uint8Array) => (lines.push(new TextDecoder().decode(p)), p.length) };
 * const bar = new ProgressBar(null, { total: 3, desc: "work", stream });
 * for (let i = 0; i < 3; i++) bar.update(1);
 * bar.close();
 * console.log(lines.at(-1)); // "work: 3/3 (100%) [00:00<00:00, …it/s]\n"
 * ```
 */
export class ProgressBar<T = unknown> implements AsyncIterable<T>, Iterable<T> {
  /** Items done so far. */
  n = 0;
  /** Expected items (undefined when unknown). */
  total: number | undefined;
  /** Text before the bar. */
  desc: string;
  readonly #source: Iterable<T> | AsyncIterable<T> | null;
  readonly #stream: ProgressStream;
  readonly #mode: "tty" | "lines";
  readonly #interval: number;
  readonly #minInterval: number;
  readonly #width: number;
  readonly #leave: boolean;
  readonly #disable: boolean;
  readonly #unit: string;
  readonly #now: () => number;
  readonly #start: number;
  #lastDraw = -Infinity;
  #postfix: Postfix = {};
  // The count and postfix of the last plain line printed (lines mode), so close() does not repeat it.
  #lineN = -1;
  #linePostfix: Postfix | null = null;
  #closed = false;
  #drawn = false;

  /** A bar over `iterable` (or, with null, one moved by {@link ProgressBar.update}). */
  constructor(iterable: Iterable<T> | AsyncIterable<T> | null, options: ProgressOptions = {}) {
    const total = options.total ?? lengthOf(iterable);
    if (total !== undefined && !(Number.isFinite(total) && total >= 0)) {
      throw new RangeError(`progress: total must be a non-negative number, got ${total}`);
    }
    for (const key of ["interval", "minInterval"] as const) {
      const v = options[key];
      if (v !== undefined && !(v >= 0)) throw new RangeError(`progress: ${key} must be ≥ 0 seconds, got ${v}`);
    }
    this.#source = iterable;
    this.total = total;
    this.desc = options.desc ?? "";
    this.#unit = options.unit ?? "it";
    this.#stream = options.stream ?? Deno.stderr;
    const mode = options.mode ?? "auto";
    this.#mode = mode === "auto" ? defaultMode(this.#stream) : mode;
    this.#interval = (options.interval ?? 10) * 1000;
    this.#minInterval = (options.minInterval ?? 0.1) * 1000;
    this.#width = options.width ?? (this.#mode === "tty" ? terminalWidth() : undefined) ?? 100;
    this.#leave = options.leave ?? true;
    this.#disable = options.disable ?? false;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#lastDraw = this.#mode === "lines" ? this.#start : -Infinity;
    if (this.#mode === "tty") this.#draw();
  }

  /** Seconds since the bar started. */
  get elapsed(): number {
    return (this.#now() - this.#start) / 1000;
  }

  /** Items per second so far. */
  get rate(): number {
    const e = this.elapsed;
    return e > 0 ? this.n / e : 0;
  }

  /** Counts `k` more items done and redraws when it is time to. */
  update(k = 1): void {
    this.n += k;
    this.#maybeDraw();
  }

  /**
   * Replaces the values shown after the rate (numbers with 4 significant
   * digits). A terminal bar redraws; a line-mode bar shows them in its next line.
   */
  setPostfix(values: Postfix): void {
    this.#postfix = { ...values };
    // In lines mode a line printed here would show the count before the current item is done.
    if (this.#mode === "tty") this.#maybeDraw();
  }

  /** Changes the text before the bar. */
  setDescription(desc: string): void {
    this.desc = desc;
    this.#maybeDraw();
  }

  /** Prints a line of its own without breaking the bar (use instead of console.log while a bar runs). */
  write(message: string): void {
    if (this.#disable) return;
    if (this.#mode === "tty") {
      this.#out(`\r\x1b[K${message}\n`);
      if (!this.#closed) this.#draw();
    } else {
      this.#out(`${message}\n`);
    }
  }

  /** Draws the final state (kept, or cleared without `leave`) and ends the bar; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#disable) return;
    if (this.#mode === "tty") {
      if (this.#leave) {
        this.#draw();
        this.#out("\n");
      } else if (this.#drawn) {
        this.#out("\r\x1b[K");
      }
    } else if (this.n !== this.#lineN || this.#postfix !== this.#linePostfix) {
      // A line printed by the last update already shows this final state: print it once.
      this.#printLine();
    }
  }

  /** `using bar = new ProgressBar(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The bar's text now: `desc: 45%|████▌     | 450/1000 [00:12<00:15, 36.2it/s, loss=0.231]`
   * (tty), or without the bar graphic, `desc: 450/1000 (45%) [00:12<00:15, 36.2it/s, loss=0.231]` (lines).
   */
  format(): string {
    const elapsed = this.elapsed, rate = this.rate;
    const rateText = rate === 0
      ? `?${this.#unit}/s`
      : rate >= 1
      ? `${rate.toFixed(rate >= 100 ? 0 : rate >= 10 ? 1 : 2)}${this.#unit}/s`
      : `${(1 / rate).toFixed(2)}s/${this.#unit}`;
    const post = Object.entries(this.#postfix).map(([k, v]) => `${k}=${formatValue(v)}`).join(", ");
    const head = this.desc ? `${this.desc}: ` : "";
    const total = this.total;
    if (total === undefined) {
      return `${head}${this.n}${this.#unit} [${formatDuration(elapsed)}, ${rateText}${post ? ", " + post : ""}]`;
    }
    const frac = total > 0 ? Math.min(1, this.n / total) : 1;
    const left = rate > 0 ? Math.max(0, total - this.n) / rate : NaN;
    const stats = `${this.n}/${total} [${formatDuration(elapsed)}<${formatDuration(left)}, ${rateText}${
      post ? ", " + post : ""
    }]`;
    const pct = `${Math.floor(frac * 100)}%`;
    if (this.#mode === "lines") return `${head}${stats.replace(" [", ` (${pct}) [`)}`;
    const room = Math.min(40, this.#width - head.length - pct.length - stats.length - 3);
    if (room < 6) return `${head}${pct} ${stats}`;
    const eighths = Math.floor(frac * room * 8);
    const full = Math.floor(eighths / 8);
    const bar = "█".repeat(full) + BLOCKS[eighths % 8];
    return `${head}${pct.padStart(4)}|${bar.padEnd(room)}| ${stats}`;
  }

  #maybeDraw(): void {
    if (this.#disable || this.#closed) return;
    const now = this.#now();
    if (this.#mode === "tty") {
      if (now - this.#lastDraw >= this.#minInterval || (this.total !== undefined && this.n >= this.total)) {
        this.#draw();
      }
    } else if (now - this.#lastDraw >= this.#interval) {
      this.#lastDraw = now;
      this.#printLine();
    }
  }

  #printLine(): void {
    this.#lineN = this.n;
    this.#linePostfix = this.#postfix;
    this.#out(this.format() + "\n");
  }

  #draw(): void {
    if (this.#disable) return;
    this.#lastDraw = this.#now();
    this.#drawn = true;
    this.#out(`\r${this.format()}\x1b[K`);
  }

  #out(text: string): void {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += this.#stream.writeSync(bytes.subarray(off));
  }

  /** Yields the wrapped iterable's items (sync or async), counting each, and closes the bar at the end. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    const src = this.#source;
    if (src === null) throw new TypeError("progress: this bar wraps no iterable; call update() instead");
    let pending = false;
    try {
      for await (const item of src as AsyncIterable<T>) {
        if (pending) this.update(1);
        pending = true;
        yield item;
      }
      if (pending) this.update(1);
      pending = false;
    } finally {
      // The loop left early (break or an error) after its body took the last item: that item counts.
      if (pending) this.n += 1;
      this.close();
    }
  }

  /** Yields a sync iterable's items, counting each, and closes the bar at the end. */
  *[Symbol.iterator](): Generator<T> {
    const src = this.#source;
    if (src === null || !(Symbol.iterator in src)) {
      throw new TypeError("progress: this bar wraps an async iterable (or none); use `for await`");
    }
    let pending = false;
    try {
      for (const item of src as Iterable<T>) {
        if (pending) this.update(1);
        pending = true;
        yield item;
      }
      if (pending) this.update(1);
      pending = false;
    } finally {
      if (pending) this.n += 1;
      this.close();
    }
  }
}

/**
 * Wraps `iterable` (an array, a generator, a `DataLoader`, any async
 * iterable) in a {@link ProgressBar}: `for await (const batch of progress(loader))`.
 *
 * @example
 * ```ts ignore
 * const bar = progress(loader, { desc: `epoch ${epoch}` });
 * for await (const [x, y] of bar) {
 *   const loss = step(x, y);
 *   bar.setPostfix({ loss: await loss.item() });
 * }
 * ```
 */
export function progress<T>(iterable: Iterable<T> | AsyncIterable<T>, options: ProgressOptions = {}): ProgressBar<T> {
  if (iterable === null || typeof iterable !== "object" && typeof iterable !== "function") {
    throw new TypeError(`progress: expected an iterable or async iterable, got ${iterable}`);
  }
  if (!(Symbol.iterator in iterable) && !(Symbol.asyncIterator in iterable)) {
    throw new TypeError("progress: expected an iterable or async iterable (an array, a generator, a DataLoader)");
  }
  return new ProgressBar(iterable, options);
}
