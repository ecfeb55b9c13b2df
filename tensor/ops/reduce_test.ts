import assert from "node:assert/strict";
import { manualSeed, randn, type Tensor, tensor } from "../mod.ts";
import { close, vals } from "./test_util.ts";

/** Reduces row-major `values` of `shape` over `dims` with `f` (a plain loop over every element). */
function refReduce(values: number[], shape: number[], dims: number[], f: (xs: number[]) => number): number[] {
  const keep = shape.map((_, d) => !dims.includes(d));
  const outShape = shape.filter((_, d) => keep[d]);
  const groups = new Map<number, number[]>();
  const idx = new Array(shape.length).fill(0);
  for (let e = 0; e < values.length; e++) {
    let key = 0;
    for (let d = 0, k = 0; d < shape.length; d++) if (keep[d]) key = key * outShape[k++] + idx[d];
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(values[e]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => f(groups.get(k)!));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const variance = (c: number) => (xs: number[]) => {
  const m = mean(xs);
  return sum(xs.map((x) => (x - m) ** 2)) / (xs.length - c);
};
const refs: [string, (t: Tensor, d: number[] | undefined, keepdim: boolean) => Tensor, (xs: number[]) => number][] = [
  ["sum", (t, d, k) => t.sum(d, { keepdim: k }), sum],
  ["mean", (t, d, k) => t.mean(d, { keepdim: k }), mean],
  ["amax", (t, d, k) => t.amax(d, { keepdim: k }), (xs) => Math.max(...xs)],
  ["amin", (t, d, k) => t.amin(d, { keepdim: k }), (xs) => Math.min(...xs)],
  ["var", (t, d, k) => t.var(d, { keepdim: k }), variance(1)],
  ["var correction 0", (t, d, k) => t.var(d, { keepdim: k, correction: 0 }), variance(0)],
  ["std", (t, d, k) => t.std(d, { keepdim: k }), (xs) => Math.sqrt(variance(1)(xs))],
  ["std correction 0", (t, d, k) => t.std(d, { keepdim: k, correction: 0 }), (xs) => Math.sqrt(variance(0)(xs))],
  ["logsumexp", (t, d, k) => t.logsumexp(d ?? [0, 1, 2], { keepdim: k }), (xs) => Math.log(sum(xs.map(Math.exp)))],
];

for (const [name, f, ref] of refs) {
  Deno.test(`reduce ${name}: all dims, one dim, negative dims, dim lists, keepdim, strided input`, () => {
    manualSeed(3);
    const shape = [2, 3, 4];
    const x = randn(shape, { dtype: "float64" });
    const v = vals(x);
    for (const dims of [undefined, [0], [1], [2], [0, 2], [1, 2]]) {
      for (const keepdim of [false, true]) {
        const out = f(x, dims, keepdim);
        const all = dims ?? [0, 1, 2];
        const want = keepdim
          ? shape.map((s, d) => (all.includes(d) ? 1 : s))
          : shape.filter((_, d) => !all.includes(d));
        assert.deepEqual(out.shape, want, `${name} dims ${dims} keepdim ${keepdim}`);
        close(vals(out), refReduce(v, shape, all, ref), 1e-12, `${name} dims ${dims}`);
      }
    }
    // Negative dims name the same dims.
    assert.deepEqual(vals(f(x, [-1], false)), vals(f(x, [2], false)));
    // A permuted (non-contiguous) input reduces like its contiguous copy.
    const p = x.permute(2, 0, 1);
    close(vals(f(p, [0], false)), refReduce(vals(p.contiguous()), [4, 2, 3], [0], ref), 1e-12, `${name} strided`);
  });
}

Deno.test("sum over a single number dim, int and bool inputs", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(vals(x.sum(1)), [6, 15]);
  assert.deepEqual(vals(x.sum(-2)), [5, 7, 9]);
  assert.deepEqual(x.sum().shape, []);
  assert.equal(x.sum().dataSync()[0], 21);
  const i = tensor([1, 2, 3], { dtype: "int32" });
  assert.equal(i.sum().dtype, "int32");
  const b = tensor([true, true, false]);
  assert.equal(b.sum().dtype, "int32");
  assert.equal(b.sum().dataSync()[0], 2);
  assert.throws(() => i.mean(), /mean: input dtype must be floating point, got int32/);
});

Deno.test("max/min with dim return values and the first index of ties; argmax/argmin", () => {
  const x = tensor([[1, 5, 5, 2], [7, 0, 7, -1], [3, 3, 3, 3]]);
  const [mv, mi] = x.max(1);
  assert.deepEqual(vals(mv), [5, 7, 3]);
  assert.deepEqual(vals(mi), [1, 0, 0]);
  assert.equal(mi.dtype, "int32");
  const [nv, ni] = x.min(0, { keepdim: true });
  assert.deepEqual(nv.shape, [1, 4]);
  assert.deepEqual(vals(nv), [1, 0, 3, -1]);
  assert.deepEqual(vals(ni), [0, 1, 2, 1]);
  assert.equal(x.max().dataSync()[0], 7);
  assert.equal(x.min().dataSync()[0], -1);
  assert.deepEqual(vals(x.argmax(1)), [1, 0, 0]);
  assert.deepEqual(vals(x.argmin(-1)), [0, 3, 0]);
  assert.equal(x.argmax().dataSync()[0], 4, "index into the flattened tensor");
  assert.equal(x.argmin().dataSync()[0], 7);
  assert.deepEqual(x.argmax(undefined, { keepdim: true }).shape, [1, 1]);
  assert.deepEqual(x.argmax(0, { keepdim: true }).shape, [1, 4]);
  // A strided input.
  assert.deepEqual(vals(x.t().argmax(1)), [1, 0, 1, 2]);
  assert.deepEqual(vals(x.t().max(0)[0]), [5, 7, 3]);
});

Deno.test("prod: all elements, one dim, zeros, integers", () => {
  const x = tensor([[1, 2, 3], [4, 0, 6]]);
  assert.equal(x.prod().dataSync()[0], 0);
  assert.deepEqual(vals(x.prod(1)), [6, 0]);
  assert.deepEqual(vals(x.prod(0)), [4, 0, 18]);
  assert.deepEqual(x.prod(0, { keepdim: true }).shape, [1, 3]);
  assert.deepEqual(vals(x.t().prod(-1)), [4, 0, 18]);
  const i = tensor([2, 3, 4], { dtype: "int32" }).prod();
  assert.equal(i.dtype, "int32");
  assert.equal(i.dataSync()[0], 24);
});

Deno.test("logsumexp is stable for large and -inf inputs", () => {
  const x = tensor([[1000, 1000], [-Infinity, 0]], { dtype: "float64" });
  close(vals(x.logsumexp(1)), [1000 + Math.log(2), 0], 1e-12, "logsumexp");
  assert.deepEqual(vals(tensor([-Infinity, -Infinity]).logsumexp(0)), [-Infinity]);
  assert.equal(tensor([1, 2], { dtype: "int32" }).logsumexp(0).dtype, "float32");
});

Deno.test("reductions of empty tensors: sum is 0, max throws", () => {
  const e = tensor([]);
  assert.equal(e.sum().dataSync()[0], 0);
  assert.equal(e.prod().dataSync()[0], 1);
  assert.throws(() => e.max(), /amax: cannot reduce an empty tensor/);
  assert.throws(() => e.argmax(), /argmax: cannot reduce an empty tensor/);
});
