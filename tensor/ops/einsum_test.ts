// einsum against a direct loop over every subscript assignment, float64 gradcheck, and PyTorch's errors.
import assert from "node:assert/strict";
import { einsum, Generator, gradcheck, randn, type Tensor, tensor } from "../mod.ts";
import { close, vals } from "./test_util.ts";

/**
 * The einsum of an explicit, ellipsis-free equation by brute force: for every assignment of the subscripts, the
 * product of the operands' elements is added to the output element the output subscripts pick.
 */
function refEinsum(equation: string, ops: Tensor[]): { shape: number[]; values: number[] } {
  const [lhs, rhs] = equation.split("->");
  const terms = lhs.split(",");
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((c, d) => size.set(c, ops[i].shape[d])));
  const letters = [...size.keys()];
  const outShape = [...rhs].map((c) => size.get(c)!);
  const outStrides = outShape.map((_, d) => outShape.slice(d + 1).reduce((a, b) => a * b, 1));
  const values = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const data = ops.map(vals);
  const opStrides = ops.map((o) => o.shape.map((_, d) => o.shape.slice(d + 1).reduce((a, b) => a * b, 1)));
  const at = new Map<string, number>(letters.map((c) => [c, 0]));
  const total = letters.reduce((n, c) => n * size.get(c)!, 1);
  for (let e = 0; e < total; e++) {
    let rem = e;
    for (const c of letters) {
      at.set(c, rem % size.get(c)!);
      rem = Math.floor(rem / size.get(c)!);
    }
    let p = 1;
    terms.forEach((t, i) => {
      let off = 0;
      [...t].forEach((c, d) => (off += at.get(c)! * opStrides[i][d]));
      p *= data[i][off];
    });
    let o = 0;
    [...rhs].forEach((c, d) => (o += at.get(c)! * outStrides[d]));
    values[o] += p;
  }
  return { shape: outShape, values };
}

const g = new Generator(7);
const rnd = (...shape: number[]) => randn(shape, { generator: g, dtype: "float64" });

const CASES: [string, number[][]][] = [
  ["bhqd,bhkd->bhqk", [[2, 3, 4, 5], [2, 3, 6, 5]]], // attention scores
  ["bhqk,bhkd->bhqd", [[2, 3, 4, 6], [2, 3, 6, 5]]], // attention output
  ["bij,bjk->bik", [[3, 2, 4], [3, 4, 5]]],
  ["ij,jk->ik", [[3, 4], [4, 2]]],
  ["ii->i", [[4, 4]]],
  ["ii->", [[4, 4]]],
  ["ij->ji", [[3, 5]]],
  ["ij->", [[3, 5]]],
  ["ij->j", [[3, 5]]],
  ["i,i->", [[6], [6]]],
  ["i,j->ij", [[3], [4]]],
  ["bi,bi->b", [[4, 5], [4, 5]]],
  ["ijk,ikl->jl", [[2, 3, 4], [2, 4, 5]]],
  ["bhld,lrd->bhlr", [[2, 2, 3, 4], [3, 5, 4]]], // relative-position scores
  ["iij->j", [[3, 3, 2]]],
  ["ijj,kjj->ik", [[2, 3, 3], [4, 3, 3]]],
  ["ab,bc,cd->ad", [[2, 3], [3, 4], [4, 5]]],
  ["a,b,c->abc", [[2], [3], [2]]],
  ["ij,ij,ij->i", [[2, 3], [2, 3], [2, 3]]],
  ["bik,bjk->", [[2, 3, 4], [2, 5, 4]]],
];

Deno.test("einsum matches a direct loop for the Transformer contractions, traces, diagonals, products of three", () => {
  for (const [eq, shapes] of CASES) {
    const ops = shapes.map((s) => rnd(...s));
    const ref = refEinsum(eq, ops);
    const out = einsum(eq, ...ops);
    assert.deepEqual(out.shape, ref.shape, eq);
    close(vals(out), ref.values, 1e-12, eq);
    assert.deepEqual(einsum(eq, ops).shape, ref.shape, `${eq} (operands as one array)`);
  }
});

Deno.test("einsum: implicit output (subscripts seen once, upper case first), spaces, ellipsis, broadcasting", () => {
  const a = rnd(3, 4), b = rnd(4, 5);
  close(vals(einsum("ij,jk", a, b)), vals(einsum("ij,jk->ik", a, b)), 1e-12, "implicit matmul");
  close(vals(einsum("ij", a)), vals(a), 0, "implicit identity");
  close(vals(einsum("ji", a)), vals(a.t().contiguous()), 0, "implicit output 'ij' of input 'ji': a transpose");
  const sq = rnd(3, 3);
  assert.deepEqual(einsum("ii", sq).shape, []);
  close(vals(einsum("ii", sq)), refEinsum("ii->", [sq]).values, 1e-12, "implicit trace");
  assert.deepEqual(einsum("bA,ba", rnd(2, 3), rnd(2, 3)).shape, [3, 3]);
  close(vals(einsum(" i j , j k -> i k ", a, b)), vals(a.matmul(b)), 1e-12, "spaces");
  // Ellipsis: batch dims broadcast (a [5, 1, 3, 4] against b [2, 4, 6]) like matmul.
  const x = rnd(5, 1, 3, 4), y = rnd(2, 4, 6);
  const e = einsum("...ij,...jk->...ik", x, y);
  assert.deepEqual(e.shape, [5, 2, 3, 6]);
  close(vals(e), vals(x.matmul(y)), 1e-12, "ellipsis matmul");
  close(vals(einsum("...ij,...jk", x, y)), vals(e), 1e-12, "implicit output keeps the ellipsis first");
  const p = rnd(2, 3, 4), q = rnd(2, 3, 4);
  close(vals(einsum("b...d,b...d->b...", p, q)), vals(p.mul(q).sum(-1)), 1e-12, "ellipsis in the middle");
  // An ellipsis the output leaves out is summed over.
  const z = rnd(2, 3, 4);
  close(vals(einsum("...ij->ij", z)), vals(z.sum(0)), 1e-12, "ellipsis summed");
  // A size-1 subscript broadcasts (as in PyTorch).
  close(vals(einsum("ij,j->i", a, tensor([2], { dtype: "float64" }))), vals(a.sum(1).mul(2)), 1e-12, "size-1 j");
  // A pure permutation is a view.
  assert.equal(einsum("ij->ji", a).storage, a.storage);
});

Deno.test("gradcheck: einsum through permute, reshape, diagonal, sum and matmul", () => {
  const leaf = (...s: number[]) => rnd(...s).requiresGrad_();
  const grads: [string, number[][]][] = [
    ["bhqd,bhkd->bhqk", [[1, 2, 3, 2], [1, 2, 2, 2]]],
    ["ii->i", [[3, 3]]],
    ["ii", [[3, 3]]],
    ["ijj,kjj->ik", [[2, 2, 2], [1, 2, 2]]],
    ["ab,bc,cd->ad", [[2, 3], [3, 2], [2, 2]]],
    ["...ij,...jk", [[2, 1, 2, 3], [2, 3, 2]]],
    ["i,j->ij", [[3], [2]]],
  ];
  for (const [eq, shapes] of grads) {
    assert.ok(gradcheck((...xs) => einsum(eq, ...xs), shapes.map((s) => leaf(...s))), eq);
  }
});

Deno.test("einsum errors name the problem as PyTorch does", () => {
  const m = rnd(2, 3);
  assert.throws(
    () => einsum("ij,jk", m, rnd(4, 5)),
    /einsum: subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3/,
  );
  assert.throws(
    () => einsum("ii", m),
    /einsum: subscript i is repeated for operand 0 but the sizes don't match, 2 != 3/,
  );
  assert.throws(
    () => einsum("ij", rnd(2, 3, 4)),
    /einsum: the number of subscripts in the equation \(2\) does not match the number of dimensions \(3\) for operand 0 and no ellipsis was given/,
  );
  assert.throws(
    () => einsum("ijk...", m),
    /einsum: the number of subscripts in the equation \(3\) is more than the number of dimensions \(2\)/,
  );
  assert.throws(() => einsum("ij->ii", m), /einsum: output subscript i appears more than once in the output/);
  assert.throws(
    () => einsum("ij->k", m),
    /einsum: output subscript k does not appear in the equation for any input operand/,
  );
  assert.throws(() => einsum("i.j", m), /einsum: found '.' for operand 0 that is not part of any ellipsis/);
  assert.throws(() => einsum("i...j...", m), /einsum: found '.' for operand 0 for which an ellipsis was already found/);
  assert.throws(
    () => einsum("i1", m),
    /einsum: invalid subscript given at index 1 in the equation string, subscripts must be in \[a-zA-Z\]/,
  );
  assert.throws(() => einsum("ij,jk", m), /einsum: fewer operands were provided than specified in the equation/);
  assert.throws(() => einsum("ij", m, m), /einsum: more operands were provided than specified in the equation/);
  assert.throws(() => einsum("ij->i->j", m), /einsum: the equation "ij->i->j" has more than one "->"/);
  assert.throws(() => einsum("ij"), /einsum: must provide at least one operand/);
});
