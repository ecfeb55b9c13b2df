/**
 * `onnx.export`: traces a model's forward pass on example inputs and writes
 * an ONNX model, PyTorch's `torch.onnx.export` in TypeScript.
 *
 * @module
 */

import { cat, noGrad, type Tensor } from "@dendrite/tensor";
import type { Module } from "@dendrite/nn";
import { type Emitter, GraphBuilder, RecContext, tensorMsg } from "./graph.ts";
import { ELEMENTWISE } from "./ops_elementwise.ts";
import { SHAPE_OPS } from "./ops_shape.ts";
import { NN_OPS } from "./ops_nn.ts";
import { ATTENTION_OPS } from "./ops_attention.ts";
import { RNN_OPS } from "./ops_rnn.ts";
import { SCATTER_OPS } from "./ops_scatter.ts";
import { IMAGE_OPS } from "./ops_image.ts";
import { type ModuleExport, moduleRule } from "./modules.ts";
import { encodeModel, type NodeMsg, type TensorMsg, type ValueInfoMsg } from "./proto.ts";
import { type SymbolicAxis, traceGrowth } from "./sizes.ts";
import { flattenTensors, OnnxExportError, type Trace, traceForward, unflatten } from "./trace.ts";
import { dataType } from "./graph.ts";

/** The example inputs of an export: one tensor, or the forward's arguments (each a tensor or nested array of them). */
export type ExampleInputs = Tensor | readonly ExampleArg[];

/** One forward argument: a tensor, or a (nested) array of tensors such as an LSTM's `[h0, c0]`. */
export type ExampleArg = Tensor | readonly ExampleArg[];

/**
 * Dynamic axes, as PyTorch's `dynamic_axes`: per input or output name, the
 * axes whose size may change, as `{ axis: name }` or a list of axes (named
 * `<value>_dynamic_axes_<k>`). Axes with the same name are the same size.
 */
export type DynamicAxes = Readonly<Record<string, Readonly<Record<number, string>> | readonly number[]>>;

/** Options of {@link exportModel} (PyTorch's keyword arguments in camelCase). */
export interface ExportOptions {
  /** Names of the graph's inputs, in the order of the flattened example inputs (default `input_0`, …). */
  inputNames?: readonly string[];
  /** Names of the graph's outputs, in the order of the flattened forward results (default `output_0`, …). */
  outputNames?: readonly string[];
  /** Axes whose size may differ from the example inputs' (a batch, a sequence length). */
  dynamicAxes?: DynamicAxes;
  /** The ONNX opset, 13 to 17 (default 17, PyTorch's default). */
  opsetVersion?: number;
}

/** The opsets the mappings are written for. */
export const MIN_OPSET = 13, MAX_OPSET = 17;
/** The ONNX IR version written (that of ONNX 1.12, which opset 17 belongs to). */
export const IR_VERSION = 8;

const OPS: Readonly<Record<string, Emitter>> = {
  ...ELEMENTWISE,
  ...SHAPE_OPS,
  ...NN_OPS,
  ...ATTENTION_OPS,
  ...RNN_OPS,
  ...SCATTER_OPS,
  ...IMAGE_OPS,
};

/** The traced op names that have an ONNX mapping (layers exported whole are not listed). */
export function supportedOps(): string[] {
  return Object.keys(OPS).sort();
}

function resolveAxes(
  dynamicAxes: DynamicAxes,
  inputNames: readonly string[],
  outputNames: readonly string[],
  inputs: readonly Tensor[],
): { axes: SymbolicAxis[]; outputAxes: Record<string, Record<number, string>> } {
  const byName = new Map<string, { size: number; at: [number, number][] }>();
  const outputAxes: Record<string, Record<number, string>> = {};
  for (const [value, spec] of Object.entries(dynamicAxes)) {
    const input = inputNames.indexOf(value);
    const isOutput = outputNames.includes(value);
    if (input < 0 && !isOutput) {
      throw new OnnxExportError(
        `onnx.export: dynamicAxes names "${value}", which is neither an input (${inputNames.join(", ")}) nor an ` +
          `output (${outputNames.join(", ")})`,
      );
    }
    const entries: [number, string][] = Array.isArray(spec)
      ? (spec as readonly number[]).map((a, k) => [a, `${value}_dynamic_axes_${k + 1}`])
      : Object.entries(spec as Record<number, string>).map(([a, n]) => [Number(a), n]);
    if (isOutput) {
      outputAxes[value] = Object.fromEntries(entries);
      continue;
    }
    const t = inputs[input];
    for (const [axis, name] of entries) {
      if (!Number.isInteger(axis) || axis < 0 || axis >= t.ndim) {
        throw new OnnxExportError(
          `onnx.export: dynamicAxes["${value}"] names axis ${axis}, but that input has shape [${t.shape.join(", ")}]`,
        );
      }
      const sym = byName.get(name) ?? { size: t.shape[axis], at: [] };
      if (sym.size !== t.shape[axis]) {
        throw new OnnxExportError(
          `onnx.export: dynamic axis "${name}" has size ${sym.size} in one input and ${t.shape[axis]} in "${value}"`,
        );
      }
      sym.at.push([input, axis]);
      byName.set(name, sym);
    }
  }
  const axes = [...byName].map(([name, s]) => ({ name, size: s.size, at: s.at }));
  if (axes.length > 4) {
    throw new OnnxExportError(`onnx.export: at most 4 distinct dynamic axes are supported, got ${axes.length}`);
  }
  return { axes, outputAxes };
}

/** The example inputs with each axis grown by `growth[s]` (a copy of its first slice appended). */
function grow(inputs: readonly Tensor[], axes: readonly SymbolicAxis[], growth: readonly number[]): Tensor[] {
  return noGrad(() =>
    inputs.map((t, i) => {
      let x = t;
      axes.forEach((a, s) => {
        if (!growth[s]) return;
        for (const [input, axis] of a.at) if (input === i) x = cat([x, x.narrow(axis, 0, 1)], axis);
      });
      return x;
    })
  );
}

/** Checks that the traces recorded the same ops on the same values; names the first difference. */
function matchTraces(traces: readonly Trace[], axes: readonly SymbolicAxis[]): void {
  const [base, ...rest] = traces;
  for (const [k, t] of rest.entries()) {
    const why = (msg: string) =>
      new OnnxExportError(
        `onnx.export: forward does different work when a dynamic axis (${
          axes.map((a) => a.name).join(", ")
        }) changes size (trace ${k + 1}): ${msg}. ONNX graphs are fixed: a loop or branch over a dynamic axis ` +
          `cannot be exported; make that axis static`,
      );
    const n = Math.min(base.recs.length, t.recs.length);
    for (let i = 0; i < n; i++) {
      const a = base.recs[i], b = t.recs[i];
      if (a.op !== b.op || a.module?.module !== b.module?.module) {
        throw why(`op #${i} is ${a.op} in one and ${b.op} in the other`);
      }
      if (a.inputs.length !== b.inputs.length) throw why(`op #${i} (${a.op}) has a different number of inputs`);
      for (const [j, ra] of a.inputs.entries()) {
        const rb = b.inputs[j];
        const same = ra.kind === rb.kind &&
          (ra.kind === "value"
            ? ra.id === (rb as typeof ra).id
            : ra.kind === "tensor"
            ? ra.tensor === (rb as typeof ra).tensor || base.born.has(ra.tensor)
            : true);
        if (!same) throw why(`input ${j} of op #${i} (${a.op}) comes from elsewhere`);
      }
    }
    if (base.recs.length !== t.recs.length) {
      throw why(`it ran ${base.recs.length} ops in one trace and ${t.recs.length} in the other`);
    }
    if (base.outputs.length !== t.outputs.length) throw why("it returns a different number of tensors");
  }
}

/** The ops the outputs depend on, in trace order. */
function reachable(trace: Trace): number[] {
  const need = new Set<number>();
  const stack = trace.outputs.flatMap((r) => (r.kind === "value" ? [r.id] : []));
  const seen = new Set<number>();
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const [rec] = trace.producers[id];
    if (rec < 0 || need.has(rec)) continue;
    need.add(rec);
    for (const r of trace.recs[rec].inputs) if (r.kind === "value") stack.push(r.id);
  }
  return [...need].sort((a, b) => a - b);
}

function valueInfo(name: string, t: Tensor, dims: ValueInfoMsg["type"]["tensor_type"]["shape"]["dim"]): ValueInfoMsg {
  return { name, type: { tensor_type: { elem_type: dataType(t.dtype), shape: { dim: dims } } } };
}

/** Renames value `from` to `to` in every node. */
function rename(nodes: NodeMsg[], from: string, to: string): void {
  for (const n of nodes) {
    n.input = n.input.map((x) => (x === from ? to : x));
    n.output = n.output.map((x) => (x === from ? to : x));
  }
}

/**
 * Traces `model.forward` on `exampleInputs` and returns the ONNX model as
 * bytes (see {@link exportModel}, which writes them to a file).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear, ReLU, Sequential } from "@dendrite/nn";
 * import { exportBytes } from "./export.ts";
 * const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
 * const bytes = await exportBytes(net, randn([1, 4]), { dynamicAxes: { input_0: { 0: "batch" } } });
 * console.log(bytes.length > 0); // true
 * ```
 */
export async function exportBytes(
  model: Module,
  exampleInputs: ExampleInputs,
  options: ExportOptions = {},
): Promise<Uint8Array> {
  const opset = options.opsetVersion ?? MAX_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxExportError(`onnx.export: opsetVersion must be ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  }
  if (typeof model?.forward !== "function" || typeof model.namedModules !== "function") {
    throw new OnnxExportError("onnx.export: model must be a Module");
  }
  const args: readonly unknown[] = Array.isArray(exampleInputs) ? exampleInputs : [exampleInputs];
  const inputs = flattenTensors(args, "the example inputs");
  const inputNames = inputs.map((_, i) => options.inputNames?.[i] ?? `input_${i}`);
  if (options.inputNames && options.inputNames.length > inputs.length) {
    throw new OnnxExportError(
      `onnx.export: ${options.inputNames.length} inputNames for ${inputs.length} example input tensors`,
    );
  }
  if (new Set(inputNames).size !== inputNames.length) {
    throw new OnnxExportError(`onnx.export: input names repeat: ${inputNames.join(", ")}`);
  }
  const { axes, outputAxes } = resolveAxes(options.dynamicAxes ?? {}, inputNames, options.outputNames ?? [], inputs);

  // Trace in eval mode (dropout off, batch norm on its running statistics), as PyTorch's export does by default.
  const modes = [...model.modules()].map((m) => [m, m.training] as const);
  model.eval();
  const growths = traceGrowth(axes.length);
  let traces: Trace[];
  try {
    traces = growths.map((g) => {
      const flat = g.some((v) => v) ? grow(inputs, axes, g) : inputs;
      return noGrad(() => traceForward(model, unflatten(args, flat) as unknown[], moduleRule));
    });
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  matchTraces(traces, axes);
  const base = traces[0];
  const outputNames = base.outputs.map((_, i) => options.outputNames?.[i] ?? `output_${i}`);
  if (options.outputNames && options.outputNames.length > base.outputs.length) {
    throw new OnnxExportError(
      `onnx.export: ${options.outputNames.length} outputNames for ${base.outputs.length} forward results`,
    );
  }
  if (new Set(outputNames).size !== outputNames.length || outputNames.some((n) => inputNames.includes(n))) {
    throw new OnnxExportError(`onnx.export: output names repeat or reuse an input name: ${outputNames.join(", ")}`);
  }

  const modelNames = new Map<Tensor, string>();
  for (const [name, b] of model.namedBuffers()) modelNames.set(b, name);
  for (const [name, p] of model.namedParameters()) modelNames.set(p, name);
  const sizes = growths.map((g) => axes.map((a, s) => a.size + g[s]));
  const g = new GraphBuilder(traces, sizes, axes, inputNames, modelNames, opset);
  outputNames.forEach((n) => g.fresh(n));

  for (const index of reachable(base)) {
    const rec = base.recs[index];
    const ctx = new RecContext(g, index);
    let names: string[];
    if (rec.module) {
      const emit = (rec.module.rule as ModuleExport).emit;
      names = emit ? emit(ctx, rec.module.module) : ctx.fail("this layer has no ONNX mapping");
    } else {
      const emit = OPS[rec.op];
      if (!emit) {
        ctx.fail(
          `op "${rec.op}" has no ONNX mapping (the ops that export: ${supportedOps().join(", ")}; ` +
            `layers exported whole: RNN, LSTM, GRU)`,
        );
      }
      names = emit(ctx);
    }
    if (names.length !== rec.outIds.length) {
      ctx.fail(`its mapping gave ${names.length} outputs for ${rec.outIds.length}`);
    }
    rec.outIds.forEach((id, j) => g.names.set(id, names[j]));
  }

  // The graph's outputs: a node's output takes the output's name; an input, a weight or a repeat goes through Identity.
  const outputs: ValueInfoMsg[] = [];
  const taken = new Set<string>(inputNames);
  base.outputs.forEach((ref, k) => {
    const want = outputNames[k];
    let src: string;
    if (ref.kind === "value") {
      src = g.names.get(ref.id)!;
      if (src === "") throw new OnnxExportError(`onnx.export: output ${k} comes from an output no mapping produces`);
    } else if (ref.kind === "tensor") src = g.outsideTensor(ref.tensor, `output "${want}"`);
    else throw new OnnxExportError(`onnx.export: output ${k} is not a tensor`);
    const producedByNode = g.nodes.some((n) => n.output.includes(src));
    if (producedByNode && !taken.has(src)) {
      rename(g.nodes, src, want);
      for (const [id, n] of g.names) if (n === src) g.names.set(id, want);
    } else g.nodes.push({ name: `${want}/Identity`, op_type: "Identity", input: [src], output: [want], attribute: [] });
    taken.add(want);
    const shapes = traces.map((t) => {
      const r = t.outputs[k];
      return r.kind === "value" ? t.values[r.id].shape : r.kind === "tensor" ? r.tensor.shape : [];
    });
    const t = ref.kind === "value" ? base.values[ref.id] : (ref as { tensor: Tensor }).tensor;
    outputs.push(valueInfo(want, t, g.dims(shapes, want, outputAxes[want] ?? {})));
  });

  const graphInputs = inputs.map((t, i) =>
    valueInfo(
      inputNames[i],
      t,
      t.shape.map((size, axis) => {
        const sym = axes.find((a) => a.at.some(([inp, ax]) => inp === i && ax === axis));
        return sym ? { dim_param: sym.name } : { dim_value: size };
      }),
    )
  );

  const weights: TensorMsg[] = [];
  for (const { name, tensor } of g.pending) {
    weights.push(tensorMsg(name, await tensor.data(), tensor.dtype, tensor.shape));
  }

  return encodeModel({
    ir_version: IR_VERSION,
    opset_import: [{ domain: "", version: opset }],
    producer_name: "dendrite",
    producer_version: "0.1.0",
    graph: {
      // The checker requires a name; an anonymous class has none.
      name: model.constructor.name || "model",
      node: g.nodes,
      initializer: [...weights, ...g.initializers],
      input: graphInputs,
      output: outputs,
    },
  });
}

/**
 * PyTorch's `torch.onnx.export(model, args, f, input_names=…, output_names=…,
 * dynamic_axes=…, opset_version=…)`: runs `model.forward` once on
 * `exampleInputs` in eval mode (restoring the mode after) with every op
 * recorded, maps the ops to ONNX operators and writes the model to `path`.
 * Weights are initializers named by their state-dict keys. With
 * `dynamicAxes` the forward is traced again with those axes one longer, and
 * sizes that follow them (a reshape to `[B·T, C]`, a slice to `T - 1`) are
 * computed in the graph. An op without an ONNX mapping, an in-place write or
 * a value read inside forward fails with an {@link OnnxExportError} naming it.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear, ReLU, Sequential } from "@dendrite/nn";
 * import { exportModel } from "./export.ts";
 * const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
 * const path = await Deno.makeTempFile({ suffix: ".onnx" });
 * await exportModel(net, randn([1, 4]), path, {
 *   inputNames: ["x"],
 *   outputNames: ["logits"],
 *   dynamicAxes: { x: { 0: "batch" }, logits: { 0: "batch" } },
 * });
 * ```
 */
export async function exportModel(
  model: Module,
  exampleInputs: ExampleInputs,
  path: string | URL,
  options: ExportOptions = {},
): Promise<void> {
  const bytes = await exportBytes(model, exampleInputs, options);
  await Deno.writeFile(path, bytes);
}
