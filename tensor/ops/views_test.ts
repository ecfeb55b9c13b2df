import assert from "node:assert/strict";
import { arange, noGrad, tensor } from "../mod.ts";
import { vals } from "./test_util.ts";

/** A [2, 3, 4] tensor holding 0..23. */
const base = () => arange(24).float().reshape([2, 3, 4]);
/** The element of a row-major [2,3,4] iota at (i, j, k). */
const iota = (i: number, j: number, k: number) => i * 12 + j * 4 + k;

Deno.test("reshape and view of a contiguous tensor share storage; -1 infers a size", () => {
  const x = base();
  const r = x.reshape([6, -1]);
  assert.deepEqual(r.shape, [6, 4]);
  assert.equal(r.storage, x.storage);
  const v = x.view(4, 6);
  assert.equal(v.storage, x.storage);
  assert.deepEqual(vals(v), vals(x));
  assert.deepEqual(x.reshape([24]).shape, [24]);
  assert.deepEqual(tensor(5).reshape([1, 1]).shape, [1, 1]);
  assert.deepEqual(tensor([5]).reshape([]).shape, []);
});

Deno.test("view of a transposed tensor throws; reshape copies it in logical order", () => {
  const x = arange(6).float().reshape([2, 3]);
  const t = x.t();
  assert.throws(() => t.view([6]), /view: shape \[6\] is not compatible .* use reshape\(\) instead/);
  const r = t.reshape([6]);
  assert.notEqual(r.storage, x.storage);
  assert.deepEqual(vals(r), [0, 3, 1, 4, 2, 5]);
  // A view is still possible where PyTorch allows one: splitting a transposed dim.
  const y = arange(24).float().reshape([4, 6]).t(); // [6, 4] with strides [1, 6]
  const s = y.view([2, 3, 4]);
  assert.equal(s.storage, y.storage);
  assert.deepEqual(s.strides, [3, 1, 6]);
  assert.deepEqual(vals(s), vals(y));
  // Merging dims of a slice with a gap is not.
  const n = arange(24).float().reshape([4, 6]).narrow(1, 0, 4);
  assert.throws(() => n.view([16]), /view/);
  assert.deepEqual(vals(n.reshape([16])), [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21]);
});

Deno.test("writing through a view under noGrad changes the base", () => {
  const x = base();
  const row = x.select(1, 2); // [2, 4]
  noGrad(() => row.copy_(tensor([[-1, -2, -3, -4], [-5, -6, -7, -8]])));
  assert.deepEqual(vals(x.select(1, 2)), [-1, -2, -3, -4, -5, -6, -7, -8]);
  assert.equal(x.dataSync()[iota(0, 2, 0)], -1);
  const col = x.slice(2, 1, 4, 2); // k = 1, 3
  noGrad(() => col.fill_(100));
  assert.equal(x.dataSync()[iota(1, 0, 3)], 100);
  assert.equal(x.dataSync()[iota(1, 0, 2)], iota(1, 0, 2));
  const p = x.permute(2, 0, 1);
  noGrad(() => p.narrow(0, 0, 1).zero_());
  assert.equal(x.dataSync()[iota(0, 1, 0)], 0);
});

Deno.test("permute, transpose and t", () => {
  const x = base();
  const p = x.permute(2, 0, 1);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.deepEqual(p.strides, [1, 12, 4]);
  assert.equal(p.isContiguous(), false);
  const pv = vals(p);
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        assert.equal(pv[k * 6 + i * 3 + j], iota(i, j, k));
      }
    }
  }
  assert.deepEqual(x.permute([-1, 0, 1]).shape, [4, 2, 3]);
  const tr = x.transpose(0, -1);
  assert.deepEqual(tr.shape, [4, 3, 2]);
  assert.equal(vals(tr)[1 * 6 + 2 * 2 + 1], iota(1, 2, 1));
  assert.deepEqual(vals(tensor([[1, 2], [3, 4]]).t()), [1, 3, 2, 4]);
  assert.deepEqual(tensor([1, 2]).t().shape, [2]);
  assert.throws(() => x.t(), /t: expects a tensor of rank <= 2/);
  assert.throws(() => x.permute(0, 1), /permute: expected 3 dimensions/);
  assert.throws(() => x.permute(0, 1, 1), /permute: dimensions \[0, 1, 1\] repeat/);
});

Deno.test("expand broadcasts with stride 0 and shares storage", () => {
  const x = tensor([[1], [2], [3]]);
  const e = x.expand(2, 3, 4);
  assert.deepEqual(e.shape, [2, 3, 4]);
  assert.deepEqual(e.strides, [0, 1, 0]);
  assert.equal(e.storage, x.storage);
  assert.deepEqual(vals(e.select(0, 1)), [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.deepEqual(x.expand(-1, 2).shape, [3, 2]);
  assert.deepEqual(tensor([1, 2]).expandAs(tensor([[0, 0], [0, 0]])).shape, [2, 2]);
  assert.throws(
    () => x.expand(2, 4),
    /expand: the size 3 of dimension 0 of shape \[3, 1\] cannot be expanded to \[2, 4\]/,
  );
  assert.throws(() => x.expand(4), /expand: the target shape \[4\] has fewer dimensions/);
});

Deno.test("squeeze, unsqueeze and flatten", () => {
  const x = tensor([[[1, 2, 3]]]); // [1, 1, 3]
  assert.deepEqual(x.squeeze().shape, [3]);
  assert.deepEqual(x.squeeze(1).shape, [1, 3]);
  assert.deepEqual(x.squeeze(2).shape, [1, 1, 3], "squeezing a dim that is not 1 leaves it");
  assert.deepEqual(x.squeeze([0, 1]).shape, [3]);
  assert.deepEqual(x.squeeze(-2).shape, [1, 3]);
  const y = tensor([1, 2, 3]);
  assert.deepEqual(y.unsqueeze(0).shape, [1, 3]);
  assert.deepEqual(y.unsqueeze(1).shape, [3, 1]);
  assert.deepEqual(y.unsqueeze(-1).shape, [3, 1]);
  assert.deepEqual(vals(y.unsqueeze(1)), [1, 2, 3]);
  assert.equal(y.unsqueeze(0).storage, y.storage);
  assert.deepEqual(base().flatten().shape, [24]);
  assert.deepEqual(base().flatten(1).shape, [2, 12]);
  assert.deepEqual(base().flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(tensor(3).flatten().shape, [1]);
  assert.deepEqual(vals(base().permute(2, 1, 0).flatten()).slice(0, 3), [0, 12, 4]);
});

Deno.test("narrow, slice (steps, negative and clamped bounds) and select", () => {
  const x = arange(10).float();
  assert.deepEqual(vals(x.narrow(0, 2, 3)), [2, 3, 4]);
  assert.deepEqual(vals(x.narrow(0, -3, 2)), [7, 8]);
  assert.deepEqual(vals(x.slice(0, 1, 8, 3)), [1, 4, 7]);
  assert.deepEqual(vals(x.slice(0, -4)), [6, 7, 8, 9]);
  assert.deepEqual(vals(x.slice(0, undefined, undefined, 4)), [0, 4, 8]);
  assert.deepEqual(vals(x.slice(0, 5, 100)), [5, 6, 7, 8, 9]);
  assert.deepEqual(x.slice(0, 7, 3).shape, [0]);
  const m = base();
  const s = m.slice(2, 1, undefined, 2); // k = 1, 3
  assert.deepEqual(s.shape, [2, 3, 2]);
  assert.equal(s.storage, m.storage);
  assert.deepEqual(vals(s.select(0, 1).select(0, 2)), [iota(1, 2, 1), iota(1, 2, 3)]);
  assert.deepEqual(vals(m.select(2, -1)), [3, 7, 11, 15, 19, 23]);
  assert.deepEqual(m.select(0, 0).shape, [3, 4]);
  assert.throws(() => m.select(1, 3), /select: index 3 is out of range for dimension 1 of size 3/);
  assert.throws(() => x.narrow(0, 8, 5), /narrow: start 8 with length 5 is out of range/);
  assert.throws(() => x.slice(0, 0, 5, 0), /slice: step must be a positive integer/);
});

Deno.test("contiguous copies only when needed; size and stride accept negative dims", () => {
  const x = base();
  assert.equal(x.contiguous(), x);
  const t = x.transpose(0, 2);
  const c = t.contiguous();
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(vals(c), vals(t));
  assert.deepEqual(c.strides, [6, 2, 1]);
  assert.equal(x.size(-1), 4);
  assert.deepEqual(x.size(), [2, 3, 4]);
  assert.equal(x.stride(0), 12);
  assert.deepEqual(x.stride(), [12, 4, 1]);
  assert.equal(x.numel(), 24);
  assert.equal(x.ndim, 3);
});
