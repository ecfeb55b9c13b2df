import assert, { ok, throws } from "node:assert/strict";
import {
  addbmm,
  addmm,
  baddbmm,
  bmm,
  Generator,
  gradcheck,
  manualSeed,
  matmul,
  randn,
  type Tensor,
  tensor,
} from "../mod.ts";
import { close, vals } from "./test_util.ts";

/** Batched product by a triple loop, with NumPy broadcasting of batch dims (both operands of rank ≥ 2). */
function refMatmul(a: number[], as: number[], b: number[], bs: number[]): { shape: number[]; values: number[] } {
  const m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const nb = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...new Array(nb - s.length).fill(1), ...s];
  const pa = pad(ab), pb = pad(bb);
  const batch = pa.map((s, i) => Math.max(s, pb[i]));
  const total = batch.reduce((x, y) => x * y, 1);
  const values: number[] = [];
  for (let t = 0; t < total; t++) {
    // Unravel t, then clamp broadcast dims to 0 for each operand.
    let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = nb - 1; d >= 0; d--) {
      const i = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      ia += (pa[d] === 1 ? 0 : i) * sa;
      ib += (pb[d] === 1 ? 0 : i) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ia * m * k + i * k + p] * b[ib * k * n + p * n + j];
        values.push(s);
      }
    }
  }
  return { shape: [...batch, m, n], values };
}

Deno.test("matmul 2-D, batched and broadcast batch shapes against a triple loop", () => {
  manualSeed(11);
  const cases: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[1, 1], [1, 1]],
    [[67, 33], [33, 70]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 3, 4], [4, 5]],
    [[3, 4], [2, 4, 5]],
    [[2, 1, 3, 4], [5, 4, 2]],
    [[1, 3, 4], [6, 4, 2]],
  ];
  for (const [as, bs] of cases) {
    const a = randn(as, { dtype: "float64" }), b = randn(bs, { dtype: "float64" });
    const ref = refMatmul(vals(a), as, vals(b), bs);
    const out = a.matmul(b);
    assert.deepEqual(out.shape, ref.shape, `${as} x ${bs}`);
    close(vals(out), ref.values, 1e-12, `${as} x ${bs}`);
  }
});

Deno.test("matmul with transposed and strided operands", () => {
  manualSeed(12);
  const a = randn([5, 3], { dtype: "float64" }), b = randn([4, 5], { dtype: "float64" });
  const at = a.t(), bt = b.t(); // [3, 5] and [5, 4]
  const ref = refMatmul(vals(at.contiguous()), [3, 5], vals(bt.contiguous()), [5, 4]);
  close(vals(at.matmul(bt)), ref.values, 1e-12, "transposed");
  const big = randn([6, 10], { dtype: "float64" });
  const s = big.slice(1, 0, 10, 2); // [6, 5], stride 2
  close(
    vals(s.matmul(bt)),
    refMatmul(vals(s.contiguous()), [6, 5], vals(bt.contiguous()), [5, 4]).values,
    1e-12,
    "sliced",
  );
  const x3 = randn([2, 4, 3], { dtype: "float64" }).transpose(1, 2); // [2, 3, 4], not contiguous
  const w = randn([4, 2], { dtype: "float64" });
  close(
    vals(x3.matmul(w)),
    refMatmul(vals(x3.contiguous()), [2, 3, 4], vals(w), [4, 2]).values,
    1e-12,
    "batched transposed",
  );
  // float32 agrees within float32 accuracy.
  const f = randn([20, 30]), g = randn([30, 10]);
  close(vals(f.matmul(g)), refMatmul(vals(f), [20, 30], vals(g), [30, 10]).values, 1e-5, "float32");
});

Deno.test("matmul with 1-D operands: dot, matrix-vector, vector-matrix, batched", () => {
  const v = tensor([1, 2, 3]);
  const d = v.matmul(tensor([4, 5, 6]));
  assert.deepEqual(d.shape, []);
  assert.equal(d.dataSync()[0], 32);
  const m = tensor([[1, 0, 2], [0, 1, -1]]);
  const mv = m.matmul(v);
  assert.deepEqual(mv.shape, [2]);
  assert.deepEqual(vals(mv), [7, -1]);
  const vm = tensor([1, 2]).matmul(m);
  assert.deepEqual(vm.shape, [3]);
  assert.deepEqual(vals(vm), [1, 2, 0]);
  const bm = tensor([[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [1, 1, 1]]]); // [2, 2, 3]
  const bv = bm.matmul(v);
  assert.deepEqual(bv.shape, [2, 2]);
  assert.deepEqual(vals(bv), [1, 2, 3, 6]);
  assert.deepEqual(vals(matmul(tensor([1, 1]), bm)), [1, 1, 0, 1, 1, 2]);
});

Deno.test("matmul dtypes: int32 stays int32, mixed promotes, mm needs matrices", () => {
  const i = tensor([[1, 2], [3, 4]], { dtype: "int32" });
  const r = i.matmul(i);
  assert.equal(r.dtype, "int32");
  assert.deepEqual(vals(r), [7, 10, 15, 22]);
  assert.equal(i.matmul(tensor([[1, 0], [0, 1]])).dtype, "float32");
  assert.deepEqual(vals(tensor([[1, 2]]).mm(tensor([[3], [4]]))), [11]);
  assert.throws(() => tensor([1, 2]).mm(tensor([[1], [2]])), /mm: expects two matrices, got shapes \[2\] and \[2, 1\]/);
  assert.deepEqual(
    vals(tensor([[], []]).matmul(tensor([], { shape: [0, 3] }))),
    [0, 0, 0, 0, 0, 0],
    "K = 0 gives zeros",
  );
});

Deno.test("a Linear-style x·wᵀ gives w a contiguous gradient equal to gᵀ·x", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const w = tensor([[1, 0, -1], [2, 1, 0], [0, 3, 1], [1, 1, 1]], { requiresGrad: true });
  const g = tensor([[1, -1, 2, 0.5], [3, 0, -2, 1]]);
  x.matmul(w.t()).backward(g);
  const grad = w.grad as Tensor;
  assert.ok(grad.isContiguous(), "the weight's gradient needs no copy before the optimizer's update");
  // dW[o][i] = Σ_b g[b][o]·x[b][i], by hand.
  const gv = [[1, -1, 2, 0.5], [3, 0, -2, 1]], xv = [[1, 2, 3], [4, 5, 6]];
  const want = [0, 1, 2, 3].map((o) => [0, 1, 2].map((i) => gv[0][o] * xv[0][i] + gv[1][o] * xv[1][i]));
  assert.deepStrictEqual(await grad.tolist(), want);
});

Deno.test("bmm, addmm, baddbmm, addbmm against direct loops, with beta and alpha and a broadcast input", () => {
  const g = new Generator(9);
  const rnd = (...s: number[]) => randn(s, { generator: g, dtype: "float64" });
  const mm = (a: number[], b: number[], n: number, m: number, p: number, ao = 0, bo = 0) => {
    const out = new Array<number>(n * p).fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) for (let k = 0; k < m; k++) out[i * p + j] += a[ao + i * m + k] * b[bo + k * p + j];
    }
    return out;
  };
  const m1 = rnd(3, 4), m2 = rnd(4, 5), bias = rnd(5);
  const got = addmm(bias, m1, m2, { beta: 0.5, alpha: 2 });
  const prod = mm(vals(m1), vals(m2), 3, 4, 5), bv = vals(bias);
  close(vals(got), prod.map((v, k) => 2 * v + 0.5 * bv[k % 5]), 1e-12, "addmm");
  // beta 0 ignores the input, NaN and all.
  const nan = tensor(new Float64Array([NaN]), { shape: [1] });
  close(vals(nan.addmm(m1, m2, { beta: 0 })), prod, 1e-12, "addmm beta 0 with a NaN input");
  const b1 = rnd(2, 3, 4), b2 = rnd(2, 4, 5), inp = rnd(3, 1);
  const bmmRef = [...mm(vals(b1), vals(b2), 3, 4, 5), ...mm(vals(b1), vals(b2), 3, 4, 5, 12, 20)];
  close(vals(bmm(b1, b2)), bmmRef, 1e-12, "bmm");
  const iv = vals(inp);
  close(
    vals(baddbmm(inp, b1, b2, { alpha: -1 })),
    bmmRef.map((v, k) => iv[Math.floor(k / 5) % 3] - v),
    1e-12,
    "baddbmm",
  );
  const summed = bmmRef.slice(0, 15).map((v, k) => v + bmmRef[15 + k]);
  close(vals(inp.addbmm(b1, b2, { beta: 2 })), summed.map((v, k) => v + 2 * iv[Math.floor(k / 5)]), 1e-12, "addbmm");
  const leaf = (...s: number[]) => rnd(...s).requiresGrad_();
  ok(gradcheck((a, b, c) => addmm(a, b, c, { beta: 0.5, alpha: 2 }), [leaf(2), leaf(3, 4), leaf(4, 2)]));
  ok(gradcheck((a, b, c) => baddbmm(a, b, c, { alpha: 0.5 }), [leaf(1, 3, 2), leaf(2, 3, 4), leaf(2, 4, 2)]));
  ok(gradcheck((a, b, c) => addbmm(a, b, c), [leaf(3, 2), leaf(2, 3, 4), leaf(2, 4, 2)]));
  throws(() => addmm(bias, m1, m1), /addmm: mat1 and mat2 shapes cannot be multiplied \(3x4 and 3x4\)/);
  throws(
    () => addmm(rnd(4, 5), m1, m2),
    /addmm: input of shape \[4, 5\] cannot be broadcast to the product's shape \[3, 5\]/,
  );
  throws(() => bmm(m1, b2), /bmm: batch1 must be a 3-D tensor, got shape \[3, 4\]/);
  throws(() => bmm(b1, rnd(3, 4, 5)), /bmm: expected size for the first two dimensions of batch2 to be \[2, 4\]/);
  throws(() => addmm(bias, rnd(3), m2), /addmm: mat1 must be a matrix, got shape \[3\]/);
});
