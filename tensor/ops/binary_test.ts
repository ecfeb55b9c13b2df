import assert from "node:assert/strict";
import { maximum, minimum, type Tensor, tensor, where } from "../mod.ts";
import * as binary from "./binary.ts";
import { close, vals } from "./test_util.ts";

const A = [[0.5, -1.25, 2], [3, -0.75, 1.5]]; // [2, 3]
const B = [1.5, -2, 0.25]; // [3], broadcast over rows
const pyMod = (x: number, y: number) => {
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
};
const ops: [string, (a: Tensor, b: Tensor | number) => Tensor, (x: number, y: number) => number][] = [
  ["add", (a, b) => a.add(b), (x, y) => x + y],
  ["sub", (a, b) => a.sub(b), (x, y) => x - y],
  ["mul", (a, b) => a.mul(b), (x, y) => x * y],
  ["div", (a, b) => a.div(b), (x, y) => x / y],
  ["maximum", (a, b) => a.maximum(b), Math.max],
  ["minimum", (a, b) => a.minimum(b), Math.min],
  ["remainder", (a, b) => a.remainder(b), pyMod],
  ["eq", (a, b) => a.eq(b), (x, y) => Number(x === y)],
  ["ne", (a, b) => a.ne(b), (x, y) => Number(x !== y)],
  ["lt", (a, b) => a.lt(b), (x, y) => Number(x < y)],
  ["le", (a, b) => a.le(b), (x, y) => Number(x <= y)],
  ["gt", (a, b) => a.gt(b), (x, y) => Number(x > y)],
  ["ge", (a, b) => a.ge(b), (x, y) => Number(x >= y)],
  ["logicalAnd", (a, b) => a.logicalAnd(b), (x, y) => Number(x !== 0 && y !== 0)],
  ["logicalOr", (a, b) => a.logicalOr(b), (x, y) => Number(x !== 0 || y !== 0)],
];

for (const [name, f, ref] of ops) {
  Deno.test(`binary ${name}: broadcast [2,3] with [3], [2,1] with [3], and scalars`, () => {
    const a = tensor(A, { dtype: "float64" });
    const expected = A.flatMap((row) => row.map((x, j) => ref(x, B[j])));
    close(vals(f(a, tensor(B, { dtype: "float64" }))), expected, 1e-12, `${name} [2,3]x[3]`);
    const col = tensor([[2], [-3]], { dtype: "float64" });
    const out = f(col, tensor(B, { dtype: "float64" }));
    assert.deepEqual(out.shape, [2, 3]);
    close(vals(out), [2, -3].flatMap((x) => B.map((y) => ref(x, y))), 1e-12, `${name} [2,1]x[3]`);
    close(vals(f(a, 0.75)), A.flat().map((x) => ref(x, 0.75)), 1e-12, `${name} tensor op scalar`);
    // A transposed (strided) first operand.
    const at = tensor([[0.5, 3], [-1.25, -0.75], [2, 1.5]], { dtype: "float64" }).t();
    close(vals(f(at, tensor(B, { dtype: "float64" }))), expected, 1e-12, `${name} strided`);
    // Equal values where comparisons see ties.
    close(vals(f(tensor([1, 2, 3]), tensor([1, 3, 2]))), [ref(1, 1), ref(2, 3), ref(3, 2)], 1e-6, `${name} ties`);
  });
}

Deno.test("pow: tensor and scalar exponents, scalar base, integer tensors", () => {
  const b = tensor([0.5, 1, 2, 3], { dtype: "float64" });
  const e = tensor([2, -1, 0.5, 3], { dtype: "float64" });
  close(vals(b.pow(e)), [0.25, 1, Math.SQRT2, 27], 1e-12, "tensor^tensor");
  close(vals(b.pow(2)), [0.25, 1, 4, 9], 1e-12, "tensor^2");
  close(vals(binary.pow(2, e)), [4, 0.5, Math.SQRT2, 8], 1e-12, "2^tensor");
  const i = tensor([1, 2, 3], { dtype: "int32" });
  assert.equal(i.pow(2).dtype, "int32");
  assert.deepEqual(vals(i.pow(2)), [1, 4, 9]);
  assert.equal(i.pow(-1).dtype, "float32");
  close(vals(i.pow(-1)), [1, 0.5, 1 / 3], 1e-7, "int^-1");
  assert.equal(i.pow(0.5).dtype, "float32");
});

Deno.test("scalar first operands (functions) and add/sub with alpha", () => {
  const t = tensor([1, 2, 4]);
  assert.deepEqual(vals(binary.sub(10, t)), [9, 8, 6]);
  assert.deepEqual(vals(binary.div(8, t)), [8, 4, 2]);
  assert.deepEqual(vals(binary.add(0.5, t)), [1.5, 2.5, 4.5]);
  assert.deepEqual(vals(t.add(tensor([1, 1, 1]), 3)), [4, 5, 7]);
  assert.deepEqual(vals(t.sub(tensor([1, 1, 1]), 2)), [-1, 0, 2]);
  assert.deepEqual(vals(maximum(t, 2)), [2, 2, 4]);
  assert.deepEqual(vals(minimum(t, 2)), [1, 2, 2]);
  assert.throws(() => binary.add(1, 2), /add: at least one operand must be a Tensor/);
});

Deno.test("type promotion follows PyTorch", () => {
  const i = tensor([1, 2, 3], { dtype: "int32" });
  const f = tensor([1, 2, 3]);
  const d = tensor([1, 2, 3], { dtype: "float64" });
  const b = tensor([true, false, true]);
  assert.equal(i.mul(2.5).dtype, "float32");
  assert.deepEqual(vals(i.mul(2.5)), [2.5, 5, 7.5]);
  assert.equal(i.mul(2).dtype, "int32");
  assert.equal(i.div(i).dtype, "float32");
  assert.deepEqual(vals(tensor([1, 3], { dtype: "int32" }).div(tensor([2, 2], { dtype: "int32" }))), [0.5, 1.5]);
  assert.equal(i.div(2).dtype, "float32");
  assert.equal(i.add(f).dtype, "float32");
  assert.equal(f.add(d).dtype, "float64");
  assert.equal(d.mul(2.5).dtype, "float64");
  assert.equal(f.add(i).dtype, "float32");
  assert.equal(b.add(b).dtype, "int32");
  assert.deepEqual(vals(b.add(b)), [2, 0, 2]);
  assert.equal(b.add(i).dtype, "int32");
  assert.equal(b.mul(1.5).dtype, "float32");
  for (const c of [i.lt(2), f.eq(f), d.ge(i), i.ne(2.5), b.logicalAnd(b)]) assert.equal(c.dtype, "bool");
  assert.deepEqual(vals(i.ne(2.5)), [1, 1, 1]);
  assert.deepEqual(vals(i.eq(2)), [0, 1, 0]);
  assert.equal(i.remainder(2).dtype, "int32");
  assert.deepEqual(vals(tensor([-3, 3], { dtype: "int32" }).remainder(2)), [1, 1]);
});

Deno.test("maximum and minimum propagate NaN", () => {
  const a = tensor([NaN, 1, 2]);
  const b = tensor([0, NaN, 1]);
  const mx = vals(a.maximum(b)), mn = vals(a.minimum(b));
  assert.ok(Number.isNaN(mx[0]) && Number.isNaN(mx[1]) && mx[2] === 2);
  assert.ok(Number.isNaN(mn[0]) && Number.isNaN(mn[1]) && mn[2] === 1);
});

Deno.test("where: function, method, broadcasting, scalars and promotion", () => {
  const c = tensor([true, false, true]);
  const a = tensor([1, 2, 3]);
  const b = tensor([[10], [20]]);
  const w = where(c, a, b);
  assert.deepEqual(w.shape, [2, 3]);
  assert.deepEqual(vals(w), [1, 10, 3, 1, 20, 3]);
  assert.deepEqual(vals(a.where(c, -1)), [1, -1, 3]);
  assert.deepEqual(vals(where(c, 5, a)), [5, 2, 5]);
  assert.equal(where(c, tensor([1, 2, 3], { dtype: "int32" }), 0.5).dtype, "float32");
  assert.equal(where(c, tensor([1, 2, 3], { dtype: "int32" }), 7).dtype, "int32");
  assert.deepEqual(vals(where(tensor([1, 0, 2], { dtype: "int32" }), a, 0)), [1, 0, 3], "non-zero is true");
  assert.throws(() => where(tensor([true, false]), a, 0), /where: shapes \[2\] and \[3\] cannot be broadcast/);
});

Deno.test("clamp: both bounds, one bound, tensor bounds, min > max", () => {
  const x = tensor([-2, -0.5, 0.5, 2]);
  assert.deepEqual(vals(x.clamp(-1, 1)), [-1, -0.5, 0.5, 1]);
  assert.deepEqual(vals(x.clamp(0)), [0, 0, 0.5, 2]);
  assert.deepEqual(vals(x.clamp(null, 0)), [-2, -0.5, 0, 0]);
  assert.deepEqual(vals(x.clamp(tensor([0, 0, 1, 1]), tensor([1, 1, 2, 1.5]))), [0, 0, 1, 1.5]);
  assert.deepEqual(vals(x.clamp(2, 1)), [1, 1, 1, 1], "PyTorch: everything becomes max");
  assert.throws(() => x.clamp(), /clamp: at least one of min and max must be given/);
  assert.throws(
    () => x.clamp(tensor([[0], [1]])),
    /clamp: bounds would broadcast the input of shape \[4\] to \[2, 4\]/,
  );
});

Deno.test("logicalXor: the truth table on bools, non-zero is true for numbers, broadcasting; bool - bool points to it", () => {
  const a = tensor([true, true, false, false]), b = tensor([true, false, true, false]);
  const x = a.logicalXor(b);
  assert.equal(x.dtype, "bool");
  assert.deepEqual(Array.from(x.dataSync()), [0, 1, 1, 0]);
  assert.deepEqual(Array.from(tensor([0, 2.5, -1]).logicalXor(tensor([3, 0, -2])).dataSync()), [1, 1, 0]);
  assert.deepEqual(Array.from(tensor([[0], [4]]).logicalXor(1).dataSync()), [1, 0]);
  assert.throws(() => a.sub(b), /use a\.logicalXor\(b\)/);
  // Masks convert to numbers first, as in PyTorch.
  assert.deepEqual(Array.from(a.int().sub(b.int()).dataSync()), [0, 1, -1, 0]);
});
