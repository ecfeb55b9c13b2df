/**
 * Layers exported whole: `nn.RNN`, `nn.LSTM` and `nn.GRU` as ONNX's RNN,
 * LSTM and GRU ops, one node per layer (ONNX's gates come in another order:
 * LSTM i,o,f,c for PyTorch's i,f,g,o and GRU z,r,h for r,z,n, so the weights
 * are reordered), and checks for layers whose call cannot be exported.
 *
 * @module
 */

import { cat, noGrad, type Tensor } from "@dendrite/tensor";
import { Embedding, GRU, type Module, PackedSequence, RNNBase } from "@dendrite/nn";
import type { OpContext } from "./graph.ts";
import { type ModuleRule, OnnxExportError } from "./trace.ts";

/** A module rule with the emitter that writes its ONNX nodes. */
export interface ModuleExport extends ModuleRule {
  /** Writes the layer's nodes; returns the ONNX names of its outputs. */
  emit?(ctx: OpContext, module: Module): string[];
}

/** PyTorch's gate blocks in ONNX's order, per cell. */
const GATE_ORDER: Record<string, number[]> = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN_TANH: [0], RNN_RELU: [0] };

/** `w` with its gate blocks of `h` rows put in ONNX's order. */
function reorder(w: Tensor, mode: string, h: number): Tensor {
  return cat(GATE_ORDER[mode].map((g) => w.narrow(0, g * h, h)), 0);
}

const rnnRule: ModuleExport = {
  check(module, args) {
    const m = module as RNNBase;
    const name = `${m.constructor.name}(${m.inputSize}, ${m.hiddenSize})`;
    if (args[0] instanceof PackedSequence) {
      throw new OnnxExportError(
        `onnx.export: ${name}: a PackedSequence input cannot be exported; pass the padded batch (ONNX's ops run ` +
          `every sequence to the full length)`,
      );
    }
    if (m.projSize > 0) throw new OnnxExportError(`onnx.export: ${name}: projSize has no counterpart in ONNX's LSTM`);
  },
  inputs(module, args) {
    const m = module as RNNBase;
    const hx = args[1] ?? null;
    if (m.mode === "LSTM") {
      const pair = hx as [Tensor, Tensor] | null;
      return [args[0] as Tensor, pair?.[0] ?? null, pair?.[1] ?? null];
    }
    return [args[0] as Tensor, hx as Tensor | null];
  },
  outputs(module, result) {
    const [out, state] = result as [Tensor, Tensor | [Tensor, Tensor]];
    return (module as RNNBase).mode === "LSTM" ? [out, ...(state as [Tensor, Tensor])] : [out, state as Tensor];
  },
  emit(ctx, module) {
    const m = module as RNNBase;
    const H = m.hiddenSize, D = m.bidirectional ? 2 : 1, lstm = m.mode === "LSTM";
    const axis = (a: number) => ctx.constant([a], "int64", [1]);
    const unbatched = ctx.inTensor(0).ndim === 2;
    const batchAxis = (name: string) => ctx.node("Unsqueeze", [name, axis(1)])[0];
    let x = ctx.input(0);
    if (unbatched) x = batchAxis(x);
    else if (m.batchFirst) x = ctx.node("Transpose", [x], { perm: { ints: [1, 0, 2] } })[0];
    const state = (i: number) => (ctx.has(i) ? (unbatched ? batchAxis(ctx.input(i)) : ctx.input(i)) : null);
    const h0 = state(1), c0 = lstm ? state(2) : null;
    const hs: string[] = [], cs: string[] = [];
    const prefix = (ctx.rec.module?.name || "rnn") + ".";
    for (let layer = 0; layer < m.numLayers; layer++) {
      const sfx = (d: number) => `_l${layer}${d === 1 ? "_reverse" : ""}`;
      const stacked = (what: string) =>
        noGrad(() =>
          cat(Array.from({ length: D }, (_, d) => reorder(m.param(`${what}${sfx(d)}`), m.mode, H).unsqueeze(0)), 0)
        );
      const W = ctx.tensorInit(stacked("weight_ih"), `${prefix}onnx_W_l${layer}`);
      const R = ctx.tensorInit(stacked("weight_hh"), `${prefix}onnx_R_l${layer}`);
      const B = m.bias
        ? ctx.tensorInit(
          noGrad(() => cat([stacked("bias_ih"), stacked("bias_hh")], 1)),
          `${prefix}onnx_B_l${layer}`,
        )
        : "";
      const slice = (s: string | null) =>
        s ? ctx.node("Slice", [s, axis(layer * D), axis((layer + 1) * D), axis(0)])[0] : "";
      const opType = lstm ? "LSTM" : m instanceof GRU ? "GRU" : "RNN";
      const inputs = [x, W, R, B, "", slice(h0)];
      if (lstm) inputs.push(slice(c0));
      const attrs: Parameters<OpContext["node"]>[2] = {
        hidden_size: { i: H },
        direction: { s: D === 2 ? "bidirectional" : "forward" },
      };
      if (opType === "GRU") attrs.linear_before_reset = { i: 1 };
      if (opType === "RNN") attrs.activations = { strings: new Array(D).fill(m.mode === "RNN_RELU" ? "Relu" : "Tanh") };
      const [y, yh, yc] = ctx.node(opType, inputs, attrs, lstm ? 3 : 2);
      // Y is [T, D, B, H]: to [T, B, D·H], the next layer's input.
      const tbdh = ctx.node("Transpose", [y], { perm: { ints: [0, 2, 1, 3] } })[0];
      x = ctx.node("Reshape", [tbdh, ctx.constant([0, 0, -1], "int64", [3])])[0];
      hs.push(yh);
      if (lstm) cs.push(yc);
    }
    const joined = (list: string[]) => (list.length === 1 ? list[0] : ctx.node("Concat", list, { axis: { i: 0 } })[0]);
    let out = x, h = joined(hs), c = lstm ? joined(cs) : "";
    if (unbatched) {
      const drop = (s: string) => ctx.node("Squeeze", [s, axis(1)])[0];
      out = drop(out);
      h = drop(h);
      if (lstm) c = drop(c);
    } else if (m.batchFirst) out = ctx.node("Transpose", [out], { perm: { ints: [1, 0, 2] } })[0];
    return lstm ? [out, h, c] : [out, h];
  },
};

const embeddingRule: ModuleExport = {
  check(module) {
    const m = module as Embedding;
    if (m.maxNorm !== null) {
      throw new OnnxExportError(
        `onnx.export: Embedding(${m.numEmbeddings}, ${m.embeddingDim}): maxNorm renormalises the weight in place on ` +
          `every call, which an ONNX graph cannot do; renormalise once before exporting and set maxNorm to null`,
      );
    }
  },
};

/** The rule for a layer, or null when its ops export one by one. */
export function moduleRule(m: Module): ModuleExport | null {
  if (m instanceof RNNBase) return rnnRule;
  if (m instanceof Embedding) return embeddingRule;
  return null;
}
