/**
 * Turns matched traces into ONNX nodes: the builder names values, collects
 * nodes and initializers, and gives each op's emitter an {@link OpContext}
 * over its inputs, attributes and the sizes that vary with dynamic axes.
 *
 * @module
 */

import type { DType, Tensor } from "@dendrite/tensor";
import { type AttributeMsg, AttributeType, DataType, type NodeMsg, type TensorMsg } from "./proto.ts";
import { asSymbol, fitPoly, isConstant, type Poly, showPoly, type SymbolicAxis } from "./sizes.ts";
import { OnnxExportError, type Rec, type Ref, type Trace } from "./trace.ts";

/** An element type of an ONNX tensor the exporter writes: ours, plus int64 for shapes and indices. */
export type OnnxType = DType | "int64";

/** The ONNX `TensorProto.DataType` of an element type. */
export function dataType(t: OnnxType): number {
  switch (t) {
    case "float32":
      return DataType.FLOAT;
    case "float64":
      return DataType.DOUBLE;
    case "int32":
      return DataType.INT32;
    case "bool":
      return DataType.BOOL;
    case "int64":
      return DataType.INT64;
  }
}

/** A node attribute's value, tagged with its ONNX type. */
export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly strings: readonly string[] }
  | { readonly t: { values: ArrayLike<number>; type: OnnxType; dims: readonly number[] } };

/** Integers that may vary with the dynamic axes: one polynomial per entry. */
export interface DynInts {
  /** Per entry, its value as a polynomial of the axis sizes. */
  readonly polys: readonly Poly[];
  /** The values in the example trace. */
  readonly values: readonly number[];
}

/** Whether every entry of `d` is a constant. */
export function isStatic(d: DynInts): boolean {
  return d.polys.every(isConstant);
}

/** What an op's emitter sees. */
export interface OpContext {
  /** The op as the example trace recorded it. */
  readonly rec: Rec;
  /** The opset the model is exported at. */
  readonly opset: number;
  /** Whether input `i` is present (not null). */
  has(i: number): boolean;
  /** The ONNX name of tensor input `i`. */
  input(i: number): string;
  /** Input `i` as type `type`: a tensor (cast when its dtype differs) or a scalar as a 0-d constant. */
  operand(i: number, type: OnnxType): string;
  /** The example trace's tensor at input `i`. */
  inTensor(i: number): Tensor;
  /** The example trace's tensor at output `j`. */
  output(j: number): Tensor;
  /** A static attribute (throws, naming the op, when it differs between traces). */
  attr<T>(key: string): T;
  /** Whether attribute `key` differs between the traces (it depends on a dynamic axis). */
  varies(key: string): boolean;
  /** An integer (or list of integers) attribute that may vary with the dynamic axes. */
  attrInts(key: string): DynInts;
  /** Output `j`'s shape, with sizes that vary with the dynamic axes. */
  outShape(j: number): DynInts;
  /** Input `i`'s shape, likewise. */
  inShape(i: number): DynInts;
  /** `d` as an int64 1-D tensor: a constant, or computed from the inputs' shapes. */
  ints(d: DynInts): string;
  /** Adds a node; returns its `outputs` fresh output names. */
  node(opType: string, inputs: readonly string[], attrs?: Record<string, Attr>, outputs?: number): string[];
  /** A constant tensor (an initializer). */
  constant(values: ArrayLike<number>, type: OnnxType, dims: readonly number[]): string;
  /** A tensor of the model (a parameter or buffer) as an initializer of `name`, read at the end. */
  tensorInit(t: Tensor, name: string): string;
  /** Throws an export error about this op. */
  fail(message: string): never;
}

/** An op's ONNX mapping: returns the ONNX names of the op's outputs ("" for an output nothing may use). */
export type Emitter = (ctx: OpContext) => string[];

const encoder = new TextEncoder();

function attrMsg(name: string, a: Attr): AttributeMsg {
  if ("i" in a) return { name, type: AttributeType.INT, i: a.i };
  if ("f" in a) return { name, type: AttributeType.FLOAT, f: a.f };
  if ("s" in a) return { name, type: AttributeType.STRING, s: encoder.encode(a.s) };
  if ("ints" in a) return { name, type: AttributeType.INTS, ints: [...a.ints] };
  if ("floats" in a) return { name, type: AttributeType.FLOATS, floats: [...a.floats] };
  if ("strings" in a) return { name, type: AttributeType.STRINGS, strings: a.strings.map((s) => encoder.encode(s)) };
  return { name, type: AttributeType.TENSOR, t: tensorMsg("", a.t.values, a.t.type, a.t.dims) };
}

/** Little-endian bytes of `values` as `type`. */
function rawBytes(values: ArrayLike<number>, type: OnnxType): Uint8Array {
  const n = values.length;
  switch (type) {
    case "float32":
      return new Uint8Array(Float32Array.from(values).buffer);
    case "float64":
      return new Uint8Array(Float64Array.from(values).buffer);
    case "int32":
      return new Uint8Array(Int32Array.from(values).buffer);
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(Math.trunc(values[i]));
      return new Uint8Array(out.buffer);
    }
  }
}

/** A `TensorProto` holding `values`. */
export function tensorMsg(name: string, values: ArrayLike<number>, type: OnnxType, dims: readonly number[]): TensorMsg {
  return { name, dims: [...dims], data_type: dataType(type), raw_data: rawBytes(values, type) };
}

/** The traces of one export, matched op by op, and what the emitters build from them. */
export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  /** Initializers ready now, and tensors to read before encoding. */
  readonly initializers: TensorMsg[] = [];
  readonly pending: { name: string; tensor: Tensor }[] = [];
  /** The ONNX name of each value id of the example trace. */
  readonly names = new Map<number, string>();
  #used = new Set<string>();
  #tensorNames = new Map<Tensor, string>();
  #constCache = new Map<string, string>();
  #symbolNames = new Map<number, string>();
  #constCount = 0;

  constructor(
    readonly traces: readonly Trace[],
    /** Per trace, the size of each axis. */
    readonly sizes: readonly (readonly number[])[],
    readonly axes: readonly SymbolicAxis[],
    readonly inputNames: readonly string[],
    /** State-dict names of the model's parameters and buffers. */
    readonly modelNames: ReadonlyMap<Tensor, string>,
    readonly opset: number,
  ) {
    inputNames.forEach((n, i) => {
      this.names.set(i, n);
      this.#used.add(n);
    });
  }

  /** A name not used yet, from `base`. */
  fresh(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_.:/-]/g, "_");
    for (let k = 1; this.#used.has(name); k++) name = `${base}_${k}`;
    this.#used.add(name);
    return name;
  }

  /** Adds a node named after `base`; returns its fresh output names. */
  node(
    base: string,
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    outputs = 1,
  ): string[] {
    const name = this.fresh(`${base}/${opType}`);
    const outs = Array.from({ length: outputs }, (_, k) => this.fresh(`${name}_output_${k}`));
    this.nodes.push({
      name,
      op_type: opType,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attrMsg(k, v)),
    });
    return outs;
  }

  /** A constant initializer (small ones are shared). */
  constant(values: ArrayLike<number>, type: OnnxType, dims: readonly number[]): string {
    const key = values.length <= 64 ? `${type}|${dims.join(",")}|${Array.from(values).join(",")}` : null;
    const hit = key ? this.#constCache.get(key) : undefined;
    if (hit) return hit;
    const name = this.fresh(`const_${this.#constCount++}`);
    this.initializers.push(tensorMsg(name, values, type, dims));
    if (key) this.#constCache.set(key, name);
    return name;
  }

  /** An initializer read from `t` at the end, named `name` (each tensor once). */
  tensorInit(t: Tensor, name: string): string {
    const had = this.#tensorNames.get(t);
    if (had) return had;
    const n = this.fresh(name);
    this.#tensorNames.set(t, n);
    this.pending.push({ name: n, tensor: t });
    return n;
  }

  /** The ONNX name of a tensor that was not made inside the trace: a parameter, a buffer, or a constant. */
  outsideTensor(t: Tensor, where: string): string {
    const stack = this.traces[0].born.get(t);
    if (stack !== undefined) {
      throw new OnnxExportError(
        `onnx.export: ${where} takes a tensor of shape [${t.shape.join(", ")}] that forward made with an op the ` +
          `exporter is not told about (an op without an ONNX mapping that does not report itself); it was made at:\n${stack}`,
      );
    }
    return this.tensorInit(t, this.modelNames.get(t) ?? `const_${this.#constCount++}`);
  }

  /** The axis `s`'s size at run time, as an int64 `[1]` tensor read from the input that has it. */
  symbol(s: number): string {
    const had = this.#symbolNames.get(s);
    if (had) return had;
    const [input, axis] = this.axes[s].at[0];
    const shape = this.node(`shape_${this.axes[s].name}`, "Shape", [this.inputNames[input]])[0];
    const name = this.node(`shape_${this.axes[s].name}`, "Gather", [shape, this.constant([axis], "int64", [1])], {
      axis: { i: 0 },
    })[0];
    this.#symbolNames.set(s, name);
    return name;
  }

  /** `p` as an int64 `[1]` tensor computed from the axes' sizes. */
  poly(p: Poly): string {
    const key = `poly|${p.constant}|${p.linear.join(",")}|${p.quadratic.map((q) => q.join(":")).join(",")}`;
    const hit = this.#constCache.get(key);
    if (hit) return hit;
    const c = (v: number) => this.constant([v], "int64", [1]);
    let sum: string | null = null;
    const add = (term: string) => (sum = sum === null ? term : this.node("size", "Add", [sum, term])[0]);
    const scaled = (
      factor: string,
      coef: number,
    ) => (coef === 1 ? factor : this.node("size", "Mul", [factor, c(coef)])[0]);
    for (const [s, t, coef] of p.quadratic) {
      if (coef !== 0) add(scaled(this.node("size", "Mul", [this.symbol(s), this.symbol(t)])[0], coef));
    }
    p.linear.forEach((coef, s) => {
      if (coef !== 0) add(scaled(this.symbol(s), coef));
    });
    if (p.constant !== 0 || sum === null) add(c(p.constant));
    this.#constCache.set(key, sum!);
    return sum!;
  }

  /** `d` as an int64 1-D tensor (static runs become constants, varying entries are computed and joined). */
  ints(d: DynInts): string {
    if (isStatic(d)) return this.constant(d.polys.map((p) => p.constant), "int64", [d.polys.length]);
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(this.constant(run, "int64", [run.length]));
      run = [];
    };
    for (const p of d.polys) {
      if (isConstant(p)) run.push(p.constant);
      else {
        flush();
        parts.push(this.poly(p));
      }
    }
    flush();
    return parts.length === 1 ? parts[0] : this.node("size", "Concat", parts, { axis: { i: 0 } })[0];
  }

  /** Fits integers seen in every trace (one list per trace) as polynomials; `what` names them in errors. */
  fit(perTrace: readonly (readonly number[])[], what: string): DynInts {
    const n = perTrace[0].length;
    if (perTrace.some((v) => v.length !== n)) {
      throw new OnnxExportError(
        `onnx.export: ${what} has a different number of entries when a dynamic axis changes size ` +
          `(${perTrace.map((v) => `[${v.join(", ")}]`).join(" vs ")}); its rank cannot depend on a dynamic axis`,
      );
    }
    const base = this.sizes[0];
    const polys = Array.from({ length: n }, (_, k) => {
      const p = fitPoly(perTrace.map((v) => v[k]), base);
      if (!p) {
        throw new OnnxExportError(
          `onnx.export: ${what} entry ${k} (${perTrace.map((v) => v[k]).join(" vs ")} as the dynamic axes grow) ` +
            `is not a whole-number polynomial of the axes ${this.axes.map((a) => a.name).join(", ")}`,
        );
      }
      return p;
    });
    return { polys, values: perTrace[0] };
  }

  /** The ONNX dims of a graph output: a symbol's name, a size, or a generated name for another varying size. */
  dims(shapes: readonly (readonly number[])[], output: string, given: Readonly<Record<number, string>>): ({
    dim_value: number;
  } | { dim_param: string })[] {
    const d = this.fit(shapes, `the shape of output "${output}"`);
    return d.polys.map((p, i) => {
      if (given[i] !== undefined) return { dim_param: given[i] };
      if (isConstant(p)) return { dim_value: p.constant };
      const s = asSymbol(p);
      return { dim_param: s >= 0 ? this.axes[s].name : showPoly(p, this.axes.map((a) => a.name)) };
    });
  }
}

/** The emitter's view of one op (the example trace's record and its counterparts in the other traces). */
export class RecContext implements OpContext {
  readonly rec: Rec;
  readonly opset: number;
  readonly #base: string;

  constructor(readonly g: GraphBuilder, readonly index: number) {
    this.rec = g.traces[0].recs[index];
    this.opset = g.opset;
    this.#base = this.rec.module ? this.rec.module.name || "model" : `${this.rec.op}_${index}`;
  }

  #what(): string {
    return this.rec.module
      ? `${this.rec.module.module.constructor.name} "${this.rec.module.name}"`
      : `${this.rec.op} (op #${this.index})`;
  }

  fail(message: string): never {
    throw new OnnxExportError(`onnx.export: ${this.#what()}: ${message}`);
  }

  #ref(i: number, trace = 0): Ref {
    return this.g.traces[trace].recs[this.index].inputs[i] ?? { kind: "none" };
  }

  has(i: number): boolean {
    return this.#ref(i).kind !== "none";
  }

  input(i: number): string {
    const r = this.#ref(i);
    if (r.kind === "value") {
      const name = this.g.names.get(r.id);
      if (name === undefined) this.fail(`input ${i} has no ONNX name (an output nothing maps)`);
      if (name === "") this.fail(`uses an output of an op whose ONNX mapping does not produce it`);
      return name;
    }
    if (r.kind === "tensor") return this.g.outsideTensor(r.tensor, this.#what());
    return this.fail(`input ${i} is ${r.kind === "none" ? "absent" : "a number"} where a tensor is needed`);
  }

  operand(i: number, type: OnnxType): string {
    const r = this.#ref(i);
    if (r.kind === "scalar") {
      const values = this.g.traces.map((t) => {
        const ri = t.recs[this.index].inputs[i];
        return ri.kind === "scalar" ? ri.value : NaN;
      });
      if (values.every((v) => v === values[0] || (Number.isNaN(v) && Number.isNaN(values[0])))) {
        return this.constant([r.value], type, []);
      }
      // A number computed from a dynamic size (x.div(x.shape[1])): computed in the graph when it is a whole number.
      const d = this.g.fit(values.map((v) => [v]), `the number operand ${i} of ${this.#what()}`);
      const n = this.g.node(this.#base, "Squeeze", [this.g.ints(d), this.g.constant([0], "int64", [1])])[0];
      return type === "int64" ? n : this.g.node(this.#base, "Cast", [n], { to: { i: dataType(type) } })[0];
    }
    const name = this.input(i);
    const t = this.inTensor(i);
    return t.dtype === type ? name : this.node("Cast", [name], { to: { i: dataType(type) } })[0];
  }

  inTensor(i: number): Tensor {
    return this.#tensorAt(i, 0);
  }

  #tensorAt(i: number, trace: number): Tensor {
    const r = this.#ref(i, trace);
    if (r.kind === "value") return this.g.traces[trace].values[r.id];
    if (r.kind === "tensor") return r.tensor;
    return this.fail(`input ${i} is not a tensor`);
  }

  output(j: number): Tensor {
    return this.rec.outputs[j];
  }

  #attrs(key: string): unknown[] {
    return this.g.traces.map((t) => t.recs[this.index].attrs[key]);
  }

  attr<T>(key: string): T {
    const all = this.#attrs(key);
    const first = JSON.stringify(all[0]);
    const other = all.find((v) => JSON.stringify(v) !== first);
    if (other !== undefined) {
      this.fail(
        `its ${key} (${first}) changes with a dynamic axis (${JSON.stringify(other)}); ` +
          `ONNX needs it fixed: make that axis static or keep ${key} independent of it`,
      );
    }
    return all[0] as T;
  }

  varies(key: string): boolean {
    const all = this.#attrs(key).map((v) => JSON.stringify(v));
    return all.some((v) => v !== all[0]);
  }

  attrInts(key: string): DynInts {
    const all = this.#attrs(key).map((v) => (Array.isArray(v) ? v as number[] : [v as number]));
    return this.g.fit(all, `the ${key} of ${this.#what()}`);
  }

  outShape(j: number): DynInts {
    return this.g.fit(
      this.g.traces.map((t) => t.recs[this.index].outputs[j].shape),
      `the output shape of ${this.#what()}`,
    );
  }

  inShape(i: number): DynInts {
    return this.g.fit(this.g.traces.map((_, k) => this.#tensorAt(i, k).shape), `the input shape of ${this.#what()}`);
  }

  ints(d: DynInts): string {
    return this.g.ints(d);
  }

  node(opType: string, inputs: readonly string[], attrs?: Record<string, Attr>, outputs = 1): string[] {
    return this.g.node(this.#base, opType, inputs, attrs, outputs);
  }

  constant(values: ArrayLike<number>, type: OnnxType, dims: readonly number[]): string {
    return this.g.constant(values, type, dims);
  }

  tensorInit(t: Tensor, name: string): string {
    return this.g.tensorInit(t, name);
  }
}
