import assert from "node:assert/strict";
import { oneHot, tensor } from "../mod.ts";
import { vals } from "./test_util.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

Deno.test("gather along dim 0 and 1 (index smaller than input, strided input)", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const g1 = x.gather(1, int([[2, 0], [1, 1]]));
  assert.deepEqual(vals(g1), [3, 1, 5, 5]);
  const g0 = x.gather(0, int([[1, 0, 1]]));
  assert.deepEqual(vals(g0), [4, 2, 6]);
  const gt = x.t().gather(0, int([[1, 0], [0, 0]])); // x.t() = [[1,4],[2,5],[3,6]]
  assert.deepEqual(vals(gt), [2, 4, 1, 4]);
  assert.deepEqual(vals(x.gather(-1, int([[0], [2]]))), [1, 6]);
});

Deno.test("scatterAdd accumulates duplicates and leaves the input untouched", () => {
  const x = tensor([[0, 0, 0], [10, 10, 10]]);
  const src = tensor([[1, 2, 3], [4, 5, 6]]);
  const out = x.scatterAdd(1, int([[0, 0, 2], [1, 1, 1]]), src);
  assert.deepEqual(vals(out), [3, 0, 3, 10, 25, 10]);
  assert.deepEqual(vals(x), [0, 0, 0, 10, 10, 10]);
  const o0 = x.scatterAdd(0, int([[1, 0, 1]]), src);
  assert.deepEqual(vals(o0), [0, 2, 0, 11, 10, 13]);
});

Deno.test("indexSelect picks slices along any dim, with repeats", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  assert.deepEqual(vals(x.indexSelect(0, int([2, 0, 2]))), [7, 8, 9, 1, 2, 3, 7, 8, 9]);
  const c = x.indexSelect(1, int([1]));
  assert.deepEqual(c.shape, [3, 1]);
  assert.deepEqual(vals(c), [2, 5, 8]);
  assert.deepEqual(vals(x.t().indexSelect(-1, int([0]))), [1, 2, 3]);
});

Deno.test("oneHot infers or takes the class count", () => {
  const o = oneHot(int([0, 2, 1]));
  assert.deepEqual(o.shape, [3, 3]);
  assert.equal(o.dtype, "int32");
  assert.deepEqual(vals(o), [1, 0, 0, 0, 0, 1, 0, 1, 0]);
  const o5 = oneHot(int([[1], [4]]), 5);
  assert.deepEqual(o5.shape, [2, 1, 5]);
  assert.deepEqual(vals(o5), [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(() => oneHot(int([3]), 3), /oneHot: class value 3 is out of range for numClasses 3/);
  assert.throws(() => oneHot(int([-1])), /oneHot: class values must be non-negative/);
  assert.throws(() => oneHot(tensor([1.0])), /oneHot: index must be an int32 tensor, got dtype float32/);
});

Deno.test("tril and triu with diagonals, batched", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  assert.deepEqual(vals(x.tril()), [1, 0, 0, 4, 5, 0, 7, 8, 9]);
  assert.deepEqual(vals(x.triu()), [1, 2, 3, 0, 5, 6, 0, 0, 9]);
  assert.deepEqual(vals(x.tril(-1)), [0, 0, 0, 4, 0, 0, 7, 8, 0]);
  assert.deepEqual(vals(x.triu(1)), [0, 2, 3, 0, 0, 6, 0, 0, 0]);
  const r = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(vals(r.tril()), [1, 0, 0, 4, 5, 0]);
  const b = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  assert.deepEqual(vals(b.triu()), [1, 2, 0, 4, 5, 6, 0, 8]);
  assert.equal(int([[1, 2], [3, 4]]).tril().dtype, "int32");
  assert.throws(() => tensor([1, 2]).tril(), /tril: input must have at least 2 dimensions, got shape \[2\]/);
});

Deno.test("whole-row gather and scatterAdd (the CPU's row fast path) match a loop, and check rows first", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]);
  const rows = [3, 0, 3, 1];
  const idx = int(rows).reshape([4, 1]).expand([4, 3]);
  assert.deepEqual(vals(x.gather(0, idx)), rows.flatMap((r) => [1, 2, 3].map((c) => r * 3 + c)));
  const src = tensor([[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]]);
  const expected = vals(x);
  rows.forEach((r, e) => [0, 1, 2].forEach((c) => expected[r * 3 + c] += e + 1));
  assert.deepEqual(vals(x.scatterAdd(0, idx, src)), expected);
  const bad = int([0, 4]).reshape([2, 1]).expand([2, 3]);
  assert.throws(() => x.gather(0, bad), /gather: index 4 is out of range for dimension 0 of size 4/);
  assert.throws(() => x.scatterAdd(0, bad, src.narrow(0, 0, 2)), /scatterAdd: index 4 is out of range/);
});
