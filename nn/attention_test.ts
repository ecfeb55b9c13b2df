import assert from "node:assert/strict";
import {
  Generator,
  gradcheck,
  manualSeed,
  randn,
  scaledDotProductAttention,
  type Tensor,
  tensor,
} from "@dendrite/tensor";
import {
  generateSquareSubsequentMask,
  KVCache,
  MultiheadAttention,
  RMSNorm,
  RotaryEmbedding,
  TransformerDecoderLayer,
  TransformerEncoderLayer,
} from "./mod.ts";

const f64 = (shape: number[], seed: number) => randn(shape, { dtype: "float64", generator: new Generator(seed) });

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

Deno.test("MultiheadAttention: shape errors name both shapes and come before any work", () => {
  assert.throws(() => new MultiheadAttention(10, 3), /embedDim must be divisible by numHeads \(10 \/ 3/);
  const mha = new MultiheadAttention(8, 2);
  const x = randn([5, 2, 8]);
  assert.throws(
    () => mha.forward(x, randn([6, 2, 8]), randn([7, 2, 8])),
    /same length .*key \[6, 2, 8\], value \[7, 2, 8\]/,
  );
  assert.throws(
    () => mha.forward(x, x, randn([5, 2, 6])),
    /vdim 8 \(query \[5, 2, 8\], key \[5, 2, 8\], value \[5, 2, 6\]\)/,
  );
  assert.throws(
    () => mha.forward(x, x, x, { keyPaddingMask: tensor([[1, 0, 0]]).bool() }),
    /expected keyPaddingMask \[2, 5\], got \[1, 3\]/,
  );
  assert.throws(
    () => mha.forward(x, x, x, { attnMask: randn([5, 4]) }),
    /expected attnMask \[5, 5\] or \[4, 5, 5\], got \[5, 4\]/,
  );
  assert.throws(() => mha.forward(x, x, x, { isCausal: true }), /pass attnMask too/);
  assert.throws(
    () => new TransformerEncoderLayer(10, 4),
    /dModel must be a positive multiple of nhead, got dModel 10 and nhead 4/,
  );
});

Deno.test("MultiheadAttention: gradcheck with masks (float64), and the isCausal hint equals the explicit mask", () => {
  manualSeed(1);
  const mha = new MultiheadAttention(4, 2, { dtype: "float64", batchFirst: true });
  const kpm = tensor([[0, 0, 1], [0, 0, 0]]).bool();
  const q = f64([2, 3, 4], 1).requiresGrad_(), kv = f64([2, 3, 4], 2).requiresGrad_();
  assert.ok(gradcheck((a, b) => mha.forward(a, b, b, { keyPaddingMask: kpm })[0], [q, kv]));
  const params = [...mha.parameters()];
  const w = params[0];
  assert.ok(gradcheck((wt) => {
    const saved = mha.in_proj_weight!;
    mha.in_proj_weight = wt as typeof saved;
    const y = mha.forward(q.detach(), kv.detach(), kv.detach(), { needWeights: false })[0];
    mha.in_proj_weight = saved;
    return y;
  }, [w.detach().clone().requiresGrad_()]));
  const causal = generateSquareSubsequentMask(3, { dtype: "float64" });
  const x = f64([2, 3, 4], 3);
  const [a] = mha.forward(x, x, x, { attnMask: causal, needWeights: false });
  const [b] = mha.forward(x, x, x, { attnMask: causal, needWeights: false, isCausal: true });
  const [c] = mha.forward(x, x, x, { attnMask: causal.isfinite().logicalNot() });
  close(b.dataSync(), a.dataSync(), 1e-12, "causal hint");
  close(c.dataSync(), a.dataSync(), 1e-12, "bool causal mask with weights");
});

Deno.test("Transformer encoder and decoder layers: gradcheck in float64 (pre-norm GELU and post-norm ReLU)", () => {
  manualSeed(2);
  const enc = new TransformerEncoderLayer(4, 2, {
    dimFeedforward: 6,
    dropout: 0,
    dtype: "float64",
    normFirst: true,
    activation: "gelu",
  });
  const dec = new TransformerDecoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, dtype: "float64" });
  const src = f64([3, 1, 4], 4).requiresGrad_(), tgt = f64([2, 1, 4], 5).requiresGrad_();
  assert.ok(
    gradcheck((s) => enc.forward(s, { srcMask: generateSquareSubsequentMask(3, { dtype: "float64" }) }), [src], {
      atol: 1e-4,
    }),
  );
  assert.ok(
    gradcheck((t, m) => dec.forward(t, m, { tgtMask: generateSquareSubsequentMask(2, { dtype: "float64" }) }), [
      tgt,
      src,
    ]),
  );
});

Deno.test("RMSNorm: value by hand, gradcheck, and errors name the shapes", () => {
  const n = new RMSNorm(3, { eps: 0, dtype: "float64" });
  const y = n.forward(tensor([[3, 4, 0]], { dtype: "float64" }));
  const r = Math.sqrt(25 / 3);
  close(y.dataSync(), [3 / r, 4 / r, 0], 1e-14, "rms");
  assert.ok(gradcheck((x) => new RMSNorm(3, { dtype: "float64" }).forward(x), [f64([2, 3], 6).requiresGrad_()]));
  assert.throws(() => n.forward(randn([2, 4])), /RMSNorm\(\[3\]\): expected input \[\.\.\., 3\], got \[2, 4\]/);
});

Deno.test("RotaryEmbedding: pairs rotated by position·θ, scores depend only on relative position, gradcheck", () => {
  const rope = new RotaryEmbedding(4, { maxSeqLen: 16, base: 100, dtype: "float64" });
  const x = f64([1, 5, 2, 4], 7);
  const y = rope.forward(x).dataSync(), xs = x.dataSync();
  for (let p = 0; p < 5; p++) {
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 2; i++) {
        const th = p * Math.pow(100, (-2 * i) / 4), at = (p * 2 + h) * 4 + 2 * i;
        close(
          [y[at], y[at + 1]],
          [
            xs[at] * Math.cos(th) - xs[at + 1] * Math.sin(th),
            xs[at + 1] * Math.cos(th) + xs[at] * Math.sin(th),
          ],
          1e-12,
          `position ${p}`,
        );
      }
    }
  }
  // The same query and key at positions (p, p + 2) give the same score for every p.
  const q = f64([1, 1, 1, 4], 8), k = f64([1, 1, 1, 4], 9);
  const score = (p: number) => {
    const a = rope.forward(q, { inputPos: p }).dataSync(), b = rope.forward(k, { inputPos: p + 2 }).dataSync();
    return Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
  };
  close([score(3), score(7)], [score(0), score(0)], 1e-12, "relative position");
  assert.ok(gradcheck((t) => rope.forward(t, { inputPos: 3 }), [f64([1, 2, 1, 4], 10).requiresGrad_()]));
  assert.throws(() => rope.forward(randn([1, 4, 1, 4]), { inputPos: 13 }), /positions 13\.\.16 .* exceed maxSeqLen 16/);
});

Deno.test("KVCache: decoding token by token with the cache equals full causal attention; errors change nothing", () => {
  const B = 2, H = 2, T = 7, D = 8;
  const q = randn([B, H, T, D]), k = randn([B, H, T, D]), v = randn([B, H, T, D]);
  const full = scaledDotProductAttention(q, k, v, { isCausal: true }).dataSync();
  const cache = new KVCache(B, 16, H, D);
  // A prompt of 3 tokens (causal among themselves), then one token at a time (each sees everything cached).
  const prompt = cache.update(k.narrow(2, 0, 3), v.narrow(2, 0, 3));
  const parts: Tensor[] = [scaledDotProductAttention(q.narrow(2, 0, 3), prompt[0], prompt[1], { isCausal: true })];
  for (let t = 3; t < T; t++) {
    const [kc, vc] = cache.update(k.narrow(2, t, 1), v.narrow(2, t, 1));
    assert.equal(kc.shape[2], t + 1);
    parts.push(scaledDotProductAttention(q.narrow(2, t, 1), kc, vc));
  }
  const stepwise = parts.map((p) => p.dataSync());
  // Reassemble [B, H, T, D] from the per-step [B, H, s, D] pieces.
  const got = new Float32Array(B * H * T * D);
  let t0 = 0;
  for (const p of stepwise) {
    const s = p.length / (B * H * D);
    for (let bh = 0; bh < B * H; bh++) got.set(p.subarray(bh * s * D, (bh + 1) * s * D), (bh * T + t0) * D);
    t0 += s;
  }
  close(got, full, 1e-5, "cached decoding");
  assert.equal(cache.size, T);
  assert.throws(
    () => cache.update(randn([B, H, 10, D]), randn([B, H, 10, D])),
    /7 cached \+ 10 new tokens exceed maxSeqLen 16/,
  );
  assert.throws(
    () => cache.update(randn([B, 3, 1, D]), randn([B, 3, 1, D])),
    /expected keys and values \[2, 2, s, 8\]/,
  );
  assert.equal(cache.size, T, "a failed update keeps the size");
  cache.reset();
  assert.equal(cache.size, 0);
  assert.deepEqual(Object.keys(cache.stateDict()), [], "the buffers are not persistent");
});
