/**
 * Records one forward pass as a list of ops over numbered values, through
 * the tensor member's op tracer (`withOpTracer`), with module rules wrapping
 * the layers exported whole (recurrent layers). A tensor's value id changes
 * each time an op reports it as an output, so a composite op reported after
 * its parts supersedes them and the parts are left unused.
 *
 * @module
 */

import { type OpTracer, type Storage, type Tensor, type TracedOp, withOpTracer } from "@dendrite/tensor";
import type { Module } from "@dendrite/nn";

/** What an op input refers to. */
export type Ref =
  | { readonly kind: "value"; readonly id: number }
  | { readonly kind: "tensor"; readonly tensor: Tensor }
  | { readonly kind: "scalar"; readonly value: number }
  | { readonly kind: "none" };

/** A layer exported as a whole rather than through the ops inside it. */
export interface ModuleRule {
  /** Throws (before the call runs) for a call that cannot be exported, naming the layer and why. */
  check?(module: Module, args: readonly unknown[]): void;
  /** The call's tensor inputs in a fixed order (null for an absent one); omit for a rule that only checks. */
  inputs?(module: Module, args: readonly unknown[]): (Tensor | null)[];
  /** The call's tensor outputs in a fixed order. */
  outputs?(module: Module, result: unknown): Tensor[];
}

/** One recorded op. */
export interface Rec {
  /** Its position in the trace. */
  readonly index: number;
  /** The op's name (`conv2d`), or `module` for a layer recorded whole. */
  readonly op: string;
  /** What its inputs refer to. */
  readonly inputs: readonly Ref[];
  /** Value ids of its outputs. */
  readonly outIds: readonly number[];
  /** Its output tensors (for shapes and dtypes). */
  readonly outputs: readonly Tensor[];
  /** Its attributes. */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** For a layer recorded whole: the layer, its dotted name and its rule. */
  readonly module?: { readonly module: Module; readonly name: string; readonly rule: ModuleRule };
}

/** One recorded forward pass. */
export interface Trace {
  /** The ops in the order they ran. */
  readonly recs: readonly Rec[];
  /** Per value id, the tensor it was (graph inputs first). */
  readonly values: readonly Tensor[];
  /** Per value id, the op that produced it (-1 for a graph input) and which of its outputs. */
  readonly producers: readonly (readonly [number, number])[];
  /** The forward's outputs, flattened. */
  readonly outputs: readonly Ref[];
  /** Tensors made during the trace, with where they were made (a stack), for the error about untraced ops. */
  readonly born: ReadonlyMap<Tensor, string>;
}

/** Why an export failed: the message names the op or layer and what to do. */
export class OnnxExportError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "OnnxExportError";
  }
}

class Recorder implements OpTracer {
  recs: Rec[] = [];
  values: Tensor[] = [];
  producers: (readonly [number, number])[] = [];
  ids = new Map<Tensor, number>();
  storages = new Set<Storage>();
  born = new Map<Tensor, string>();

  constructor(inputs: readonly Tensor[]) {
    for (const t of inputs) this.define(t, -1, 0);
  }

  define(t: Tensor, rec: number, slot: number): number {
    const id = this.values.length;
    this.values.push(t);
    this.producers.push([rec, slot]);
    this.ids.set(t, id);
    this.storages.add(t.storage);
    return id;
  }

  ref(x: unknown): Ref {
    if (x === null || x === undefined) return { kind: "none" };
    if (typeof x === "number") return { kind: "scalar", value: x };
    const t = x as Tensor;
    const id = this.ids.get(t);
    return id === undefined ? { kind: "tensor", tensor: t } : { kind: "value", id };
  }

  add(
    op: string,
    inputs: readonly unknown[],
    outputs: readonly Tensor[],
    attrs: Readonly<Record<string, unknown>>,
    module?: Rec["module"],
  ): void {
    // An op that hands back one of its inputs (a no-op reshape, contiguous on a contiguous tensor) changes no value.
    if (outputs.some((o) => inputs.includes(o))) return;
    const index = this.recs.length;
    const refs = inputs.map((x) => this.ref(x));
    const outIds = outputs.map((t, slot) => this.define(t, index, slot));
    this.recs.push({ index, op, inputs: refs, outIds, outputs, attrs, module });
  }

  op(r: TracedOp): void {
    this.add(r.op, r.inputs, r.outputs, r.attrs);
  }

  created(t: Tensor): void {
    this.born.set(t, new Error().stack?.split("\n").slice(3, 9).join("\n") ?? "");
  }

  read(t: Tensor, op: string): void {
    if (!this.storages.has(t.storage)) return;
    throw new OnnxExportError(
      `onnx.export: ${op} read the values of a tensor computed from the inputs during the trace, so the graph would ` +
        `depend on the data; ONNX export needs a forward whose ops do not depend on tensor values`,
    );
  }

  writeInPlace(t: Tensor, op: string): void {
    if (!this.storages.has(t.storage)) return;
    throw new OnnxExportError(
      `onnx.export: ${op} writes in place into a tensor computed from the inputs; an exported graph has no in-place ` +
        `ops: use the out-of-place op (${op.replace(/_$/, "")}) in forward`,
    );
  }
}

/** Flattens nested arrays of tensors (a forward's arguments or results) in order. */
export function flattenTensors(x: unknown, what: string, out: Tensor[] = []): Tensor[] {
  if (Array.isArray(x)) { for (const v of x) flattenTensors(v, what, out); }
  else if (isTensor(x)) out.push(x);
  else {
    throw new OnnxExportError(
      `onnx.export: ${what} must be tensors or (nested) arrays of tensors, got ${
        x === null ? "null" : typeof x === "object" ? (x as object).constructor.name : typeof x
      }`,
    );
  }
  return out;
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "storage" in x && "shape" in x && "strides" in x;
}

/** Rebuilds `template`'s nesting with `flat`'s tensors in order. */
export function unflatten(template: unknown, flat: readonly Tensor[], at = { i: 0 }): unknown {
  if (Array.isArray(template)) return template.map((v) => unflatten(v, flat, at));
  return flat[at.i++];
}

/**
 * Runs `model.forward(...args)` once with a recorder installed and the layers
 * that `ruleFor` names wrapped, and returns the trace. The model must already
 * be in the mode it is exported in (eval), and grad mode should be off.
 */
export function traceForward(
  model: Module,
  args: readonly unknown[],
  ruleFor: (m: Module) => ModuleRule | null,
): Trace {
  const inputs = flattenTensors(args, "the example inputs");
  const rec = new Recorder(inputs);
  const restore: (() => void)[] = [];
  for (const [name, m] of model.namedModules()) {
    const rule = ruleFor(m);
    if (!rule) continue;
    const forward = m.forward;
    const had = Object.hasOwn(m, "forward");
    const wrapped = function (this: Module, ...a: unknown[]): unknown {
      rule.check?.(m, a);
      const result = forward.apply(this, a);
      if (rule.inputs && rule.outputs) {
        rec.add("module", rule.inputs(m, a), rule.outputs(m, result), {}, { module: m, name, rule });
      }
      return result;
    };
    Object.defineProperty(m, "forward", { value: wrapped, configurable: true, writable: true, enumerable: false });
    restore.push(() => {
      if (had) Object.defineProperty(m, "forward", { value: forward, configurable: true, writable: true });
      else delete (m as unknown as Record<string, unknown>).forward;
    });
  }
  try {
    const result = withOpTracer(rec, () => (model.forward as (...a: unknown[]) => unknown)(...args));
    const outs = flattenTensors(result, "forward's results");
    return {
      recs: rec.recs,
      values: rec.values,
      producers: rec.producers,
      outputs: outs.map((t) => rec.ref(t)),
      born: rec.born,
    };
  } finally {
    for (const undo of restore) undo();
  }
}
