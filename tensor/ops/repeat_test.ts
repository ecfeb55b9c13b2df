// repeatInterleave against hand-worked values and a direct loop, gradcheck, and errors; diagonal as a view.
import assert from "node:assert/strict";
import { diagonal, gradcheck, randn, repeatInterleave, tensor } from "../mod.ts";
import { vals } from "./test_util.ts";

const int = (v: number[]) => tensor(v, { dtype: "int32" });

Deno.test("repeatInterleave: one count, per-slice counts (array or int32 tensor), flattened when dim is omitted", () => {
  const x = tensor([[1, 2], [3, 4]]);
  assert.deepEqual(vals(x.repeatInterleave(2)), [1, 1, 2, 2, 3, 3, 4, 4]);
  const r0 = repeatInterleave(x, 2, 0);
  assert.deepEqual(r0.shape, [4, 2]);
  assert.deepEqual(vals(r0), [1, 2, 1, 2, 3, 4, 3, 4]);
  assert.deepEqual(vals(x.repeatInterleave(3, -1)), [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  const r1 = x.repeatInterleave([1, 2], 1);
  assert.deepEqual(r1.shape, [2, 3]);
  assert.deepEqual(vals(r1), [1, 2, 2, 3, 4, 4]);
  assert.deepEqual(vals(x.repeatInterleave(int([0, 3]), 0)), [3, 4, 3, 4, 3, 4]);
  assert.deepEqual(vals(x.repeatInterleave(tensor(2, { dtype: "int32" }), 0)), vals(r0));
  assert.deepEqual(x.repeatInterleave(0, 0).shape, [0, 2]);
  assert.deepEqual(vals(repeatInterleave(int([2, 0, 1]))), [0, 0, 2]);
  // Against a direct loop on a 3-D tensor along its middle dim.
  const y = randn([2, 3, 2]), counts = [2, 0, 3];
  const got = vals(y.repeatInterleave(counts, 1)), yv = vals(y), expected: number[] = [];
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 3; b++) {
      for (let k = 0; k < counts[b]; k++) for (let c = 0; c < 2; c++) expected.push(yv[a * 6 + b * 2 + c]);
    }
  }
  assert.deepEqual(got, expected);
});

Deno.test("repeatInterleave: gradients sum over the copies; errors name the counts", () => {
  const leaf = randn([2, 3], { dtype: "float64" }).requiresGrad_();
  assert.ok(gradcheck((p) => p.repeatInterleave(2, 0), [leaf]));
  assert.ok(gradcheck((p) => p.repeatInterleave([3, 0, 1], 1), [leaf]));
  assert.ok(gradcheck((p) => p.repeatInterleave(2), [leaf]));
  const x = tensor([[1, 2], [3, 4]]);
  assert.throws(() => x.repeatInterleave(-1, 0), /repeatInterleave: repeats must be non-negative integers, got -1/);
  assert.throws(
    () => x.repeatInterleave([1, 2, 3], 0),
    /repeatInterleave: repeats must have the same size as the input along dim 0, got 3 counts for size 2/,
  );
  assert.throws(
    () => x.repeatInterleave(tensor([1, 2]), 0),
    /repeatInterleave: a repeats tensor must have dtype int32, got float32/,
  );
  assert.throws(() => x.repeatInterleave(1, 2), /repeatInterleave/);
});

Deno.test("diagonal: offsets and dims as a view; its gradient writes back along the diagonal", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  const d = x.diagonal();
  assert.deepEqual(vals(d), [1, 5, 9]);
  assert.equal(d.storage, x.storage);
  assert.deepEqual(vals(x.diagonal(1)), [2, 6]);
  assert.deepEqual(vals(x.diagonal(-2)), [7]);
  assert.deepEqual(x.diagonal(5).shape, [0]);
  const b = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  assert.deepEqual(vals(diagonal(b, 0, 1, 2)), [1, 4, 5, 8]);
  assert.deepEqual(vals(diagonal(b, 0, 0, 2)), [1, 6, 3, 8]); // shape [2 (dim 1), 2 (diagonal)]
  const leaf = randn([3, 4, 2], { dtype: "float64" }).requiresGrad_();
  assert.ok(gradcheck((p) => p.diagonal(1, 0, 1), [leaf]));
  assert.ok(gradcheck((p) => p.diagonal(-1, 2, 0), [leaf]));
  assert.throws(() => x.diagonal(0, 1, 1), /diagonal: dimensions cannot be identical, got 1 and 1/);
});
