import assert from "node:assert/strict";
import {
  arange,
  cat,
  getBackend,
  manualSeed,
  noGrad,
  ones,
  randn,
  type Tensor,
  Tensor as TensorClass,
  tensor,
  where,
} from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { decodeModel, exportBytes, type ExportOptions, OnnxExportError } from "./mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "./testing.ts";

/** Exports `model` on `example` and compares dendrite and ONNX Runtime on every input of `runs` (within 1e-4). */
async function agree(model: nn.Module, example: Tensor, runs: Tensor[], options: ExportOptions): Promise<Uint8Array> {
  const bytes = await exportBytes(model, example, options);
  await onnxCheck(bytes);
  const session = await loadOrt(bytes);
  try {
    for (const x of [example, ...runs]) {
      const ours = [noGrad(() => (model.forward as (x: Tensor) => Tensor | Tensor[])(x))].flat();
      const theirs = await session.run({ input_0: x });
      for (const [k, t] of ours.entries()) {
        const got = theirs[`output_${k}`];
        assert.deepEqual(got.dims, [...t.shape], `output ${k} shape for input [${x.shape}]`);
        const diff = maxAbsDiff(Array.from(await t.data(), Number), got.data);
        assert.ok(diff <= 1e-4, `output ${k} differs by ${diff} for input [${x.shape}]`);
      }
    }
  } finally {
    await session.release();
  }
  return bytes;
}

/** A forward written with functional ops and sizes read from the input, as user code is. */
class Functional extends nn.Module {
  fc = new nn.Linear(6, 6);
  norm = new nn.LayerNorm(6);

  override forward(x: Tensor): Tensor[] {
    const [b, t, c] = x.shape;
    // Sizes computed from the input's shape: B·T rows, then back.
    const h = nn.F.relu(this.fc.forward(x).reshape([b * t, c])).view(b, t, c);
    // Causal attention with a mask built from the length: ones([T, T]).tril(), arange, a dynamic-size scalar.
    const scores = h.matmul(h.transpose(1, 2)).div(Math.sqrt(c));
    const causal = ones([t, t]).tril().eq(0);
    const att = nn.F.softmax(scores.maskedFill(causal, -Infinity), -1);
    const mixed = this.norm.forward(att.matmul(h).add(x));
    const positions = arange(0, t, 1, { dtype: "float32" }).div(t).unsqueeze(1).expand(t, c);
    const withPos = mixed.add(positions).mul(0.5).sigmoid();
    // Slices that end relative to the length, a cat back, reductions with and without kept dims.
    const shifted = cat([withPos.slice(1, 1), withPos.slice(1, 0, 1)], 1);
    const pooled = shifted.mean(1).add(shifted.var(1, { correction: 1 }).sqrt()).sub(shifted.amax(1));
    const [top, idx] = withPos.max(2);
    const picked = where(top.gt(0.6), top, top.neg().exp()).clamp(0.2, 0.9);
    const stats = cat([pooled, picked.sum(1, { keepdim: true }).div(t), idx.float().mean(1, { keepdim: true })], 1);
    const [left, right] = stats.chunk(2, 1);
    const g = left.pow(2).add(right.abs().sqrt()).log1p().tanh();
    const chosen = g.indexSelect(1, tensor([0, 2], { dtype: "int32" })).squeeze(-1);
    return [g, chosen, withPos.argmax(-1), x.sum([1, 2]).gt(0).logicalNot()];
  }
}

Deno.test("onnx: functional ops in a custom forward, with sizes from the input's shape, agree at other sizes", async () => {
  manualSeed(11);
  const model = new Functional();
  const bytes = await agree(model, randn([2, 4, 6]), [randn([3, 7, 6]), randn([1, 2, 6])], {
    dynamicAxes: { input_0: { 0: "batch", 1: "time" } },
  });
  const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));
  for (const op of ["Trilu", "Range", "ConstantOfShape", "Shape", "LayerNormalization", "ArgMax"]) {
    assert.ok(ops.has(op), `uses ${op}`);
  }
});

Deno.test("onnx: scatter, scatterAdd, scatterReduce and indexAdd export as ScatterElements and agree", async () => {
  manualSeed(13);
  const index = tensor([[0, 2, 1, 2], [3, 0, 0, 1]], { dtype: "int32" });
  const model = new Fn((x) => {
    const src = x.narrow(0, 0, 2).narrow(1, 0, 4).mul(3);
    return cat([
      x.scatter(1, index, src).narrow(0, 0, 2),
      x.scatter(1, index, 0.5).narrow(0, 0, 2),
      x.scatterAdd(1, index, src).narrow(0, 0, 2),
      x.scatterReduce(1, index, src, "sum", { includeSelf: false }).narrow(0, 0, 2),
      x.scatterReduce(1, index, src, "prod").narrow(0, 0, 2),
      x.indexAdd(0, tensor([1, 0, 1], { dtype: "int32" }), x.narrow(0, 0, 3).neg(), { alpha: 2 }).narrow(0, 0, 2),
    ], 0);
  });
  const bytes = await agree(model, randn([3, 5]), [randn([6, 5])], { dynamicAxes: { input_0: { 0: "rows" } } });
  assert.ok(decodeModel(bytes).graph.node.some((n) => n.op_type === "ScatterElements"));
});

Deno.test("onnx: opset 13 exports layer norm without LayerNormalization and still agrees", async () => {
  manualSeed(12);
  const model = new nn.Sequential(new nn.Linear(5, 8), new nn.LayerNorm(8), new nn.GELU());
  const bytes = await agree(model, randn([2, 3, 5]), [randn([4, 3, 5])], {
    opsetVersion: 13,
    dynamicAxes: { input_0: { 0: "batch" } },
  });
  const m = decodeModel(bytes);
  assert.equal(m.opset_import[0].version, 13);
  assert.ok(!m.graph.node.some((n) => n.op_type === "LayerNormalization"));
});

/** A module whose forward is the given function. */
class Fn extends nn.Module {
  constructor(readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

async function fails(fn: (x: Tensor) => Tensor, pattern: RegExp, options: ExportOptions = {}, x = randn([2, 3])) {
  await assert.rejects(() => exportBytes(new Fn(fn), x, options), (e: Error) => {
    assert.ok(e instanceof OnnxExportError, `an OnnxExportError, got ${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("onnx: what cannot be exported fails with an error that names it", async () => {
  // An op with no mapping is named.
  await fails((x) => x.add(randn([2, 3])), /op "randn" has no ONNX mapping/);
  await fails((x) => x.diagonal(), /op "diagonal" has no ONNX mapping/);
  // A mapping that needs a later opset says which.
  await fails(
    (x) => x.scatterAdd(0, tensor([[0, 1, 0]], { dtype: "int32" }), x),
    /scatterAdd needs ScatterElements' reduction, ONNX opset 16/,
    { opsetVersion: 15 },
  );
  await fails(
    (x) => x.scatterReduce(0, tensor([[0, 1, 0]], { dtype: "int32" }), x, "amax"),
    /reduce "amax" has no ONNX mapping up to opset 17/,
  );
  // In-place writes and value reads inside forward.
  await fails((x) => x.mul(2).add_(1), /add_ writes in place/);
  await fails((x) => (x.dataSync()[0] > 0 ? x : x.neg()), /dataSync read the values/);
  // A tensor made behind the tracer's back (no op reported it) is refused rather than baked in as a constant.
  await fails(
    (x) => x.add(new TensorClass(getBackend("cpu").upload(new Float32Array(6)), [2, 3])),
    /forward made with an op the exporter is not told about/,
  );
  // A loop over a dynamic axis changes the graph.
  await fails(
    (x) => {
      let s = x.select(1, 0);
      for (let i = 1; i < x.shape[1]; i++) s = s.add(x.select(1, i));
      return s;
    },
    /does different work when a dynamic axis/,
    { dynamicAxes: { input_0: { 1: "cols" } } },
  );
  // Bad options.
  await fails((x) => x.relu(), /opsetVersion must be 13 to 17/, { opsetVersion: 11 });
  await fails((x) => x.relu(), /dynamicAxes names "y"/, { dynamicAxes: { y: [0] } });
  await fails((x) => x.relu(), /names axis 5/, { dynamicAxes: { input_0: [5] } });
});

Deno.test("onnx: layers that cannot be exported say why", async () => {
  const lstm = new nn.LSTM(3, 4, { projSize: 2 });
  await assert.rejects(() => exportBytes(lstm, randn([2, 1, 3])), /projSize has no counterpart/);
  const emb = new nn.Embedding(5, 3, { maxNorm: 1 });
  await assert.rejects(() => exportBytes(emb, tensor([[1, 2]], { dtype: "int32" })), /maxNorm renormalises/);
  const bn = new nn.BatchNorm1d(3, { trackRunningStats: false });
  await assert.rejects(() => exportBytes(bn, randn([4, 3])), /batch norm with batch statistics/);
  // A functional dropout left in training mode.
  await assert.rejects(
    () => exportBytes(new Fn((x) => nn.F.dropout(x, 0.5, true)), randn([2, 3])),
    /dropout in training/,
  );
});
