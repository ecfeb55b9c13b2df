// GCNConv and SAGEConv against outputs worked by hand on small graphs, gradcheck in float64, and bad input.
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { gradcheck, noGrad, randn, type Tensor, tensor } from "@dendrite/tensor";
import { GCNConv, gcnNorm, SAGEConv } from "./mod.ts";

const int = (v: number[][]) => tensor(v, { dtype: "int32" });
const vals = (t: Tensor) => Array.from(t.dataSync());
function close(actual: number[], expected: number[], tol = 1e-5, what = "values") {
  deepStrictEqual(actual.length, expected.length, what);
  actual.forEach((a, i) => ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a}, expected ${expected[i]}`));
}
/** The path 0 — 1 — 2, each edge both ways. */
const PATH = int([[0, 1, 1, 2], [1, 0, 2, 1]]);

Deno.test("GCNConv on a path by hand: D^-1/2 (A + I) D^-1/2 x Θ + b", () => {
  const conv = new GCNConv(1, 1);
  noGrad(() => {
    conv.lin.weight.copy_(tensor([[2]]));
    conv.bias!.copy_(tensor([0.5]));
  });
  // Degrees with self-loops: 2, 3, 2. Row i: Σ_j x_j / √(d_i d_j), then ·2 + 0.5.
  const s6 = Math.sqrt(6);
  const out = conv.forward(tensor([[1], [2], [3]]), PATH);
  close(vals(out), [(1 / 2 + 2 / s6) * 2 + 0.5, (1 / s6 + 2 / 3 + 3 / s6) * 2 + 0.5, (2 / s6 + 3 / 2) * 2 + 0.5]);
  deepStrictEqual(
    Object.keys(conv.stateDict()),
    ["bias", "lin.weight"],
    "PyG's names, in PyTorch's order (own parameters first)",
  );
});

Deno.test("gcnNorm: weights, improved self-loops, and an existing self-loop keeping its weight", () => {
  // Edges 0→1 (w 2), 1→0 (w 2), and a self-loop on 1 of weight 5 already there.
  const { edgeIndex, edgeWeight } = gcnNorm(int([[0, 1, 1], [1, 0, 1]]), tensor([2, 2, 5]), 2, { improved: true });
  deepStrictEqual(vals(edgeIndex), [0, 1, 1, 0, 1, 1, 0, 1, 0, 1]);
  // Node 0: in-weights 2 (from 1) + its new loop 2 (improved) = 4; node 1: 2 + 5 (its own loop, kept) = 7.
  const d = [4, 7];
  close(vals(edgeWeight), [2 / Math.sqrt(d[0] * d[1]), 2 / Math.sqrt(d[0] * d[1]), 0, 2 / d[0], 5 / d[1]]);
});

Deno.test("GCNConv: cached normalisation is computed once; a rejected call caches nothing", () => {
  const conv = new GCNConv(2, 3, { cached: true });
  const x = randn([3, 2]);
  throws(
    () => conv.forward(x, int([[0, 3], [1, 0]])),
    /GCNConv\(2, 3\): edgeIndex\[0, 1\] = 3 is out of range for 3 nodes/,
  );
  const first = vals(conv.forward(x, PATH));
  const uncached = new GCNConv(2, 3);
  noGrad(() => uncached.lin.weight.copy_(conv.lin.weight));
  close(first, vals(uncached.forward(x, PATH)), 1e-6, "the first cached call is the plain result");
  // Later calls reuse the path's normalisation whatever edges they pass (PyG's transductive cache).
  close(vals(conv.forward(x, int([[0], [2]]))), first, 1e-6, "cached");
});

Deno.test("GCNConv and SAGEConv gradcheck in float64 (x, weights, bias, edge weights)", () => {
  const x = randn([4, 3], { dtype: "float64" }).requiresGrad_();
  const w = tensor([0.5, 1.5, 2, 1, 0.7], { dtype: "float64" }).requiresGrad_();
  const edges = int([[0, 1, 2, 3, 3], [1, 2, 3, 0, 1]]);
  const gcn = new GCNConv(3, 2, { dtype: "float64" });
  ok(gradcheck((xx, ww) => gcn.forward(xx, edges, ww), [x, w]));
  ok(gradcheck((lw) => {
    const c = new GCNConv(3, 2, { dtype: "float64" });
    c.lin.weight = lw as never;
    return c.forward(x.detach(), edges);
  }, [randn([2, 3], { dtype: "float64" }).requiresGrad_()]));
  const sage = new SAGEConv(3, 2, { dtype: "float64" });
  ok(gradcheck((xx) => sage.forward(xx, edges), [x]));
});

Deno.test("SAGEConv by hand: W₂ · mean of in-neighbours + b + W₁ x_i; PyG's names; L2 normalize", () => {
  const conv = new SAGEConv(1, 1);
  noGrad(() => {
    conv.lin_l.weight.copy_(tensor([[2]]));
    conv.lin_l.bias!.copy_(tensor([1]));
    conv.lin_r!.weight.copy_(tensor([[10]]));
  });
  // In-neighbours: 0 ← {1}, 1 ← {0, 2}, 2 ← {1}, 3 ← {} (mean of nothing is 0).
  const x = tensor([[1], [2], [3], [4]]);
  close(vals(conv.forward(x, PATH)), [2 * 2 + 1 + 10, 2 * 2 + 1 + 20, 2 * 2 + 1 + 30, 0 + 1 + 40]);
  deepStrictEqual(Object.keys(conv.stateDict()), ["lin_l.weight", "lin_l.bias", "lin_r.weight"]);
  const sum = new SAGEConv(2, 3, { aggr: "add", normalize: true });
  const rows = sum.forward(randn([4, 2]), PATH).square().sum(1);
  close(vals(rows), [1, 1, 1, 1], 1e-5, "unit rows");
});

Deno.test("graph layers reject bad input before computing, naming the layer and the offending value", () => {
  const gcn = new GCNConv(2, 3);
  const x = randn([3, 2]);
  throws(() => gcn.forward(x, tensor([[0, 1], [1, 0]])), /GCNConv\(2, 3\): edgeIndex must be int32, got dtype float32/);
  throws(
    () => gcn.forward(x, int([[0, 1, 2]])),
    /GCNConv\(2, 3\): edgeIndex must have shape \[2, numEdges\], got \[1, 3\]/,
  );
  throws(() => gcn.forward(x, int([[0, 1], [1, -1]])), /edgeIndex\[1, 1\] = -1 is out of range for 3 nodes/);
  throws(
    () => gcn.forward(randn([3, 4]), PATH),
    /GCNConv\(2, 3\): expected 2 features per node, got x of shape \[3, 4\]/,
  );
  throws(() => gcn.forward(x, PATH, tensor([1, 2])), /edgeWeight must be \[numEdges\] = \[4\], got \[2\]/);
  throws(() => new SAGEConv(2, 3).forward(randn([3]), PATH), /SAGEConv\(2, 3\): x must be \[numNodes, features\]/);
  throws(() => new GCNConv(0, 3), /GCNConv: inChannels and outChannels must be positive integers/);
});
