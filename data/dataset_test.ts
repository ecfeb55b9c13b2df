import assert from "node:assert/strict";
import { Generator, tensor } from "@dendrite/tensor";
import { ConcatDataset, randomSplit, Subset, TensorDataset } from "./dataset.ts";

const range = (n: number) => ({ length: n, get: (i: number) => i });

Deno.test("TensorDataset: rows of every tensor; size mismatch is a clear error", async () => {
  const ds = new TensorDataset(tensor([[1, 2], [3, 4], [5, 6]]), tensor([7, 8, 9], { dtype: "int32" }));
  assert.equal(ds.length, 3);
  const [x, y] = ds.get(2);
  assert.deepEqual(await x.tolist(), [5, 6]);
  assert.equal(await y.item(), 9);
  assert.throws(() => ds.get(3), /TensorDataset.get: index 3 is out of range for a dataset of length 3/);
  assert.throws(
    () => new TensorDataset(tensor([1, 2]), tensor([1, 2, 3])),
    /tensor 0 has shape \[2\] but tensor 1 has shape \[3\]/,
  );
});

Deno.test("Subset and ConcatDataset index correctly", () => {
  const s = new Subset(range(10), [9, 0, 4]);
  assert.deepEqual([0, 1, 2].map((i) => s.get(i)), [9, 0, 4]);
  assert.throws(() => new Subset(range(3), [3]), /Subset: index 3 is out of range/);
  const c = new ConcatDataset([range(2), { length: 0, get: () => -1 }, { length: 3, get: (i: number) => 100 + i }]);
  assert.equal(c.length, 5);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => c.get(i)), [0, 1, 100, 101, 102]);
  assert.throws(() => c.get(5), /out of range/);
});

Deno.test("randomSplit: counts or fractions, disjoint cover, reproducible with a generator", () => {
  const [a, b] = randomSplit(range(10), [7, 3], new Generator(1));
  assert.deepEqual([a.length, b.length], [7, 3]);
  assert.deepEqual([...a.indices, ...b.indices].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The permutation is the generator's randperm, cut in order.
  const perm = new Generator(1).randperm(10);
  assert.deepEqual(a.indices, perm.slice(0, 7));
  // Fractions: floor(0.33*10)=3 each, remainder 1 goes to the first.
  const parts = randomSplit(range(10), [0.34, 0.33, 0.33], new Generator(2));
  assert.deepEqual(parts.map((p) => p.length), [4, 3, 3]);
  assert.throws(() => randomSplit(range(10), [5, 4]), /sum to 9, but the dataset has 10/);
});
