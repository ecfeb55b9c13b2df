import assert from "node:assert/strict";
import {
  type AttentionImplementation,
  Generator,
  gradcheck,
  noGrad,
  randn,
  scaledDotProductAttention,
  type Tensor,
  tensor,
} from "../mod.ts";
import { uniformAt } from "../random.ts";
import { close } from "./test_util.ts";

/** Logical values of a tensor of `shape` broadcast from `t`, read with plain index arithmetic. */
function at(t: Tensor, data: ArrayLike<number>, idx: number[]): number {
  const off = idx.length - t.ndim;
  let p = t.offset;
  for (let d = 0; d < t.ndim; d++) p += (t.shape[d] === 1 ? 0 : idx[off + d]) * t.strides[d];
  return data[p];
}

interface RefOptions {
  mask?: Tensor | null;
  causal?: boolean;
  scale?: number;
  gqa?: boolean;
  dropoutP?: number;
  seed?: number;
}

/**
 * Direct float64 attention: for every output row, the scores, the mask, a softmax with the
 * maximum subtracted (weights 0 for a row with no key left), dropout from the counters, the sum.
 */
function reference(q: Tensor, k: Tensor, v: Tensor, batch: number[], o: RefOptions = {}): number[] {
  const L = q.shape[q.ndim - 2], E = q.shape[q.ndim - 1], S = k.shape[k.ndim - 2], Ev = v.shape[v.ndim - 1];
  const scale = o.scale ?? 1 / Math.sqrt(E);
  const qd = q.dataSync(), kd = k.dataSync(), vd = v.dataSync(), md = o.mask ? o.mask.dataSync() : null;
  const H = batch.length ? batch[batch.length - 1] : 1;
  const nb = batch.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let flat = 0; flat < nb; flat++) {
    const bi: number[] = [];
    for (let d = batch.length - 1, r = flat; d >= 0; d--) {
      bi.unshift(r % batch[d]);
      r = Math.floor(r / batch[d]);
    }
    // Under GQA the key/value head is h·Hk/H.
    const kv = (t: Tensor) => {
      if (!o.gqa) return bi;
      const hk = t.shape[t.ndim - 3];
      return [...bi.slice(0, -1), Math.floor((bi[bi.length - 1] * hk) / H)];
    };
    for (let i = 0; i < L; i++) {
      const s: number[] = [];
      for (let j = 0; j < S; j++) {
        let dot = 0;
        for (let e = 0; e < E; e++) dot += at(q, qd, [...bi, i, e]) * at(k, kd, [...kv(k), j, e]);
        let x = dot * scale;
        if (o.causal && j > i) x = -Infinity;
        if (md && o.mask) {
          const m = at(o.mask, md, [...bi, i, j]);
          x = o.mask.dtype === "bool" ? (m ? x : -Infinity) : x + m;
        }
        s.push(x);
      }
      const mx = Math.max(...s);
      const ex = s.map((x) => (mx === -Infinity ? 0 : Math.exp(x - mx)));
      const z = ex.reduce((a, b) => a + b, 0);
      const w = ex.map((x) => (z === 0 ? 0 : x / z));
      if (o.dropoutP) {
        for (let j = 0; j < S; j++) {
          const u = uniformAt(o.seed ?? 0, (flat * L + i) * S + j);
          w[j] = u >= o.dropoutP ? w[j] / (1 - o.dropoutP) : 0;
        }
      }
      for (let e = 0; e < Ev; e++) {
        let acc = 0;
        for (let j = 0; j < S; j++) acc += w[j] * at(v, vd, [...kv(v), j, e]);
        out.push(acc);
      }
    }
  }
  return out;
}

const IMPLS: AttentionImplementation[] = ["composed", "fused"];

function rnd(shape: number[], dtype: "float32" | "float64", seed: number): Tensor {
  return randn(shape, { dtype, generator: new Generator(seed) });
}

interface Case {
  name: string;
  q: number[];
  k: number[];
  v: number[];
  batch: number[];
  mask?: (dtype: "float32" | "float64") => Tensor;
  causal?: boolean;
  gqa?: boolean;
  scale?: number;
}

const boolMask = (shape: number[], seed: number) => rnd(shape, "float32", seed).gt(-0.6);

const CASES: Case[] = [
  { name: "no mask", q: [2, 3, 5, 4], k: [2, 3, 7, 4], v: [2, 3, 7, 6], batch: [2, 3] },
  { name: "scale", q: [2, 5, 4], k: [2, 7, 4], v: [2, 7, 3], batch: [2], scale: 0.9 },
  { name: "2-D inputs", q: [5, 4], k: [7, 4], v: [7, 2], batch: [] },
  { name: "causal L < S", q: [2, 2, 5, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 3], batch: [2, 2], causal: true },
  { name: "causal L > S", q: [1, 2, 9, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 3], batch: [1, 2], causal: true },
  {
    name: "bool mask [L, S]",
    q: [2, 3, 5, 4],
    k: [2, 3, 7, 4],
    v: [2, 3, 7, 6],
    batch: [2, 3],
    mask: () => boolMask([5, 7], 11),
  },
  {
    name: "bool key-padding mask [B, 1, 1, S]",
    q: [2, 3, 5, 4],
    k: [2, 3, 7, 4],
    v: [2, 3, 7, 6],
    batch: [2, 3],
    mask: () => tensor([[[[1, 1, 1, 1, 0, 0, 0]]], [[[1, 1, 1, 1, 1, 1, 0]]]]).gt(0),
  },
  {
    name: "float mask [B, H, L, S]",
    q: [2, 3, 5, 4],
    k: [2, 3, 7, 4],
    v: [2, 3, 7, 6],
    batch: [2, 3],
    mask: (dtype) => rnd([2, 3, 5, 7], dtype, 12),
  },
  {
    name: "float mask [S] with -inf, a fully masked row",
    q: [2, 5, 4],
    k: [2, 7, 4],
    v: [2, 7, 6],
    batch: [2],
    mask: (dtype) =>
      tensor([[0, -1, 2, -Infinity, 0.5, 0, -Infinity], [
        -Infinity,
        -Infinity,
        -Infinity,
        -Infinity,
        -Infinity,
        -Infinity,
        -Infinity,
      ]], { dtype })
        .reshape([2, 1, 7]),
  },
  {
    name: "bool mask with a fully masked query row",
    q: [1, 4, 3],
    k: [1, 5, 3],
    v: [1, 5, 2],
    batch: [1],
    mask: () => tensor([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]]).gt(0),
  },
  { name: "broadcast batch dims", q: [2, 3, 5, 4], k: [3, 6, 4], v: [1, 3, 6, 5], batch: [2, 3] },
  { name: "grouped query heads", q: [2, 4, 5, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 3], batch: [2, 4], gqa: true },
  {
    name: "grouped query heads, causal, longer than a tile",
    q: [1, 4, 70, 8],
    k: [1, 1, 70, 8],
    v: [1, 1, 70, 5],
    batch: [1, 4],
    gqa: true,
    causal: true,
  },
  { name: "many key tiles", q: [1, 1, 3, 4], k: [1, 1, 200, 4], v: [1, 1, 200, 3], batch: [1, 1] },
];

for (const dtype of ["float64", "float32"] as const) {
  for (const c of CASES) {
    Deno.test(`scaledDotProductAttention ${dtype}: ${c.name}: composed and fused equal direct loops`, () => {
      const q = rnd(c.q, dtype, 1), k = rnd(c.k, dtype, 2), v = rnd(c.v, dtype, 3);
      const mask = c.mask ? c.mask(dtype) : null;
      const expected = reference(q, k, v, c.batch, { mask, causal: c.causal, gqa: c.gqa, scale: c.scale });
      for (const implementation of IMPLS) {
        const y = scaledDotProductAttention(q, k, v, {
          attnMask: mask,
          isCausal: c.causal,
          enableGqa: c.gqa,
          scale: c.scale,
          implementation,
        });
        assert.deepEqual(y.shape, [...c.batch, c.q[c.q.length - 2], c.v[c.v.length - 1]]);
        close(y.dataSync(), expected, dtype === "float64" ? 1e-12 : 2e-5, `${implementation} ${c.name}`);
      }
    });
  }
}

Deno.test("scaledDotProductAttention: dropout draws the same weights on both paths, from the counters", () => {
  for (const dtype of ["float64", "float32"] as const) {
    const q = rnd([2, 3, 6, 4], dtype, 1), k = rnd([2, 3, 80, 4], dtype, 2), v = rnd([2, 3, 80, 5], dtype, 3);
    const mask = boolMask([6, 80], 4);
    const p = 0.3;
    const expected = reference(q, k, v, [2, 3], { mask, dropoutP: p, seed: 9 });
    for (const implementation of IMPLS) {
      const generator = new Generator(9);
      const y = scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: p, generator, implementation });
      close(y.dataSync(), expected, dtype === "float64" ? 1e-12 : 2e-5, `${implementation} dropout ${dtype}`);
      assert.equal(generator.offset, 2 * 3 * 6 * 80, `${implementation} reserves one draw per weight`);
    }
  }
});

Deno.test("scaledDotProductAttention: gradcheck of both paths (masks, causal, GQA, dropout) in float64", () => {
  const settings = [
    { mask: boolMask([4, 5], 5), causal: false, gqa: false, p: 0 },
    { mask: null, causal: true, gqa: true, p: 0 },
    { mask: null, causal: false, gqa: false, p: 0.25 },
  ];
  for (const implementation of IMPLS) {
    for (const s of settings) {
      const q = rnd([1, 2, 4, 3], "float64", 6).requiresGrad_();
      const k = rnd([1, s.gqa ? 1 : 2, 5, 3], "float64", 7).requiresGrad_();
      const v = rnd([1, s.gqa ? 1 : 2, 5, 2], "float64", 8).requiresGrad_();
      const fn = (a: Tensor, b: Tensor, c: Tensor) =>
        scaledDotProductAttention(a, b, c, {
          attnMask: s.mask,
          isCausal: s.causal,
          enableGqa: s.gqa,
          dropoutP: s.p,
          generator: new Generator(3),
          implementation,
        });
      assert.ok(gradcheck(fn, [q, k, v]), `${implementation} ${JSON.stringify({ ...s, mask: !!s.mask })}`);
    }
  }
});

Deno.test("scaledDotProductAttention: gradcheck through a float mask (composed) and broadcast batch dims (fused)", () => {
  const q = rnd([2, 3, 2], "float64", 1).requiresGrad_();
  const k = rnd([4, 2], "float64", 2).requiresGrad_();
  const v = rnd([1, 4, 2], "float64", 3).requiresGrad_();
  const m = rnd([3, 4], "float64", 4).requiresGrad_();
  assert.ok(gradcheck((a, b, c, d) => scaledDotProductAttention(a, b, c, { attnMask: d }), [q, k, v, m]));
  assert.ok(
    gradcheck((a, b, c) => scaledDotProductAttention(a, b, c, { implementation: "fused" }), [q, k, v]),
  );
});

Deno.test("scaledDotProductAttention: fused and composed gradients agree in float32 across tiles", () => {
  const run = (implementation: AttentionImplementation) => {
    const q = rnd([2, 2, 70, 16], "float32", 1).requiresGrad_();
    const k = rnd([2, 2, 130, 16], "float32", 2).requiresGrad_();
    const v = rnd([2, 2, 130, 8], "float32", 3).requiresGrad_();
    const g = rnd([2, 2, 70, 8], "float32", 4);
    scaledDotProductAttention(q, k, v, { isCausal: true, dropoutP: 0.1, generator: new Generator(5), implementation })
      .mul(g).sum().backward();
    return [q.grad!, k.grad!, v.grad!].map((t) => t.dataSync());
  };
  const a = run("composed"), b = run("fused");
  for (let i = 0; i < 3; i++) close(b[i], a[i], 1e-4, `gradient ${i}`);
});

Deno.test("scaledDotProductAttention: errors name both shapes and change nothing", () => {
  const q = randn([2, 4, 5, 8]), k = randn([2, 4, 6, 8]), v = randn([2, 4, 6, 8]);
  const g = new Generator(1);
  const bad: [() => unknown, RegExp][] = [
    [
      () => scaledDotProductAttention(q, k, randn([2, 4, 7, 8]), { generator: g }),
      /key \[2, 4, 6, 8\], value \[2, 4, 7, 8\]/,
    ],
    [() => scaledDotProductAttention(q, randn([2, 4, 6, 7]), v), /query \[2, 4, 5, 8\], key \[2, 4, 6, 7\]/],
    [
      () => scaledDotProductAttention(q, randn([2, 3, 6, 8]), randn([2, 3, 6, 8]), { enableGqa: true }),
      /\(3, 3\) to divide the query's 4/,
    ],
    [
      () => scaledDotProductAttention(q, k, v, { attnMask: randn([5, 5]), dropoutP: 0.5, generator: g }),
      /attnMask \[5, 5\] does not broadcast to the attention weights \[2, 4, 5, 6\]/,
    ],
    [
      () => scaledDotProductAttention(q, k, v, { attnMask: randn([5, 6]), isCausal: true }),
      /either attnMask or isCausal/,
    ],
    [() => scaledDotProductAttention(q, k, v, { dropoutP: 1 }), /dropoutP must be in \[0, 1\)/],
    [() => scaledDotProductAttention(q, randn([3, 4, 6, 8]), v), /batch dims .* do not broadcast/],
    [() => scaledDotProductAttention(q, k, v, { attnMask: tensor([1], { dtype: "int32" }) }), /bool or floating/],
  ];
  for (const [fn, re] of bad) assert.throws(fn, re);
  assert.equal(g.offset, 0, "no dropout draws were reserved by failing calls");
});

Deno.test("scaledDotProductAttention: the fused backward refuses inputs changed in place after the forward", () => {
  for (const changed of ["k", "v", "out"] as const) {
    const q = randn([1, 2, 5, 4]).requiresGrad_(), k = randn([1, 2, 6, 4]), v = randn([1, 2, 6, 4]);
    const y = scaledDotProductAttention(q, k, v, { implementation: "fused" });
    noGrad(() => (changed === "k" ? k : changed === "v" ? v : y).mul_(2));
    assert.throws(() => y.sum().backward(), /ScaledDotProductAttentionBackward/, `${changed} changed`);
  }
  // A tensor the rule does not read (the query's leaf is read through its saved view, so change a copy).
  const q = randn([1, 2, 5, 4]).requiresGrad_(), k = randn([1, 2, 6, 4]), v = randn([1, 2, 6, 4]);
  const unrelated = k.clone();
  const y = scaledDotProductAttention(q, k, v, { implementation: "fused" });
  noGrad(() => unrelated.mul_(2));
  y.sum().backward();
  assert.ok(q.grad);
});
