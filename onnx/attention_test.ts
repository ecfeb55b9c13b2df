import assert from "node:assert/strict";
import {
  arange,
  manualSeed,
  noGrad,
  randint,
  randn,
  scaledDotProductAttention,
  type Tensor,
  tensor,
} from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { decodeModel, exportBytes, type ExportOptions } from "./mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "./testing.ts";

const TOL = 1e-4;

/**
 * Exports `model` traced on `example` (named inputs), checks it with ONNX's checker, and compares dendrite with ONNX
 * Runtime on the example and on every run of `runs` (other sizes along the dynamic axes): every output within 1e-4.
 */
async function agree(
  model: nn.Module,
  example: readonly Tensor[],
  runs: readonly (readonly Tensor[])[],
  options: ExportOptions = {},
): Promise<Uint8Array> {
  const bytes = await exportBytes(model, example, options);
  await onnxCheck(bytes);
  model.eval();
  const session = await loadOrt(bytes);
  try {
    for (const args of [example, ...runs]) {
      const feeds: Record<string, Tensor> = {};
      args.forEach((t, i) => (feeds[options.inputNames?.[i] ?? `input_${i}`] = t));
      const ours = [noGrad(() => (model.forward as (...a: Tensor[]) => Tensor | Tensor[])(...args))].flat();
      const theirs = await session.run(feeds);
      for (const [k, t] of ours.entries()) {
        const name = options.outputNames?.[k] ?? `output_${k}`;
        assert.ok(theirs[name], `ONNX Runtime gave no output "${name}"`);
        assert.deepEqual(theirs[name].dims, [...t.shape], `output "${name}" shape for inputs ${shapes(args)}`);
        const diff = maxAbsDiff(await t.data(), theirs[name].data);
        assert.ok(diff <= TOL, `output "${name}" differs by ${diff} for inputs ${shapes(args)}`);
      }
    }
  } finally {
    await session.release();
  }
  return bytes;
}

const shapes = (ts: readonly Tensor[]) => ts.map((t) => `[${t.shape}]`).join(" ");
const opTypes = (bytes: Uint8Array) => new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));

/** A bool key padding mask `[N, S]` (true = padding) with `pad[n]` padded keys at the end of row n. */
function paddingMask(pad: readonly number[], S: number): Tensor {
  return tensor(pad.flatMap((p) => Array.from({ length: S }, (_, j) => j >= S - p)), { dtype: "bool" }).reshape([
    pad.length,
    S,
  ]);
}

/** MultiheadAttention over its masks: `forward(query, key, value, keyPaddingMask, attnMask)`. */
class Mha extends nn.Module {
  attn: nn.MultiheadAttention;
  constructor(readonly needWeights: boolean, options: nn.MultiheadAttentionOptions = {}) {
    super();
    this.attn = new nn.MultiheadAttention(8, 2, { batchFirst: true, ...options });
  }
  override forward(q: Tensor, k: Tensor, v: Tensor, keyPaddingMask: Tensor, attnMask: Tensor): Tensor[] {
    const [y, w] = this.attn.forward(q, k, v, { keyPaddingMask, attnMask, needWeights: this.needWeights });
    return w ? [y, w] : [y];
  }
}

Deno.test("onnx: MultiheadAttention with a key padding mask and an attention mask agrees, at another batch size", async () => {
  manualSeed(21);
  const dyn = { 0: "batch" };
  const options: ExportOptions = {
    inputNames: ["query", "key", "value", "key_padding_mask", "attn_mask"],
    dynamicAxes: { query: dyn, key: dyn, value: dyn, key_padding_mask: dyn },
  };
  // Float attention mask with the weights returned (the composed path); the last row of a batch pads every key.
  const floatMask = randn([3, 5]).mul(0.5);
  const mha = new Mha(true, { kdim: 6, vdim: 4 });
  const bytes = await agree(
    mha,
    [randn([2, 3, 8]), randn([2, 5, 6]), randn([2, 5, 4]), paddingMask([1, 2], 5), floatMask],
    [[randn([4, 3, 8]), randn([4, 5, 6]), randn([4, 5, 4]), paddingMask([0, 3, 5, 1], 5), floatMask]],
    options,
  );
  assert.ok(opTypes(bytes).has("Softmax"));
  // Bool attention mask, no weights (the fused kernel), self-attention with a stacked projection and bias_k/v.
  const boolMask = tensor([[0, 1, 1], [0, 0, 1], [0, 0, 0]], { dtype: "bool" });
  const self = new Mha(false, { addBiasKv: true });
  const x = randn([2, 3, 8]), x2 = randn([3, 3, 8]);
  const selfAttn = new (class extends nn.Module {
    inner = self;
    override forward(x: Tensor, kpm: Tensor, am: Tensor): Tensor[] {
      return this.inner.forward(x, x, x, kpm, am);
    }
  })();
  await agree(selfAttn, [x, paddingMask([1, 0], 3), boolMask], [[x2, paddingMask([2, 0, 1], 3), boolMask]], {
    inputNames: ["x", "key_padding_mask", "attn_mask"],
    dynamicAxes: { x: dyn, key_padding_mask: dyn },
  });
});

Deno.test("onnx: scaledDotProductAttention exports the fused and composed paths, masks, causal and grouped heads", async () => {
  manualSeed(22);
  for (const implementation of ["auto", "composed"] as const) {
    const f = new (class extends nn.Module {
      override forward(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor[] {
        return [
          scaledDotProductAttention(q, k, v, { isCausal: true, implementation }),
          scaledDotProductAttention(q, k, v, { attnMask: mask, scale: 0.3, implementation }),
          scaledDotProductAttention(q, k, v, { attnMask: mask.logicalNot().float().mul(-1e4), implementation }),
          // Grouped query heads: 4 query heads share 2 key/value heads.
          scaledDotProductAttention(q, k.narrow(1, 0, 2), v.narrow(1, 0, 2), { enableGqa: true, implementation }),
        ];
      }
    })();
    const mask = (L: number, S: number) => randn([L, S]).gt(-0.5);
    const qkv = (B: number, L: number) => [randn([B, 4, L, 6]), randn([B, 4, L, 6]), randn([B, 4, L, 6])];
    const bytes = await agree(f, [...qkv(2, 5), mask(5, 5)], [[...qkv(3, 7), mask(7, 7)], [...qkv(1, 2), mask(2, 2)]], {
      inputNames: ["q", "k", "v", "mask"],
      dynamicAxes: {
        q: { 0: "batch", 2: "seq" },
        k: { 0: "batch", 2: "seq" },
        v: { 0: "batch", 2: "seq" },
        mask: { 0: "seq", 1: "seq" },
      },
      opsetVersion: 14,
    });
    // Whichever path ran, each call is one traced op written as one attention (its composed parts superseded).
    const softmaxes = decodeModel(bytes).graph.node.filter((n) => n.op_type === "Softmax").length;
    assert.equal(softmaxes, 4, `${implementation}: one Softmax per attention`);
    assert.ok(decodeModel(bytes).opset_import.every((o) => o.domain === ""), "standard ops only");
  }
});

Deno.test("onnx: TransformerEncoder, pre- and post-norm, agrees at other batch sizes and lengths", async () => {
  for (const normFirst of [false, true]) {
    manualSeed(normFirst ? 24 : 23);
    const layer = new nn.TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      batchFirst: true,
      normFirst,
      activation: normFirst ? "gelu" : "relu",
    });
    const encoder = new nn.TransformerEncoder(layer, 2, normFirst ? new nn.LayerNorm(8) : null);
    const model = new (class extends nn.Module {
      encoder = encoder;
      override forward(src: Tensor, padding: Tensor): Tensor {
        return this.encoder.forward(src, { srcKeyPaddingMask: padding });
      }
    })();
    await agree(
      model,
      [randn([2, 4, 8]), paddingMask([1, 0], 4)],
      [[randn([3, 6, 8]), paddingMask([0, 2, 5], 6)], [randn([1, 2, 8]), paddingMask([1], 2)]],
      {
        inputNames: ["src", "src_key_padding_mask"],
        dynamicAxes: { src: { 0: "batch", 1: "seq" }, src_key_padding_mask: { 0: "batch", 1: "seq" } },
        opsetVersion: normFirst ? 17 : 13,
      },
    );
  }
});

Deno.test("onnx: a full nn.Transformer with a causal target mask and padding masks agrees", async () => {
  manualSeed(25);
  const transformer = new nn.Transformer({
    dModel: 8,
    nhead: 2,
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    dimFeedforward: 16,
  });
  const model = new (class extends nn.Module {
    transformer = transformer;
    override forward(src: Tensor, tgt: Tensor, srcPadding: Tensor): Tensor {
      const tgtMask = nn.generateSquareSubsequentMask(tgt.shape[0]);
      return this.transformer.forward(src, tgt, {
        tgtMask,
        tgtIsCausal: true,
        srcKeyPaddingMask: srcPadding,
        memoryKeyPaddingMask: srcPadding,
      });
    }
  })();
  await agree(
    model,
    [randn([5, 2, 8]), randn([4, 2, 8]), paddingMask([0, 2], 5)],
    [[randn([3, 3, 8]), randn([6, 3, 8]), paddingMask([1, 0, 2], 3)]],
    {
      inputNames: ["src", "tgt", "src_key_padding_mask"],
      dynamicAxes: {
        src: { 0: "src_len", 1: "batch" },
        tgt: { 0: "tgt_len", 1: "batch" },
        src_key_padding_mask: { 0: "batch", 1: "src_len" },
      },
    },
  );
});

/** A small GPT: token and learned position embeddings, pre-norm causal blocks, a tied head. */
class TinyGpt extends nn.Module {
  wte = new nn.Embedding(11, 8);
  wpe = new nn.Embedding(16, 8);
  blocks = new nn.TransformerEncoder(
    new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 32, batchFirst: true, normFirst: true, activation: "gelu" }),
    2,
    new nn.LayerNorm(8),
  );
  override forward(idx: Tensor): Tensor {
    const T = idx.shape[1];
    const x = this.wte.forward(idx).add(this.wpe.forward(arange(0, T, 1, { dtype: "int32" })));
    const mask = nn.generateSquareSubsequentMask(T);
    const h = this.blocks.forward(x, { mask, isCausal: true });
    return h.matmul(this.wte.weight.t());
  }
}

Deno.test("onnx: a small causal GPT exports with a dynamic batch and sequence length", async () => {
  manualSeed(26);
  const model = new TinyGpt();
  const bytes = await agree(
    model,
    [randint(0, 11, [2, 5], { dtype: "int32" })],
    [[randint(0, 11, [3, 9], { dtype: "int32" })], [randint(0, 11, [1, 1], { dtype: "int32" })]],
    {
      inputNames: ["idx"],
      outputNames: ["logits"],
      dynamicAxes: { idx: { 0: "batch", 1: "seq" }, logits: { 0: "batch", 1: "seq" } },
    },
  );
  const input = decodeModel(bytes).graph.input[0].type.tensor_type.shape.dim;
  assert.deepEqual(input.map((d) => ("dim_param" in d ? d.dim_param : d.dim_value)), ["batch", "seq"]);
});

Deno.test("onnx: RMSNorm, rotary embeddings and grouped-query attention (a Llama-style block) agree", async () => {
  manualSeed(27);
  const block = new (class extends nn.Module {
    norm = new nn.RMSNorm(8);
    rope = new nn.RotaryEmbedding(4, { maxSeqLen: 16 });
    q = new nn.Linear(8, 8, { bias: false });
    kv = new nn.Linear(8, 8, { bias: false });
    o = new nn.Linear(8, 8, { bias: false });
    override forward(x: Tensor): Tensor {
      const [B, T] = x.shape;
      const h = this.norm.forward(x);
      const q = this.rope.forward(this.q.forward(h).reshape([B, T, 2, 4])).transpose(1, 2);
      const kv = this.kv.forward(h).reshape([B, T, 2, 1, 4]);
      const k = kv.select(2, 0), v = kv.select(2, 1);
      const kr = this.rope.forward(k).transpose(1, 2);
      const y = scaledDotProductAttention(q, kr, v.transpose(1, 2), { isCausal: true, enableGqa: true });
      const mixed = x.add(this.o.forward(y.transpose(1, 2).reshape([B, T, 8])));
      return mixed.mul(mixed.sigmoid());
    }
  })();
  await agree(block, [randn([2, 5, 8])], [[randn([3, 9, 8])]], { dynamicAxes: { input_0: { 0: "batch", 1: "seq" } } });
});

Deno.test("onnx: attention with dropout left on fails with an error that names it", async () => {
  const model = new (class extends nn.Module {
    override forward(x: Tensor): Tensor {
      return scaledDotProductAttention(x, x, x, { dropoutP: 0.5 });
    }
  })();
  await assert.rejects(
    () => exportBytes(model, randn([2, 3, 4])),
    /scaledDotProductAttention \(op #\d+\): dropout on the attention weights has no ONNX mapping/,
  );
});
