// GATConv against attention worked out by hand and by a loop over edges and heads; gradcheck; segment softmax.
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { Generator, gradcheck, noGrad, randn, type Tensor, tensor } from "@dendrite/tensor";
import { GATConv, globalMaxPool, scatter, segmentSoftmax } from "./mod.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const vals = (t: Tensor) => Array.from(t.dataSync());
function close(actual: number[], expected: number[], tol = 1e-5, what = "values") {
  deepStrictEqual(actual.length, expected.length, what);
  actual.forEach((a, i) => ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a}, expected ${expected[i]}`));
}
const leaky = (v: number, s = 0.2) => (v > 0 ? v : s * v);

Deno.test("GATConv by hand: one head, one channel, a node attending to its in-neighbour and itself", () => {
  const conv = new GATConv(1, 1);
  noGrad(() => {
    conv.lin.weight.copy_(tensor([[1]]));
    conv.att_src.copy_(tensor([[[1]]]));
    conv.att_dst.copy_(tensor([[[2]]]));
  });
  // Edges 0 → 1 and 2 → 1; every node also attends to itself. x = [1, 2, -1].
  const x = [1, 2, -1];
  const out = vals(conv.forward(tensor(x.map((v) => [v])), int([[0, 2], [1, 1]])));
  // Node 1 scores: from 0: leaky(1·1 + 2·2) = 5; from 2: leaky(−1 + 4) = 3; itself: leaky(2 + 4) = 6.
  const e = [5, 3, 6].map(Math.exp), z = e[0] + e[1] + e[2];
  close(out, [1, (e[0] * 1 + e[1] * -1 + e[2] * 2) / z, -1], 1e-5, "nodes 0 and 2 see only themselves");
  deepStrictEqual(Object.keys(conv.stateDict()), ["att_src", "att_dst", "bias", "lin.weight"]);
});

/** GAT by loops over edges and heads: the reference for the multi-head case. */
function gatByLoop(conv: GATConv, x: number[][], edges: [number, number][]): number[] {
  const [H, C] = [conv.heads, conv.outChannels], n = x.length;
  const W = vals(conv.lin.weight), as = vals(conv.att_src), ad = vals(conv.att_dst), b = vals(conv.bias!);
  const xh = x.map((row) =>
    Array.from({ length: H * C }, (_, o) => row.reduce((s, v, i) => s + v * W[o * row.length + i], 0))
  );
  const all = [...edges.filter(([s, t]) => s !== t), ...x.map((_, i) => [i, i] as [number, number])];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const heads: number[][] = [];
    for (let h = 0; h < H; h++) {
      const inc = all.filter(([, t]) => t === i).map(([s]) => s);
      const score = inc.map((s) => {
        let v = 0;
        for (let c = 0; c < C; c++) v += as[h * C + c] * xh[s][h * C + c] + ad[h * C + c] * xh[i][h * C + c];
        return leaky(v, conv.negativeSlope);
      });
      const m = Math.max(...score), ex = score.map((v) => Math.exp(v - m)), z = ex.reduce((a, v) => a + v, 0);
      heads.push(Array.from({ length: C }, (_, c) => inc.reduce((acc, s, k) => acc + ex[k] / z * xh[s][h * C + c], 0)));
    }
    const row = conv.concat ? heads.flat() : heads[0].map((_, c) => heads.reduce((a, hd) => a + hd[c], 0) / H);
    out.push(...row.map((v, k) => v + b[k]));
  }
  return out;
}

Deno.test("GATConv with heads (concatenated or averaged) matches a loop; an existing self-loop is replaced", () => {
  const g = new Generator(5);
  const edges: [number, number][] = [[0, 1], [1, 2], [2, 0], [3, 1], [1, 3], [2, 2]];
  const ei = int([edges.map((e) => e[0]), edges.map((e) => e[1])]);
  for (const concat of [true, false]) {
    const conv = new GATConv(3, 2, { heads: 3, concat, negativeSlope: 0.1 });
    noGrad(() => conv.bias!.copy_(randn(conv.bias!.shape, { generator: g })));
    const x = Array.from({ length: 4 }, () => [0, 1, 2].map(() => g.random() * 2 - 1));
    const out = conv.forward(tensor(x), ei);
    deepStrictEqual(out.shape, [4, concat ? 6 : 2]);
    close(vals(out), gatByLoop(conv, x, edges), 1e-5, `concat=${concat}`);
    const { attention, edgeIndex } = conv.forwardWithAttention(tensor(x), ei);
    deepStrictEqual(attention.shape, [10, 3], "6 edges + 4 self-loops, per head");
    close(vals(attention).slice(5 * 3, 6 * 3), [0, 0, 0], 0, "the old self-loop 2 → 2 gets no attention");
    // Each node's incoming attention sums to 1 in every head.
    close(vals(scatter(attention, edgeIndex.select(0, 1), 4)), new Array(12).fill(1), 1e-5, "sums");
  }
});

Deno.test("GATConv gradcheck in float64; attention dropout only while training", () => {
  const conv = new GATConv(3, 2, { heads: 2, dtype: "float64", dropout: 0.5 });
  conv.eval();
  const edges = int([[0, 1, 2, 3], [1, 2, 3, 0]]);
  ok(gradcheck((x) => conv.forward(x, edges), [randn([4, 3], { dtype: "float64" }).requiresGrad_()]));
  const other = new GATConv(3, 2, { heads: 2, dtype: "float64" });
  const x = randn([4, 3], { dtype: "float64", generator: new Generator(1) });
  ok(gradcheck((a, b) => {
    other.att_src = a as never;
    other.att_dst = b as never;
    return other.forward(x, edges);
  }, [randn([1, 2, 2], { dtype: "float64" }).requiresGrad_(), randn([1, 2, 2], { dtype: "float64" }).requiresGrad_()]));
  conv.train();
  const { attention } = conv.forwardWithAttention(randn([4, 3], { dtype: "float64" }), edges);
  ok(vals(attention).some((v) => v === 0), "some coefficients dropped");
  throws(() => new GATConv(3, 2, { heads: 0 }), /GATConv: heads must be a positive integer, got 0/);
  throws(
    () => conv.forward(randn([4, 3], { dtype: "float64" }), int([[0], [4]])),
    /GATConv\(3, 2, heads=2\): edgeIndex\[1, 0\] = 4 is out of range for 4 nodes/,
  );
});

Deno.test("segmentSoftmax, scatter max/min and globalMaxPool against loops", () => {
  const src = tensor([[1, -2], [3, 0], [2, 5], [-1, -1]]);
  const index = int([0, 1, 0, 1]);
  const s = vals(segmentSoftmax(src, index, 3));
  const soft = (
    a: number,
    b: number,
  ) => [Math.exp(a) / (Math.exp(a) + Math.exp(b)), Math.exp(b) / (Math.exp(a) + Math.exp(b))];
  const [g0c0, g0c0b] = soft(1, 2),
    [g0c1, g0c1b] = soft(-2, 5),
    [g1c0, g1c0b] = soft(3, -1),
    [g1c1, g1c1b] = soft(0, -1);
  close(s, [g0c0, g0c1, g1c0, g1c1, g0c0b, g0c1b, g1c0b, g1c1b]);
  close(vals(scatter(src, index, 3, "max")), [2, 5, 3, 0, 0, 0], 0, "max; the empty group is 0");
  close(vals(scatter(src, index, 3, "min")), [1, -2, -1, -1, 0, 0], 0, "min");
  close(vals(globalMaxPool(src, index)), [2, 5, 3, 0], 0, "globalMaxPool");
  close(vals(globalMaxPool(src)), [3, 5], 0, "one graph");
});
