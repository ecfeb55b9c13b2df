// The scatter family against direct loops, float64 gradcheck (PyTorch's rules: ties split evenly, prod with zeros),
// and errors that name the op and the offending index or shape before anything changes.
import assert from "node:assert/strict";
import {
  Generator,
  gradcheck,
  indexAdd,
  noGrad,
  randint,
  randn,
  scatter,
  scatterReduce,
  type ScatterReduction,
  type Tensor,
  tensor,
} from "../mod.ts";
import { close, vals } from "./test_util.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const f64 = (v: number[] | number[][]) => tensor(v, { dtype: "float64" });

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

function* multiIndices(shape: readonly number[]): IterableIterator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

const flat = (s: number[], ix: number[]) => ix.reduce((p, v, d) => p + v * s[d], 0);

/** torch.scatter_reduce by a direct loop: each destination's incoming values, then the reduction. */
function refScatterReduce(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  includeSelf: boolean,
): number[] {
  const xv = vals(x), iv = vals(index), sv = vals(src);
  const xs = strides(x.shape), is = strides(index.shape), ss = strides(src.shape);
  const incoming = new Map<number, number[]>();
  for (const ix of multiIndices(index.shape)) {
    const dst = ix.slice();
    dst[dim] = iv[flat(is, ix)];
    const p = flat(xs, dst);
    if (!incoming.has(p)) incoming.set(p, includeSelf ? [xv[p]] : []);
    incoming.get(p)!.push(sv[flat(ss, ix)]);
  }
  return xv.map((v, p) => {
    const list = incoming.get(p);
    if (!list) return v;
    switch (reduce) {
      case "sum":
        return list.reduce((a, b) => a + b, 0);
      case "prod":
        return list.reduce((a, b) => a * b, 1);
      case "mean": {
        const m = list.reduce((a, b) => a + b, 0) / list.length;
        return x.dtype === "int32" ? Math.floor(m) : m;
      }
      case "amax":
        return Math.max(...list);
      case "amin":
        return Math.min(...list);
    }
  });
}

const REDUCTIONS: ScatterReduction[] = ["sum", "prod", "mean", "amax", "amin"];

Deno.test("scatterReduce matches a direct loop for every reduction, includeSelf both ways, every dim, src larger than index", () => {
  const g = new Generator(11);
  for (const dtype of ["float64", "int32"] as const) {
    for (const reduce of REDUCTIONS) {
      for (const includeSelf of [true, false]) {
        for (const shape of [[6], [4, 5], [3, 4, 2]]) {
          for (let dim = 0; dim < shape.length; dim++) {
            const ishape = shape.map((s, d) => (d === dim ? 7 : Math.max(1, s - 1)));
            const sshape = ishape.map((s) => s + 1);
            const x = randint(-4, 5, shape, { generator: g, dtype });
            const src = randint(-4, 5, sshape, { generator: g, dtype });
            const index = randint(0, shape[dim], ishape, { generator: g });
            const out = scatterReduce(x, dim, index, src, reduce, { includeSelf });
            const what = `${reduce} ${dtype} includeSelf=${includeSelf} ${JSON.stringify(shape)} dim ${dim}`;
            close(vals(out), refScatterReduce(x, dim, index, src, reduce, includeSelf), 1e-12, what);
            assert.equal(out.dtype, dtype, what);
          }
        }
      }
    }
  }
});

Deno.test("scatter writes a tensor or a value, the legacy reduce accumulates, the input is left as it was", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const idx = int([[2, 0], [1, 1]]);
  assert.deepEqual(vals(x.scatter(1, idx, tensor([[7, 8, 0], [9, 9, 0]]))), [8, 2, 7, 4, 9, 6]);
  assert.deepEqual(vals(x.scatter(1, idx, -1)), [-1, 2, -1, 4, -1, 6]);
  assert.deepEqual(vals(x.scatter(0, int([[1, 0, 1]]), 0)), [1, 0, 3, 0, 5, 0]);
  assert.deepEqual(vals(x.scatter(1, idx, tensor([[10, 20], [1, 2]]), { reduce: "add" })), [21, 2, 13, 4, 8, 6]);
  assert.deepEqual(vals(x.scatter(1, idx, 2, { reduce: "add" })), [3, 2, 5, 4, 9, 6]);
  assert.deepEqual(vals(x.scatter(1, idx, tensor([[10, 20], [2, 3]]), { reduce: "multiply" })), [20, 2, 30, 4, 30, 6]);
  assert.deepEqual(vals(x.scatter(1, idx, 3, { reduce: "multiply" })), [3, 2, 9, 4, 45, 6]);
  assert.deepEqual(vals(x), [1, 2, 3, 4, 5, 6]);
  // An int tensor takes a fractional value truncated; a bool tensor takes non-zero as true.
  assert.deepEqual(vals(int([1, 2, 3]).scatter(0, int([1]), 7.9)), [1, 7, 3]);
  assert.deepEqual(vals(tensor([false, false]).scatter(0, int([1]), 0.5)), [0, 1]);
  // 0-d tensors scatter along dim 0.
  assert.deepEqual(vals(tensor(5).scatter(0, tensor(0, { dtype: "int32" }), tensor(8))), [8]);
});

Deno.test("indexAdd adds alpha·source slices along any dim; repeated indices accumulate", () => {
  const x = tensor([[1, 1, 1], [1, 1, 1]]);
  assert.deepEqual(vals(indexAdd(x, 1, int([2, 0, 2]), tensor([[1, 2, 3], [4, 5, 6]]))), [3, 1, 5, 6, 1, 11]);
  assert.deepEqual(vals(x.indexAdd(0, int([1]), tensor([[1, 2, 3]]), { alpha: -2 })), [1, 1, 1, -1, -3, -5]);
  assert.deepEqual(vals(tensor([0, 0, 0]).indexAdd(0, int([2, 2]), tensor([1, 5]))), [0, 0, 6]);
  assert.deepEqual(vals(tensor(2).indexAdd(0, tensor(0, { dtype: "int32" }), tensor(3))), [5]);
  // Against a direct loop on a graph-sized case: messages summed at their target node.
  const g = new Generator(5);
  const nodes = 7, edges = 40, feat = 5;
  const target = randint(0, nodes, [edges], { generator: g });
  const msg = randn([edges, feat], { generator: g, dtype: "float64" });
  const out = tensor(new Float64Array(nodes * feat), { shape: [nodes, feat] }).indexAdd(0, target, msg, { alpha: 0.5 });
  const expected = new Array<number>(nodes * feat).fill(0);
  const t = vals(target), m = vals(msg);
  for (let e = 0; e < edges; e++) for (let f = 0; f < feat; f++) expected[t[e] * feat + f] += 0.5 * m[e * feat + f];
  close(vals(out), expected, 1e-12, "indexAdd over edges");
});

Deno.test("in-place scatter_, scatterAdd_, scatterReduce_, indexAdd_ write into the tensor", () => {
  const x = tensor([0, 0, 0, 0]);
  x.scatter_(0, int([3, 1]), tensor([5, 6]));
  assert.deepEqual(vals(x), [0, 6, 0, 5]);
  x.scatterAdd_(0, int([3, 3]), tensor([1, 1]));
  assert.deepEqual(vals(x), [0, 6, 0, 7]);
  x.scatterReduce_(0, int([0, 1]), tensor([-2, 9]), "amax");
  assert.deepEqual(vals(x), [0, 9, 0, 7]);
  x.indexAdd_(0, int([2]), tensor([4]));
  assert.deepEqual(vals(x), [0, 9, 4, 7]);
});

Deno.test("gradcheck: scatter, scatterAdd, indexAdd and every scatterReduce reduction, includeSelf both ways", () => {
  const g = new Generator(21);
  const leaf = (shape: number[]) => randn(shape, { generator: g, dtype: "float64" }).requiresGrad_();
  const index = int([[0, 2, 0, 1], [2, 2, 1, 0]]); // duplicates along dim 1; dim 0 index below
  const index0 = int([[1, 0, 1, 1], [0, 0, 1, 0]]);
  // scatter's gradient is PyTorch's: every source element at a duplicate index gets the output's gradient, though
  // only one of them was written; finite differences agree only where indices do not repeat.
  assert.ok(gradcheck((x, s) => x.scatter(1, int([[0, 2, 1], [2, 1, 0]]), s), [leaf([2, 3]), leaf([2, 5])]));
  assert.ok(gradcheck((x) => x.scatter(0, index0, 0.5), [leaf([2, 4])]));
  assert.ok(gradcheck((x, s) => x.scatterAdd(1, index, s), [leaf([2, 3]), leaf([3, 4])]));
  assert.ok(gradcheck((x, s) => x.indexAdd(1, int([2, 0, 2]), s, { alpha: 1.5 }), [leaf([2, 3]), leaf([2, 3])]));
  for (const reduce of REDUCTIONS) {
    for (const includeSelf of [true, false]) {
      for (const [dim, idx] of [[1, index], [0, index0]] as const) {
        assert.ok(
          gradcheck((x, s) => x.scatterReduce(dim, idx, s, reduce, { includeSelf }), [leaf([2, 4]), leaf([2, 4])]),
          `${reduce} includeSelf=${includeSelf} dim ${dim}`,
        );
      }
    }
  }
});

Deno.test("scatterReduce prod: gradients through zeros in the input and the source (one zero, two zeros)", () => {
  // Position 0 gets src 2 and 0 (one zero); position 1 gets 0 and 0 (two zeros); position 2 keeps x = 0 and gets 3.
  const idx = int([0, 0, 1, 1, 2]);
  const x = f64([5, 7, 0]).requiresGrad_();
  const src = f64([2, 0, 0, 0, 3]).requiresGrad_();
  const out = x.scatterReduce(0, idx, src, "prod");
  assert.deepEqual(vals(out), [0, 0, 0]);
  out.backward(f64([1, 1, 1]));
  // d/dx0 = 2·0 = 0; d/dx1 = 0; d/dx2 = 3 (the product of the others).
  assert.deepEqual(vals(x.grad!), [0, 0, 3]);
  // d/dsrc0 = 5·0 = 0; d/dsrc1 = 5·2 = 10 (its only zero); two zeros give each 0; d/dsrc4 = x2 = 0.
  assert.deepEqual(vals(src.grad!), [0, 10, 0, 0, 0]);
  // The same by finite differences, zeros and all (a product is a polynomial: differentiable everywhere).
  assert.ok(
    gradcheck((a, b) => a.scatterReduce(0, idx, b, "prod"), [x.detach().requiresGrad_(), src.detach().requiresGrad_()]),
  );
  assert.ok(
    gradcheck((a, b) => a.scatterReduce(0, idx, b, "prod", { includeSelf: false }), [
      x.detach().requiresGrad_(),
      src.detach().requiresGrad_(),
    ]),
  );
});

Deno.test("scatterReduce amax/amin: the gradient is split evenly among ties (input included only when it takes part)", () => {
  const idx = int([0, 0, 0, 1]);
  for (const reduce of ["amax", "amin"] as const) {
    const x = f64([4, 1]).requiresGrad_();
    const src = f64([4, 2, 4, 6]).requiresGrad_();
    const s = reduce === "amax" ? 1 : -1;
    // amin runs on the negated values, so the same positions tie.
    const out = (s === 1 ? x : x.neg()).scatterReduce(0, idx, s === 1 ? src : src.neg(), reduce);
    out.backward(f64([6, 1]));
    const plain = (t: Tensor) => vals(t).map((v) => v + 0); // -0 as 0
    assert.deepEqual(plain(x.grad!), [2 * s, 0], reduce); // x0 ties with src0 and src2: 6 / 3 each
    assert.deepEqual(plain(src.grad!), [2 * s, 0, 2 * s, 1 * s], reduce);
  }
  // includeSelf false: the input's equal value at a reduced position does not share the gradient.
  const x = f64([4, 1]).requiresGrad_();
  const src = f64([4, 2, 4, 6]).requiresGrad_();
  x.scatterReduce(0, idx, src, "amax", { includeSelf: false }).backward(f64([6, 1]));
  assert.deepEqual(vals(x.grad!), [0, 0]);
  assert.deepEqual(vals(src.grad!), [3, 0, 3, 1]);
});

Deno.test("scatterReduce mean: an untouched position keeps the input; its gradient divides by each count", () => {
  const x = f64([10, 20, 30]).requiresGrad_();
  const src = f64([1, 2, 3]).requiresGrad_();
  const out = x.scatterReduce(0, int([0, 0, 1]), src, "mean", { includeSelf: false });
  assert.deepEqual(vals(out), [1.5, 3, 30]);
  out.backward(f64([1, 1, 1]));
  assert.deepEqual(vals(x.grad!), [0, 0, 1]);
  assert.deepEqual(vals(src.grad!), [0.5, 0.5, 1]);
});

Deno.test("scatter errors name the op and the bad index, dtype or shape, and change nothing", () => {
  const x = tensor([1, 2, 3]);
  assert.throws(
    () => x.scatter(0, int([0, 5]), tensor([1, 1])),
    /^RangeError: scatter: index 5 is out of range for dimension 0 of size 3/,
  );
  assert.throws(
    () => x.scatterAdd(0, int([-1]), tensor([1])),
    /scatterAdd: index -1 is out of range for dimension 0 of size 3/,
  );
  assert.throws(
    () => x.indexAdd(0, int([3]), tensor([1])),
    /indexAdd: index 3 is out of range for dimension 0 of size 3/,
  );
  assert.throws(
    () => x.scatterReduce(0, int([0, 4]), tensor([1, 1]), "amax"),
    /scatterReduce: index 4 is out of range for dimension 0 of size 3/,
  );
  assert.throws(() => x.indexSelect(0, int([7])), /indexSelect: index 7 is out of range/);
  // In place: validated before anything is written.
  const y = tensor([1, 2, 3]);
  assert.throws(() => y.scatter_(0, int([0, 1, 9]), 0), /scatter_?: index 9/);
  assert.throws(() => y.indexAdd_(0, int([0, 9]), tensor([5, 5])), /indexAdd: index 9/);
  assert.deepEqual(vals(y), [1, 2, 3]);
  // dtypes and shapes.
  assert.throws(() => x.scatter(0, tensor([0]), 1), /scatter: index must be an int32 tensor, got dtype float32/);
  assert.throws(
    () => x.scatter(0, int([0]), tensor([1], { dtype: "int32" })),
    /scatter: src has dtype int32 but the input has dtype float32/,
  );
  assert.throws(
    () => x.scatter(0, int([[0]]), 1),
    /scatter: index \[1, 1\] and input \[3\] must have the same number of dimensions/,
  );
  assert.throws(
    () => tensor([[1, 2], [3, 4]]).scatterAdd(0, int([[0, 0, 0]]), tensor([[1, 1]])),
    /scatterAdd: index \[1, 3\] must be no larger than src \[1, 2\], nor than input \[2, 2\] outside dimension 0/,
  );
  assert.throws(
    () => x.scatterReduce(0, int([0]), tensor([1]), "max" as ScatterReduction),
    /scatterReduce: reduce must be one of "sum", "prod", "mean", "amax", "amin", got "max"/,
  );
  assert.throws(
    () => scatter(x, 0, int([0]), tensor([1]), { reduce: "max" as "add" }),
    /scatter: reduce must be "add" or "multiply"/,
  );
  assert.throws(
    () => x.indexAdd(0, int([[0]]), tensor([1])),
    /indexAdd: index must be 1-D \(a vector\), got shape \[1, 1\]/,
  );
  assert.throws(
    () => tensor([[1, 2], [3, 4]]).indexAdd(1, int([0, 1, 1]), tensor([[1, 2]])),
    /indexAdd: source \[1, 2\] must have the input's shape \[2, 2\] except in dimension 1, where it needs one slice per index \(3\): expected \[2, 3\]/,
  );
  assert.throws(() => x.scatter(3, int([0]), 1), /scatter: dimension 3 is out of range|scatter.*dim/);
  // A leaf that requires grad cannot be written in place while grad mode is on.
  const w = tensor([1, 2]).requiresGrad_();
  assert.throws(
    () => w.scatter_(0, int([0]), 5),
    /scatter_: a leaf tensor that requires grad cannot be modified in place/,
  );
  noGrad(() => w.scatter_(0, int([0]), 5));
  assert.deepEqual(vals(w), [5, 2]);
});
