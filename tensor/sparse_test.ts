// Sparse COO tensors against direct loops over their entries, their gradients by gradcheck, and their errors.
import assert from "node:assert/strict";
import {
  Generator,
  gradcheck,
  liveTensors,
  randn,
  sparse,
  sparseCooTensor,
  sparseMask,
  type SparseTensor,
  summedDuplicates,
  tensor,
  tidy,
  zeros,
} from "./mod.ts";
import { close, vals } from "./ops/test_util.ts";

/** A random COO description: `nnz` entries (with repeats) in `sizes`, each holding `rowSize` values. */
function randomEntries(g: Generator, sizes: number[], nnz: number, rowSize: number) {
  const idx = sizes.map((s) => Array.from({ length: nnz }, () => Math.floor(g.random() * s)));
  const values = Array.from({ length: nnz * rowSize }, () => g.random() * 2 - 1);
  return { idx, values };
}

/** The dense array the entries stand for, by a direct loop (duplicates add up). */
function denseByLoop(sizes: number[], idx: number[][], values: number[], rowSize: number): number[] {
  const out = new Array(sizes.reduce((a, b) => a * b, 1) * rowSize).fill(0);
  const nnz = idx[0].length;
  for (let k = 0; k < nnz; k++) {
    let pos = 0;
    for (let d = 0; d < sizes.length; d++) pos = pos * sizes[d] + idx[d][k];
    for (let r = 0; r < rowSize; r++) out[pos * rowSize + r] += values[k * rowSize + r];
  }
  return out;
}

Deno.test("sparseCooTensor: toDense matches a direct loop (duplicates, hybrid dense dims, two sparse dims)", () => {
  const g = new Generator(1);
  for (const [sizes, dense] of [[[7], [3]], [[4, 5], []], [[3, 4], [2]]] as [number[], number[]][]) {
    const rowSize = dense.reduce((a, b) => a * b, 1);
    const { idx, values } = randomEntries(g, sizes, 12, rowSize);
    const s = sparseCooTensor(idx, tensor(values, { dtype: "float64" }).reshape([12, ...dense]), [...sizes, ...dense]);
    assert.ok(s.isSparse);
    assert.equal(s.layout, "sparseCoo");
    assert.equal(s.nnz, 12);
    assert.equal(s.sparseDim(), sizes.length);
    assert.equal(s.denseDim(), dense.length);
    assert.deepEqual(s.shape, [...sizes, ...dense]);
    close(vals(s.toDense()), denseByLoop(sizes, idx, values, rowSize), 1e-12, `toDense ${sizes}+${dense}`);
  }
});

Deno.test("sparseCooTensor infers the smallest shape that holds the indices", () => {
  const s = sparseCooTensor([[0, 3], [2, 1]], [1, 2]);
  assert.deepEqual(s.shape, [4, 3]);
  assert.deepEqual(vals(s.toDense()), [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
});

Deno.test("coalesce sorts the entries, sums duplicates, and represents the same tensor", () => {
  const s = sparseCooTensor([[2, 0, 2, 1, 0], [1, 1, 1, 0, 1]], [1, 2, 3, 4, 5], [3, 2]);
  assert.ok(!s.isCoalesced());
  assert.throws(() => s.indices(), /uncoalesced sparse tensor; call coalesce\(\) first/);
  const c = s.coalesce();
  assert.ok(c.isCoalesced());
  assert.deepEqual(vals(c.indices()), [0, 1, 2, 1, 0, 1]); // positions (0,1), (1,0), (2,1)
  assert.deepEqual(vals(c.values()), [7, 4, 4]);
  assert.deepEqual(vals(c.toDense()), vals(s.toDense()));
  assert.equal(c.coalesce(), c, "a coalesced tensor coalesces to itself");
  const h = sparseCooTensor([[1, 0, 1]], [[1, 2], [3, 4], [5, 6]], [2, 2]).coalesce();
  assert.deepEqual(vals(h.indices()), [0, 1]);
  assert.deepEqual(vals(h.values()), [3, 4, 6, 8]);
});

Deno.test("add: sparse + sparse stays sparse, mixed sums are dense; in-place add_ touches only the entries", () => {
  const a = sparseCooTensor([[0, 2]], [[1, 1], [2, 2]], [3, 2]);
  const b = sparseCooTensor([[2, 1]], [[10, 10], [20, 20]], [3, 2]);
  const ab = a.add(b, 2) as SparseTensor;
  assert.ok(ab.isSparse);
  assert.equal(ab.nnz, 4);
  assert.deepEqual(vals(ab.toDense()), [1, 1, 40, 40, 22, 22]);
  const d = tensor([[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(vals(d.add(a)), [2, 3, 3, 4, 7, 8]);
  assert.deepEqual(vals(d.sub(a, 2)), [-1, 0, 3, 4, 1, 2]);
  assert.deepEqual(vals(a.add(d)), [2, 3, 3, 4, 7, 8]);
  assert.ok(!a.add(d).isSparse);
  assert.deepEqual(vals(a.mul(3).toDense()), [3, 3, 0, 0, 6, 6]);
  assert.deepEqual(vals(a.neg().toDense()), [-1, -1, 0, 0, -2, -2]);
  const target = tensor([[1, 2], [3, 4], [5, 6]]);
  target.add_(a.add(a), 0.5); // duplicates of each entry both land
  assert.deepEqual(vals(target), [2, 3, 3, 4, 7, 8]);
  // A view that does not own its storage takes the out-of-place route, with the same result.
  const big = zeros([4, 2]);
  big.narrow(0, 1, 3).sub_(a);
  assert.deepEqual(vals(big), [0, 0, -1, -1, 0, 0, -2, -2]);
});

Deno.test("sparse tensors in grad-like roles: clone, mul_, zero_, detach, dispose and tidy", () => {
  const a = sparseCooTensor([[1, 1]], [[1, 2], [3, 4]], [3, 2]);
  const c = a.clone();
  c.mul_(tensor(2));
  assert.deepEqual(vals(a.toDense()), [0, 0, 4, 6, 0, 0], "clone owns its values");
  assert.deepEqual(vals(c.toDense()), [0, 0, 8, 12, 0, 0]);
  c.zero_();
  assert.equal(c.nnz, 0);
  assert.deepEqual(vals(c.toDense()), [0, 0, 0, 0, 0, 0]);
  const before = liveTensors();
  const kept = tidy(() => sparseCooTensor([[0]], [[5, 6]], [3, 2]).mul(2));
  tidy(() => assert.deepEqual(vals(kept.toDense()), [10, 12, 0, 0, 0, 0], "a returned sparse tensor keeps its parts"));
  kept.dispose();
  assert.equal(liveTensors(), before, "disposing a sparse tensor frees its indices and values");
  assert.throws(() => kept.toDense(), /toDense: sparse tensor of shape \[3, 2\] was used after dispose/);
});

Deno.test("dense ops refuse a sparse tensor with an error naming the op", () => {
  const a = sparseCooTensor([[0]], [[1, 2]], [3, 2]);
  assert.throws(() => a.exp(), /exp: expected a dense tensor, got a sparse COO tensor of shape \[3, 2\]/);
  assert.throws(() => a.reshape([6]), /view: expected a dense tensor, got a sparse COO tensor/);
  assert.throws(() => a.dataSync(), /data: expected a dense tensor/);
  assert.throws(() => tensor([1, 2]).mul(a), /mul: expected a dense tensor/);
  assert.throws(() => a.add(1), /add: adding a number to a sparse tensor/);
  assert.throws(() => a.mul(tensor([1, 2])), /mul: a sparse tensor can only be multiplied or divided by a scalar/);
  assert.throws(() => a.add(zeros([2, 3])), /add: shapes \[2, 3\] and \[3, 2\] must be equal/);
});

Deno.test("sparseCooTensor: bad input gets an error naming the op and the offending value", () => {
  assert.throws(
    () => sparseCooTensor(tensor([[0, 1]]), [1, 2], [2]),
    /sparseCooTensor: indices must be an int32 tensor, got dtype float32/,
  );
  assert.throws(
    () => sparseCooTensor([[0, 1]], [1, 2, 3], [2]),
    /values must be \[nnz, \.\.\.denseShape\] with nnz = 2/,
  );
  assert.throws(
    () => sparseCooTensor([[0, 5]], [1, 2], [4]),
    /sparseCooTensor: index 5 \(entry 1, sparse dimension 0\) is out of range for size 4 of shape \[4\]/,
  );
  assert.throws(() => sparseCooTensor([[0, -1]], [1, 2], [4]), /index -1 \(entry 1/);
  assert.throws(
    () => sparseCooTensor([[0, 1]], [[1, 2], [3, 4]], [4, 3]),
    /shape \[4, 3\] does not match 1 sparse dimension\(s\) followed by the values' dense shape \[2\]/,
  );
  assert.throws(() => sparseCooTensor(tensor([0, 1], { dtype: "int32" }), [1, 2], [2]), /indices must be 2-D/);
});

Deno.test("sparse.mm matches a direct loop; gradcheck for the dense operand and the values", () => {
  const g = new Generator(4);
  const { idx, values } = randomEntries(g, [4, 5], 9, 1);
  const dense = randn([5, 3], { dtype: "float64", generator: g });
  const s = sparseCooTensor(idx, tensor(values, { dtype: "float64" }), [4, 5]);
  const out = sparse.mm(s, dense);
  const D = vals(dense);
  const expected = new Array(12).fill(0);
  for (let k = 0; k < 9; k++) {
    for (let c = 0; c < 3; c++) expected[idx[0][k] * 3 + c] += values[k] * D[idx[1][k] * 3 + c];
  }
  close(vals(out), expected, 1e-12, "sparse.mm");
  close(vals(sparse.mm(s.toDense(), dense)), expected, 1e-12, "a dense first operand");

  const v = tensor(values, { dtype: "float64" }).requiresGrad_();
  const d = dense.detach().requiresGrad_();
  const ix = tensor(idx, { dtype: "int32" });
  assert.ok(gradcheck((vv, dd) => sparse.mm(sparseCooTensor(ix, vv, [4, 5]), dd), [v, d]));
  assert.ok(gradcheck((vv) => sparseCooTensor(ix, vv, [4, 5]).coalesce().values().square(), [v]), "coalesce");
  assert.ok(gradcheck((vv) => sparseCooTensor(ix, vv, [4, 5]).toDense().square(), [v]), "toDense");
  const rows = sparseCooTensor([idx[1]], zeros([9, 3], { dtype: "float64" }), [5, 3]);
  assert.ok(gradcheck((dd) => sparseMask(dd, rows)._values(), [d]), "sparseMask");

  assert.throws(() => sparse.mm(s, randn([4, 3])), /sparse.mm: shapes \[4, 5\] and \[4, 3\] cannot be multiplied/);
  assert.throws(() => sparse.mm(s, randn([5, 3])), /sparse.mm: expected one dtype, got float64 \(sparse\) and float32/);
  assert.throws(
    () => sparse.mm(sparseCooTensor([[0]], [[1, 2]], [3, 2]), randn([2, 2])),
    /sparse.mm: expected a sparse matrix with 2 sparse dimensions/,
  );
});

Deno.test("sparseMask reads the dense tensor at the sparse positions", () => {
  const x = tensor([[1, 2], [3, 4], [5, 6]]);
  const m = sparseMask(x, sparseCooTensor([[2, 0, 2]], [[0, 0], [0, 0], [0, 0]], [3, 2]));
  assert.deepEqual(vals(m._indices()), [2, 0, 2]);
  assert.deepEqual(vals(m._values()), [5, 6, 1, 2, 5, 6]);
});

Deno.test("summedDuplicates: each position's entries summed into one carrier entry, the rest zero", () => {
  const s = sparseCooTensor([[2, 0, 2, 2], [1, 1, 1, 0]], [1, 5, 3, 7], [3, 2]);
  const { values, carrier } = summedDuplicates(s);
  const v = vals(values), c = vals(carrier);
  // Entries 0 and 2 share position (2, 1): one carries 4, the other 0; the lone entries carry themselves.
  assert.deepEqual([c[1], c[3], c[0] + c[2]], [1, 1, 1]);
  assert.deepEqual([v[1], v[3], v[0] + v[2], c[0] ? v[2] : v[0]], [5, 7, 4, 0]);
});
