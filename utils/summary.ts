/**
 * A model summary as torchinfo prints it: the layers in the order the
 * forward pass runs them (found with forward hooks), each with its output
 * shape and parameter count, then the totals (trainable and frozen), the
 * multiply-adds, and the memory that the input, activations and parameters
 * take.
 *
 * @module
 */

import type { Module } from "@dendrite/nn";
import { type DType, noGrad, Tensor, zeros } from "@dendrite/tensor";

/** Options of {@link summary}. */
export interface SummaryOptions {
  /** Deepest level of nested modules shown (default 3, torchinfo's); deeper layers still count in the totals. */
  depth?: number;
  /** Run the model on these tensors instead of zeros of the input size(s). */
  input?: Tensor | readonly Tensor[];
  /** The input's dtype (default "float32"). */
  dtype?: DType;
  /** Run in training mode instead of eval mode (default false); each module's own mode is restored after. */
  train?: boolean;
}

/** One call of one module during the summary's forward pass. */
export interface SummaryRow {
  /** The module's class name. */
  type: string;
  /** Its dotted name in the model (`layer1.0.conv1`; "" for the model itself). */
  name: string;
  /** Nesting depth (the model is 0). */
  depth: number;
  /** Running index among the rows of this depth (torchinfo's `depth-idx`). */
  depthIndex: number;
  /** Shape of the output (the first tensor of an array output), or null for a non-tensor output. */
  outputShape: number[] | null;
  /** Bytes of that output. */
  outputBytes: number;
  /** Parameters of the module and everything in it. */
  numParams: number;
  /** Those of them that require grad. */
  trainableParams: number;
  /** Bytes of those parameters. */
  paramBytes: number;
  /** Multiply-adds of the call, torchinfo's estimate (weight and bias elements times output positions). */
  multAdds: number;
  /** Whether the module has no child modules. */
  isLeaf: boolean;
  /** Whether this module already ran earlier in the pass (its parameters are counted once). */
  isRecursive: boolean;
  /** Rows of the calls made inside this one. */
  children: SummaryRow[];
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

function bytesOf(t: Tensor): number {
  return t.numel() * BYTES[t.dtype];
}

function* descendants(row: SummaryRow): Generator<SummaryRow> {
  for (const c of row.children) {
    yield c;
    yield* descendants(c);
  }
}

/**
 * torchinfo's "leftover": parameters of a container that no row below it
 * counts (its own, or those of children the pass never ran).
 */
function leftover(row: SummaryRow, key: "numParams" | "trainableParams"): number {
  let below = 0;
  for (const d of descendants(row)) if (!d.isRecursive) below += d.isLeaf ? d[key] : leftover(d, key);
  return row[key] - below;
}

const fmtInt = (n: number) => n.toLocaleString("en-US");

/**
 * What {@link summary} returns: the rows and the totals; printing it (or
 * `toString()`) gives torchinfo's table.
 */
export class ModelSummary {
  /** Every module call, in the order the forward pass made them. */
  readonly rows: SummaryRow[];
  /** The deepest level printed. */
  readonly depth: number;
  /** Parameters counted (every parameter of every module the pass ran, each once). */
  readonly totalParams: number;
  /** Those that require grad. */
  readonly trainableParams: number;
  /** Multiply-adds of the leaf layers. */
  readonly totalMultAdds: number;
  /** Bytes of the input. */
  readonly inputBytes: number;
  /** torchinfo's forward/backward estimate: twice the output bytes of every leaf layer with parameters. */
  readonly forwardBackwardBytes: number;
  /** Bytes of the parameters. */
  readonly paramBytes: number;

  /** Totals the rows as torchinfo's `ModelStatistics` does. */
  constructor(rows: SummaryRow[], inputBytes: number, depth: number) {
    this.rows = rows;
    this.depth = depth;
    this.inputBytes = inputBytes;
    let total = 0, trainable = 0, macs = 0, fb = 0, pb = 0;
    for (const r of rows) {
      if (r.isLeaf) {
        macs += r.multAdds;
        if (r.numParams > 0) fb += 2 * r.outputBytes;
        if (r.isRecursive) continue;
        total += r.numParams;
        trainable += r.trainableParams;
        pb += r.paramBytes;
      } else if (!r.isRecursive) {
        const own = leftover(r, "numParams");
        total += own;
        trainable += leftover(r, "trainableParams");
        pb += own > 0 ? r.paramBytes * own / r.numParams : 0;
      }
    }
    this.totalParams = total;
    this.trainableParams = trainable;
    this.totalMultAdds = macs;
    this.forwardBackwardBytes = fb;
    this.paramBytes = pb;
  }

  /** The table, as torchinfo prints it. */
  toString(): string {
    const shown = this.rows.filter((r) => r.depth <= this.depth);
    const label = (r: SummaryRow) =>
      (r.depth === 0 ? "" : r.depth === 1 ? "├─" : "│    ".repeat(r.depth - 1) + "└─") + r.type +
      (r.depth > 0 ? `: ${r.depth}-${r.depthIndex}` : "");
    let nameWidth = 40;
    for (const r of shown) nameWidth = Math.max(nameWidth, Math.ceil((r.type.length + 8 + r.depth * 5 + 1) / 5) * 5);
    const col = 25;
    const line = (a: string, b: string, c: string) => `${a.padEnd(nameWidth)} ${b.padEnd(col)} ${c}`.trimEnd();
    const params = (r: SummaryRow) => {
      if (r.numParams === 0) return "--";
      if (r.isRecursive) return "(recursive)";
      if (r.isLeaf || r.depth === this.depth) {
        return r.trainableParams ? fmtInt(r.numParams) : `(${fmtInt(r.numParams)})`;
      }
      const own = leftover(r, "numParams");
      return own > 0 ? fmtInt(own) : "--";
    };
    const rule = "=".repeat(nameWidth + 2 * col + 1);
    const mb = (b: number) => (b / 1e6).toFixed(2);
    return [
      rule,
      line("Layer (type:depth-idx)", "Output Shape", "Param #"),
      rule,
      ...shown.map((r) => line(label(r), r.outputShape ? `[${r.outputShape.join(", ")}]` : "--", params(r))),
      rule,
      `Total params: ${fmtInt(this.totalParams)}`,
      `Trainable params: ${fmtInt(this.trainableParams)}`,
      `Non-trainable params: ${fmtInt(this.totalParams - this.trainableParams)}`,
      `Total mult-adds (M): ${(this.totalMultAdds / 1e6).toFixed(2)}`,
      rule,
      `Input size (MB): ${mb(this.inputBytes)}`,
      `Forward/backward pass size (MB): ${mb(this.forwardBackwardBytes)}`,
      `Params size (MB): ${mb(this.paramBytes)}`,
      `Estimated Total Size (MB): ${mb(this.inputBytes + this.forwardBackwardBytes + this.paramBytes)}`,
      rule,
    ].join("\n");
  }

  /** Deno's console.log uses this. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * Runs `model` once (without a graph, in eval mode) on zeros of `inputSize`
 * (one shape, or one per forward argument) or on `options.input`, and
 * returns the layer tree with output shapes, parameter counts (trainable and
 * frozen) and memory, as torchinfo's `summary`. Modules the pass does not
 * run do not appear.
 *
 * @example
 * ```ts
 * import { Flatten, Linear, ReLU, Sequential } from "@dendrite/nn";
 * import { summary } from "./summary.ts";
 * const net = new Sequential(new Flatten(), new Linear(784, 32), new ReLU(), new Linear(32, 10));
 * const s = summary(net, [1, 1, 28, 28]);
 * console.log(s.totalParams); // 25450
 * console.log(s.toString()); // the table
 * ```
 */
export function summary(
  model: Module,
  inputSize?: readonly number[] | readonly (readonly number[])[],
  options: SummaryOptions = {},
): ModelSummary {
  const depth = options.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 0) {
    throw new RangeError(`summary: depth must be an integer ≥ 0, got ${depth}`);
  }
  const inputs = makeInputs(model, inputSize, options);
  const names = new Map<Module, string>();
  for (const [name, m] of model.namedModules()) names.set(m, name);

  const rows: SummaryRow[] = [];
  const stack: SummaryRow[] = [];
  const seen = new Set<Module>();
  const depthCounts: number[] = [];
  const handles = [];
  const modes = new Map<Module, boolean>();
  for (const m of names.keys()) modes.set(m, m.training);
  try {
    for (const m of names.keys()) {
      handles.push(m.registerForwardPreHook((mod) => {
        const d = stack.length;
        depthCounts[d] = (depthCounts[d] ?? 0) + 1;
        const { numParams, trainableParams, paramBytes } = countParams(mod);
        const row: SummaryRow = {
          type: mod.constructor.name,
          name: names.get(mod) ?? "",
          depth: d,
          depthIndex: depthCounts[d],
          outputShape: null,
          outputBytes: 0,
          numParams,
          trainableParams,
          paramBytes,
          multAdds: 0,
          isLeaf: mod.children().next().done === true,
          isRecursive: seen.has(mod),
          children: [],
        };
        seen.add(mod);
        stack.at(-1)?.children.push(row);
        stack.push(row);
        rows.push(row);
      }));
      handles.push(m.registerForwardHook((mod, _args, output) => {
        const row = stack.pop()!;
        const first = output instanceof Tensor
          ? output
          : Array.isArray(output)
          ? output.find((o): o is Tensor => o instanceof Tensor)
          : undefined;
        if (first) {
          row.outputShape = [...first.shape];
          row.outputBytes = bytesOf(first);
          row.multAdds = multAdds(mod, first.shape);
        }
      }));
    }
    model.train(options.train ?? false);
    noGrad(() => (model.forward as (...args: Tensor[]) => unknown)(...inputs));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, mode] of modes) m.training = mode;
  }
  return new ModelSummary(rows, inputs.reduce((s, t) => s + bytesOf(t), 0), depth);
}

function makeInputs(
  model: Module,
  inputSize: readonly number[] | readonly (readonly number[])[] | undefined,
  options: SummaryOptions,
): Tensor[] {
  if (options.input) return options.input instanceof Tensor ? [options.input] : [...options.input];
  if (!inputSize || inputSize.length === 0) {
    throw new RangeError("summary: give an input size (e.g. [1, 1, 28, 28]) or options.input");
  }
  const shapes = (Array.isArray(inputSize[0]) ? inputSize : [inputSize]) as readonly (readonly number[])[];
  for (const s of shapes) {
    if (!s.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`summary: input size [${s.join(", ")}] must be non-negative integers`);
    }
  }
  const first = model.parameters().next();
  const device = first.done ? "cpu" : first.value.device;
  return shapes.map((s) => zeros([...s], { dtype: options.dtype ?? "float32", device }));
}

function countParams(m: Module): { numParams: number; trainableParams: number; paramBytes: number } {
  let numParams = 0, trainableParams = 0, paramBytes = 0;
  for (const p of m.parameters()) {
    numParams += p.numel();
    if (p.requiresGrad) trainableParams += p.numel();
    paramBytes += bytesOf(p);
  }
  return { numParams, trainableParams, paramBytes };
}

/**
 * torchinfo's multiply-add estimate for one call: each own `weight`/`bias`
 * element once per output position — for convolutions, per batch element
 * and spatial position; otherwise per batch element.
 */
function multAdds(m: Module, outShape: readonly number[]): number {
  let own = 0;
  for (const [name, p] of m.namedParameters("", false)) if (name === "weight" || name === "bias") own += p.numel();
  if (own === 0 || outShape.length === 0) return 0;
  const positions = m.constructor.name.includes("Conv")
    ? outShape[0] * outShape.slice(2).reduce((a, b) => a * b, 1)
    : outShape[0];
  return own * positions;
}
