/**
 * Op tracing, the hook an exporter (`@dendrite/onnx`) records a forward pass
 * through. While a tracer is installed with {@link withOpTracer}, every
 * public op reports itself after it ran — its name, its inputs, its outputs
 * and the attributes an exporter needs (dims, strides, eps) — and tensors,
 * synchronous reads and in-place writes are reported too, so an exporter can
 * tell a constant from the output of an op it was not told about, and refuse
 * a forward whose graph depends on the data.
 *
 * An op built from other ops reports itself after them with the same output
 * tensor: the exporter keeps the last report for a tensor, so a composite op
 * (`linear`, `layerNorm`) is exported whole where it has a mapping, and the
 * ops inside it are left unused. With no tracer installed each hook is one
 * null check.
 *
 * @example
 * ```ts
 * import { randn } from "./mod.ts";
 * import { type TracedOp, withOpTracer } from "./trace.ts";
 * const seen: string[] = [];
 * const x = randn([2, 3]);
 * withOpTracer({
 *   op: (r: TracedOp) => seen.push(r.op),
 *   created: () => {},
 *   read: () => {},
 *   writeInPlace: () => {},
 * }, () => x.relu().sum(1));
 * console.log(seen); // ["relu", "sum"]
 * ```
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** One input of a traced op: a tensor, a plain number (a scalar operand or a bound), or null (an absent optional). */
export type TracedInput = Tensor | number | null;

/** What a traced op reports. */
export interface TracedOp {
  /** The op's name as the tensor API spells it (`add`, `conv2d`, `reshape`). */
  readonly op: string;
  /** Its inputs, in the op's own order. */
  readonly inputs: readonly TracedInput[];
  /** Its outputs (one for most ops; `[values, indices]` for `max(dim)`). */
  readonly outputs: readonly Tensor[];
  /** What else the op needs to be reproduced: dims, strides, paddings, eps, dtypes. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** The receiver of a trace (an exporter implements it). */
export interface OpTracer {
  /** An op ran. */
  op(record: TracedOp): void;
  /** A tensor object was made (by an op, a view or a creation function). */
  created(t: Tensor): void;
  /** `t`'s values were read back synchronously by `op` (a graph that depends on them cannot be exported). */
  read(t: Tensor, op: string): void;
  /** `t` is about to be written in place by `op`. */
  writeInPlace(t: Tensor, op: string): void;
}

let active: OpTracer | null = null;
const NO_ATTRS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Runs `fn` with `tracer` receiving every op, tensor, read and in-place
 * write; returns what `fn` returns. Traces do not nest.
 */
export function withOpTracer<T>(tracer: OpTracer, fn: () => T): T {
  if (active !== null) throw new Error("withOpTracer: a trace is already running");
  active = tracer;
  try {
    return fn();
  } finally {
    active = null;
  }
}

/** Whether a trace is running. */
export function isTracing(): boolean {
  return active !== null;
}

/** Reports op `op` with its inputs, outputs and attributes to the running trace, if any; returns `out`. */
export function traced<T extends Tensor | readonly Tensor[]>(
  out: T,
  op: string,
  inputs: readonly TracedInput[],
  attrs: Readonly<Record<string, unknown>> = NO_ATTRS,
): T {
  if (active !== null) {
    active.op({ op, inputs, outputs: Array.isArray(out) ? out as readonly Tensor[] : [out as Tensor], attrs });
  }
  return out;
}

/** Internal: reports a new tensor object to the running trace. */
export function traceCreated(t: Tensor): void {
  if (active !== null) active.created(t);
}

/** Internal: reports a synchronous read of `t`'s values by `op`. */
export function traceRead(t: Tensor, op: string): void {
  if (active !== null) active.read(t, op);
}

/** Internal: reports an in-place write into `t` by `op`. */
export function traceInPlace(t: Tensor, op: string): void {
  if (active !== null) active.writeInPlace(t, op);
}

/**
 * Runs `fn` with the running trace (if any) paused: for reads that only
 * validate (an index range check, printing) and so do not shape the graph.
 */
export function untraced<T>(fn: () => T): T {
  const tracer = active;
  active = null;
  try {
    return fn();
  } finally {
    active = tracer;
  }
}
