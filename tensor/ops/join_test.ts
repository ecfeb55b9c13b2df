import assert from "node:assert/strict";
import { arange, cat, liveTensors, stack, tensor } from "../mod.ts";
import { vals } from "./test_util.ts";

Deno.test("cat along each dim, negative dims, strided inputs, dtype promotion", () => {
  const a = tensor([[1, 2], [3, 4]]);
  const b = tensor([[5, 6]]);
  assert.deepEqual(vals(cat([a, b])), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(cat([a, b], 0).shape, [3, 2]);
  const c = cat([a, tensor([[7], [8]])], -1);
  assert.deepEqual(c.shape, [2, 3]);
  assert.deepEqual(vals(c), [1, 2, 7, 3, 4, 8]);
  assert.deepEqual(vals(cat([a.t(), a], 1)), [1, 3, 1, 2, 2, 4, 3, 4]);
  const m = cat([tensor([1], { dtype: "int32" }), tensor([2.5])]);
  assert.equal(m.dtype, "float32");
  assert.deepEqual(vals(m), [1, 2.5]);
  assert.deepEqual(vals(cat([a])), vals(a));
  assert.throws(
    () => cat([a, tensor([[1, 2, 3]])]),
    /cat: shapes \[2, 2\] and \[1, 3\] must match except in dimension 0/,
  );
  assert.throws(() => cat([]), /cat: expected a non-empty list/);
});

Deno.test("stack adds a new dim at any position", () => {
  const a = tensor([1, 2, 3]), b = tensor([4, 5, 6]);
  const s0 = stack([a, b]);
  assert.deepEqual(s0.shape, [2, 3]);
  assert.deepEqual(vals(s0), [1, 2, 3, 4, 5, 6]);
  const s1 = stack([a, b], 1);
  assert.deepEqual(s1.shape, [3, 2]);
  assert.deepEqual(vals(s1), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(stack([a, b], -1).shape, [3, 2]);
  assert.throws(() => stack([a, tensor([1, 2])]), /stack: expects tensors of equal shape, got \[3\] and \[2\]/);
});

Deno.test("split by size and by sizes, chunk; pieces are views", () => {
  const x = arange(10).float().reshape([5, 2]);
  const parts = x.split(2);
  assert.deepEqual(parts.map((p) => p.shape), [[2, 2], [2, 2], [1, 2]]);
  assert.deepEqual(vals(parts[2]), [8, 9]);
  assert.equal(parts[1].storage, x.storage);
  const bySizes = x.split([1, 4]);
  assert.deepEqual(bySizes.map((p) => p.shape[0]), [1, 4]);
  assert.deepEqual(vals(bySizes[1]), [2, 3, 4, 5, 6, 7, 8, 9]);
  const cols = x.split(1, 1);
  assert.deepEqual(vals(cols[1]), [1, 3, 5, 7, 9]);
  assert.deepEqual(x.chunk(2).map((p) => p.shape[0]), [3, 2]);
  assert.deepEqual(x.chunk(5).map((p) => p.shape[0]), [1, 1, 1, 1, 1]);
  assert.deepEqual(
    arange(6).chunk(4).map((p) => p.shape[0]),
    [2, 2, 2],
    "like torch.chunk, fewer pieces when n is small",
  );
  assert.deepEqual(vals(x.chunk(2, -1)[0]), [0, 2, 4, 6, 8]);
  assert.throws(() => x.split([1, 2]), /split: sizes \[1, 2\] sum to 3, but dimension 0 has size 5/);
  assert.throws(() => x.split(0), /split: split size must be a positive integer/);
  assert.throws(() => x.chunk(0), /chunk: chunks must be a positive integer/);
});

Deno.test("stack without a graph leaves no views behind: disposing the inputs releases everything but the result", () => {
  const before = liveTensors();
  const a = tensor([1, 2]), b = tensor([3, 4]);
  const s = stack([a, b]);
  a.dispose();
  b.dispose();
  assert.deepStrictEqual(liveTensors(), before + 1);
  assert.deepStrictEqual(Array.from(s.dataSync()), [1, 2, 3, 4]);
  s.dispose();
});
