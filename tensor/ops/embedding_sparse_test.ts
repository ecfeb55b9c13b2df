// embedding(..., sparse = true): the weight's gradient as a sparse tensor of the looked-up rows, checked against a
// direct loop over the lookups, and how it accumulates with other gradients.
import assert from "node:assert/strict";
import { embedding, Generator, randn, type SparseTensor, tensor } from "../mod.ts";
import { close, vals } from "./test_util.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

/** dW by a loop: row r gets the sum of the upstream gradient at every position that looked r up (not the padding). */
function gradByLoop(rows: number[], upstream: number[], num: number, dim: number, pad: number | null): number[] {
  const dW = new Array(num * dim).fill(0);
  rows.forEach((r, p) => {
    if (r === pad) return;
    for (let j = 0; j < dim; j++) dW[r * dim + j] += upstream[p * dim + j];
  });
  return dW;
}

Deno.test("sparse embedding gradient: the looked-up rows only, equal to a direct loop, padding row zero", () => {
  const g = new Generator(3);
  const w = randn([7, 4], { generator: g }).requiresGrad_();
  const rows = [[1, 5, 1], [0, 6, 1]];
  const up = randn([2, 3, 4], { generator: g });
  const y = embedding(int(rows), w, 0, true);
  assert.deepEqual(y.shape, [2, 3, 4]);
  close(vals(y), rows.flat().flatMap((r) => vals(w).slice(r * 4, r * 4 + 4)), 0, "forward rows");
  y.backward(up);
  const grad = w.grad as SparseTensor;
  assert.ok(grad.isSparse, "the gradient is sparse");
  assert.equal(grad.nnz, 6, "one entry per lookup (repeats stay separate until coalesce)");
  assert.deepEqual(vals(grad._indices()), rows.flat());
  close(vals(grad.toDense()), gradByLoop(rows.flat(), vals(up), 7, 4, 0), 1e-6, "dW");
  const c = grad.coalesce();
  assert.deepEqual(vals(c.indices()), [0, 1, 5, 6]);
});

Deno.test("sparse embedding gradients accumulate: two backwards concatenate, a tied dense use densifies", () => {
  const g = new Generator(5);
  const w = randn([5, 3], { generator: g }).requiresGrad_();
  embedding(int([1, 2]), w, null, true).sum().backward();
  embedding(int([2, 4]), w, null, true).mul(2).sum().backward();
  assert.ok(w.grad!.isSparse);
  assert.equal((w.grad as SparseTensor).nnz, 4);
  close(vals(w.grad!.toDense()), gradByLoop([1, 2, 2, 4], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], 5, 3, null), 1e-7);

  // Weight tying: the table is also the output layer, so one gradient is sparse and the other dense.
  const v = randn([5, 3], { generator: g }).requiresGrad_();
  const h = embedding(int([3, 0]), v, null, true); // [2, 3]
  h.matmul(v.t()).sum().backward(); // d/dv of Σ h·vᵀ: dense part = column sums of h per row of v
  const hv = vals(h);
  const dense = new Array(15).fill(0);
  for (let r = 0; r < 5; r++) for (let j = 0; j < 3; j++) dense[r * 3 + j] = hv[j] + hv[3 + j];
  const vv = vals(v), colSum = [0, 1, 2].map((j) => vv.filter((_, i) => i % 3 === j).reduce((a, b) => a + b, 0));
  const sparsePart = gradByLoop([3, 0], [...colSum, ...colSum], 5, 3, null);
  assert.ok(!v.grad!.isSparse, "dense + sparse is dense");
  close(vals(v.grad!), dense.map((d, i) => d + sparsePart[i]), 1e-5, "tied gradient");
});

Deno.test("sparse embedding falls back to a dense gradient for a non-leaf weight and under createGraph", () => {
  const g = new Generator(6);
  const base = randn([4, 2], { generator: g }).requiresGrad_();
  embedding(int([1, 1, 3]), base.mul(2), null, true).sum().backward();
  assert.ok(!base.grad!.isSparse);
  close(vals(base.grad!), [0, 0, 4, 4, 0, 0, 2, 2], 1e-7, "through mul(2)");
  const w = randn([4, 2], { generator: g }).requiresGrad_();
  embedding(int([2]), w, null, true).square().sum().backward(undefined, { createGraph: true });
  assert.ok(!w.grad!.isSparse, "a recorded backward gives a dense gradient");
  assert.ok(w.grad!.requiresGrad, "and it is part of a graph");
});

Deno.test("embedding: an out-of-range index is refused before anything is recorded", () => {
  const w = randn([4, 2]).requiresGrad_();
  assert.throws(() => embedding(int([1, 4]), w, null, true), /embedding: index 4 is out of bounds for 4 embeddings/);
  assert.equal(w.grad, null);
});
