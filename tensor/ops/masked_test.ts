// maskedFill, maskedSelect and maskedScatter against hand-worked values and direct loops, gradcheck, and errors.
import assert from "node:assert/strict";
import {
  Generator,
  gradcheck,
  maskedFill,
  maskedScatter,
  maskedScatterAsync,
  maskedSelect,
  maskedSelectAsync,
  noGrad,
  rand,
  randn,
  tensor,
} from "../mod.ts";
import { vals } from "./test_util.ts";

const f64 = (v: number[] | number[][]) => tensor(v, { dtype: "float64" });

Deno.test("maskedFill broadcasts the mask (and the input), keeps the input's dtype, takes a number or a 0-d tensor", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const causal = tensor([[false, true, true], [false, false, true]]);
  assert.deepEqual(vals(x.maskedFill(causal, -Infinity)), [1, -Infinity, -Infinity, 4, 5, -Infinity]);
  assert.deepEqual(vals(x.maskedFill(tensor([true, false, false]), 0)), [0, 2, 3, 0, 5, 6]);
  const wide = tensor([1, 2]).maskedFill(tensor([[true, false], [false, true]]), 9);
  assert.deepEqual(wide.shape, [2, 2]);
  assert.deepEqual(vals(wide), [9, 2, 1, 9]);
  const i = tensor([1, 2, 3], { dtype: "int32" }).maskedFill(tensor([false, true, false]), 7.8);
  assert.equal(i.dtype, "int32");
  assert.deepEqual(vals(i), [1, 7, 3]);
  assert.deepEqual(vals(tensor([true, false]).maskedFill(tensor([true, true]), 0)), [0, 0]);
  assert.deepEqual(vals(maskedFill(x, tensor(true), tensor(2.5))), [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  // The same as where(mask, value, x) element by element.
  const g = new Generator(3);
  const y = randn([4, 5], { generator: g }), m = rand([4, 1], { generator: g }).lt(0.5);
  const yv = vals(y), mv = vals(m);
  assert.deepEqual(vals(y.maskedFill(m, 3)), yv.map((v, k) => (mv[Math.floor(k / 5)] ? Math.fround(3) : v)));
});

Deno.test("maskedFill_ writes in place; maskedFill's gradients reach the input and a 0-d value", () => {
  const x = tensor([1, 2, 3]);
  x.maskedFill_(tensor([false, true, false]), 0);
  assert.deepEqual(vals(x), [1, 0, 3]);
  assert.throws(
    () => x.maskedFill_(tensor([[true, false, true]]).expand([2, 3]), 1),
    /maskedFill_: a value of shape \[2, 3\] cannot be written into a tensor of shape \[3\]/,
  );
  const mask = tensor([[true, false, false], [false, true, true]]);
  const a = f64([1, 2, 3]).requiresGrad_(), v = f64([0]).reshape([]).detach().requiresGrad_();
  a.maskedFill(mask, v).backward(f64([[1, 2, 3], [4, 5, 6]]));
  assert.deepEqual(vals(a.grad!), [4, 2, 3]); // sums over the broadcast rows where the mask is false
  assert.deepEqual(vals(v.grad!), [1 + 5 + 6]);
  const leaf = (shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();
  assert.ok(gradcheck((p, q) => p.maskedFill(mask, q.reshape([])), [leaf([2, 3]), leaf([1])]));
});

Deno.test("maskedSelect picks the true positions in row-major order, broadcasting; gradient back to those positions", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const mask = tensor([[true, false, true], [false, false, true]]);
  assert.deepEqual(vals(x.maskedSelect(mask)), [1, 3, 6]);
  assert.deepEqual(vals(maskedSelect(x, tensor([false, true, false]))), [2, 5]);
  assert.deepEqual(vals(tensor([1, 2]).maskedSelect(tensor([[true, true], [false, true]]))), [1, 2, 2]);
  assert.deepEqual(vals(x.maskedSelect(tensor(false))), []);
  assert.deepEqual(vals(await maskedSelectAsync(x, mask)), [1, 3, 6]);
  const a = f64([1, 2]).requiresGrad_();
  a.maskedSelect(tensor([[true, true], [false, true]])).backward(f64([1, 10, 100]));
  assert.deepEqual(vals(a.grad!), [1, 110]);
  const leaf = randn([3, 4], { dtype: "float64" }).requiresGrad_();
  const m = rand([3, 4]).lt(0.5);
  assert.ok(gradcheck((p) => p.maskedSelect(m), [leaf]));
});

Deno.test("maskedScatter fills the true positions with source's leading elements; gradients to both", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const mask = tensor([[true, false, true], [false, true, false]]);
  const src = tensor([[10, 20, 30], [40, 50, 60]]);
  assert.deepEqual(vals(x.maskedScatter(mask, src)), [10, 2, 20, 4, 30, 6]);
  assert.deepEqual(vals(await maskedScatterAsync(x, mask, src)), [10, 2, 20, 4, 30, 6]);
  assert.deepEqual(vals(maskedScatter(tensor([0, 0]), tensor([[true, false], [true, true]]), tensor([7, 8, 9]))), [
    7,
    0,
    8,
    9,
  ]);
  const a = f64([[1, 2, 3], [4, 5, 6]]).requiresGrad_(), s = f64([1, 1, 1, 1]).requiresGrad_();
  a.maskedScatter(mask, s).backward(f64([[1, 2, 3], [4, 5, 6]]));
  assert.deepEqual(vals(a.grad!), [0, 2, 0, 4, 0, 6]);
  assert.deepEqual(vals(s.grad!), [1, 3, 5, 0]);
  const leaf = (shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();
  assert.ok(gradcheck((p, q) => p.maskedScatter(mask, q), [leaf([2, 3]), leaf([5])]));
  assert.throws(
    () => x.maskedScatter(mask, tensor([1, 2])),
    /maskedScatter: source of shape \[2\] has 2 elements, fewer than the 3 true elements of the mask/,
  );
});

Deno.test("mask errors: a non-bool mask, a value tensor with dimensions, shapes that do not broadcast", () => {
  const x = tensor([1, 2, 3]);
  assert.throws(
    () => x.maskedFill(tensor([1, 0, 1]), 0),
    /maskedFill: only boolean masks are supported, got a mask of dtype float32/,
  );
  assert.throws(
    () => x.maskedSelect(tensor([1, 0, 1], { dtype: "int32" })),
    /maskedSelect: only boolean masks are supported/,
  );
  assert.throws(
    () => x.maskedFill(tensor([true, false, true]), tensor([1])),
    /maskedFill: only a 0-dimensional value tensor is supported, got one of shape \[1\]/,
  );
  assert.throws(() => x.maskedFill(tensor([true, false]), 0), /maskedFill.*\[3\].*\[2\]/);
  assert.throws(
    () => x.maskedScatter(tensor([true, false, true]), tensor([1], { dtype: "int32" })),
    /maskedScatter: source has dtype int32 but the input has dtype float32/,
  );
  const w = tensor([1, 2]).requiresGrad_();
  assert.throws(
    () => w.maskedFill_(tensor([true, false]), 0),
    /maskedFill_: a leaf tensor that requires grad cannot be modified in place/,
  );
  noGrad(() => w.maskedFill_(tensor([true, false]), 0));
  assert.deepEqual(vals(w), [0, 2]);
});
