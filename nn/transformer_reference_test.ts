// Our attention and Transformer layers, loaded with PyTorch's state dicts, against PyTorch's outputs
// (nn/testdata/transformer_reference.py, PyTorch 1.13 in float64; RMSNorm and grouped-query attention from numpy).
import assert from "node:assert/strict";
import { noGrad, scaledDotProductAttention, type Tensor, tensor } from "@dendrite/tensor";
import {
  generateSquareSubsequentMask,
  MultiheadAttention,
  RMSNorm,
  type StateDict,
  Transformer,
  TransformerDecoderLayer,
  TransformerEncoderLayer,
} from "./mod.ts";

interface Arr {
  shape: number[];
  dtype: "float64" | "bool";
  /** Numbers, with infinities as the strings "Infinity" and "-Infinity" (JSON has none). */
  data: (number | string)[];
}
interface Case {
  state_dict?: Record<string, Arr>;
  inputs: Record<string, Arr>;
  outputs: Record<string, Arr>;
}

const ref = JSON.parse(await Deno.readTextFile(new URL("./testdata/transformer_reference.json", import.meta.url))) as {
  cases: Record<string, Case>;
};

function toTensor(a: Arr): Tensor {
  const t = tensor(a.data.map(Number), { dtype: a.dtype === "bool" ? "int32" : "float64" }).reshape(a.shape);
  return a.dtype === "bool" ? t.bool() : t;
}

function load(c: Case): StateDict {
  return Object.fromEntries(Object.entries(c.state_dict!).map(([k, v]) => [k, toTensor(v)]));
}

function assertClose(actual: Tensor, expected: Arr, tol: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  for (let i = 0; i < a.length; i++) {
    const e = Number(expected.data[i]);
    if (!Number.isFinite(e)) assert.equal(a[i], e, `${what}[${i}]`);
    else assert.ok(Math.abs(a[i] - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a[i]}, PyTorch ${e}`);
  }
}

const TOL = 1e-9;

Deno.test("MultiheadAttention matches PyTorch: self-attention, key padding + float mask, averaged and per-head weights", () => {
  const c = ref.cases.mha_self;
  const mha = new MultiheadAttention(8, 2, { dtype: "float64" }).eval();
  mha.loadStateDict(load(c));
  const x = toTensor(c.inputs.x), kpm = toTensor(c.inputs.kpm), am = toTensor(c.inputs.am);
  const [y, w] = mha.forward(x, x, x, { keyPaddingMask: kpm, attnMask: am });
  assertClose(y, c.outputs.y, TOL, "output");
  assertClose(w!, c.outputs.w, TOL, "weights");
  const [y2, wh] = mha.forward(x, x, x, { keyPaddingMask: kpm, attnMask: am, averageAttnWeights: false });
  assertClose(wh!, c.outputs.w_heads, TOL, "per-head weights");
  // Without weights the same output comes from scaledDotProductAttention (the fused kernel).
  const [y3, none] = mha.forward(x, x, x, { keyPaddingMask: kpm, attnMask: am, needWeights: false });
  assert.equal(none, null);
  assertClose(y3, c.outputs.y, TOL, "output without weights");
  assertClose(y2, c.outputs.y, TOL, "output with per-head weights");
});

Deno.test("MultiheadAttention matches PyTorch: kdim/vdim (q/k/v_proj_weight), bias_k/bias_v, zero attention, bool mask", () => {
  const c = ref.cases.mha_kdim;
  const mha = new MultiheadAttention(8, 4, {
    kdim: 6,
    vdim: 4,
    batchFirst: true,
    addBiasKv: true,
    addZeroAttn: true,
    dtype: "float64",
  }).eval();
  assert.deepEqual(Object.keys(mha.stateDict()).sort(), Object.keys(c.state_dict!).sort());
  mha.loadStateDict(load(c));
  const [y, w] = mha.forward(toTensor(c.inputs.q), toTensor(c.inputs.k), toTensor(c.inputs.v), {
    attnMask: toTensor(c.inputs.am),
  });
  assertClose(y, c.outputs.y, TOL, "output");
  assertClose(w!, c.outputs.w, TOL, "weights");
});

Deno.test("TransformerEncoderLayer matches PyTorch: post-norm ReLU and pre-norm GELU batch-first with padding", () => {
  const post = ref.cases.encoder_layer_post;
  const a = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, dtype: "float64" }).eval();
  assert.deepEqual(Object.keys(a.stateDict()), Object.keys(post.state_dict!));
  a.loadStateDict(load(post));
  assertClose(a.forward(toTensor(post.inputs.src)), post.outputs.y, TOL, "post-norm");
  const pre = ref.cases.encoder_layer_pre;
  const b = new TransformerEncoderLayer(8, 2, {
    dimFeedforward: 16,
    dropout: 0,
    activation: "gelu",
    batchFirst: true,
    normFirst: true,
    dtype: "float64",
  }).eval();
  b.loadStateDict(load(pre));
  const y = b.forward(toTensor(pre.inputs.src), { srcKeyPaddingMask: toTensor(pre.inputs.kpm) });
  // GELU goes through the library's erf, accurate to ~1.2e-7 (a float32-grade approximation), hence 1e-7 here.
  assertClose(y, pre.outputs.y, 1e-7, "pre-norm");
});

Deno.test("TransformerDecoderLayer matches PyTorch with a causal mask and memory padding; the mask too", () => {
  const c = ref.cases.decoder_layer;
  const layer = new TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, dtype: "float64" }).eval();
  assert.deepEqual(Object.keys(layer.stateDict()), Object.keys(c.state_dict!));
  layer.loadStateDict(load(c));
  const causal = generateSquareSubsequentMask(4, { dtype: "float64" });
  assertClose(causal, c.outputs.causal, 0, "generateSquareSubsequentMask");
  const y = layer.forward(toTensor(c.inputs.tgt), toTensor(c.inputs.mem), {
    tgtMask: causal,
    memoryKeyPaddingMask: toTensor(c.inputs.mkpm),
  });
  assertClose(y, c.outputs.y, TOL, "decoder layer");
  const hinted = layer.forward(toTensor(c.inputs.tgt), toTensor(c.inputs.mem), {
    tgtMask: causal,
    tgtIsCausal: true,
    memoryKeyPaddingMask: toTensor(c.inputs.mkpm),
  });
  assertClose(hinted, c.outputs.y, TOL, "decoder layer with the causal hint");
});

Deno.test("Transformer matches PyTorch: two encoder and two decoder layers, masks, the same state-dict keys", () => {
  const c = ref.cases.transformer;
  const t = new Transformer({
    dModel: 8,
    nhead: 2,
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    dimFeedforward: 16,
    dropout: 0,
    dtype: "float64",
  }).eval();
  assert.deepEqual(Object.keys(t.stateDict()), Object.keys(c.state_dict!));
  t.loadStateDict(load(c));
  const kpm = toTensor(c.inputs.kpm);
  const y = t.forward(toTensor(c.inputs.src), toTensor(c.inputs.tgt), {
    tgtMask: Transformer.generateSquareSubsequentMask(4, { dtype: "float64" }),
    srcKeyPaddingMask: kpm,
    memoryKeyPaddingMask: kpm,
  });
  assertClose(y, c.outputs.y, TOL, "transformer");
});

Deno.test("RMSNorm and grouped-query attention match float64 numpy references", () => {
  const r = ref.cases.rms_norm;
  const x = toTensor(r.inputs.x), w = toTensor(r.inputs.w);
  const withEps = new RMSNorm(6, { eps: 1e-6, dtype: "float64" }), byDefault = new RMSNorm(6, { dtype: "float64" });
  noGrad(() => [withEps, byDefault].forEach((m) => m.weight!.copy_(w)));
  assertClose(withEps.forward(x), r.outputs.y_eps, TOL, "RMSNorm eps 1e-6");
  assertClose(byDefault.forward(x), r.outputs.y_default, TOL, "RMSNorm default eps");
  const g = ref.cases.sdpa_gqa;
  for (const implementation of ["fused", "composed"] as const) {
    const y = scaledDotProductAttention(toTensor(g.inputs.q), toTensor(g.inputs.k), toTensor(g.inputs.v), {
      attnMask: toTensor(g.inputs.mask),
      enableGqa: true,
      implementation,
    });
    assertClose(y, g.outputs.y, TOL, `grouped-query attention (${implementation})`);
  }
});
