// MessagePassing, scatter and global pooling against direct loops; their errors.
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { Generator, randint, randn, type Tensor, tensor } from "@dendrite/tensor";
import { globalAddPool, globalMeanPool, type MessageContext, MessagePassing, scatter } from "./mod.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const vals = (t: Tensor) => Array.from(t.dataSync());
function close(actual: number[], expected: number[], tol = 1e-5, what = "values") {
  deepStrictEqual(actual.length, expected.length, what);
  actual.forEach((a, i) => ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a}, expected ${expected[i]}`));
}

/** Groups rows by index with a loop: sums and counts. */
function groupByLoop(src: number[], cols: number, index: number[], n: number, mean: boolean): number[] {
  const out = new Array(n * cols).fill(0), count = new Array(n).fill(0);
  index.forEach((g, e) => {
    count[g]++;
    for (let c = 0; c < cols; c++) out[g * cols + c] += src[e * cols + c];
  });
  return mean ? out.map((v, k) => v / Math.max(1, count[Math.floor(k / cols)])) : out;
}

Deno.test("scatter sums and averages rows by group, empty groups zero, like a loop", () => {
  const g = new Generator(2);
  const src = randn([9, 3], { generator: g });
  const index = randint(0, 5, [9], { generator: g, dtype: "int32" });
  for (const reduce of ["sum", "mean"] as const) {
    close(
      vals(scatter(src, index, 6, reduce)),
      groupByLoop(vals(src), 3, vals(index), 6, reduce === "mean"),
      1e-5,
      reduce,
    );
  }
  throws(() => scatter(src, index, 3), /scatter: index\[\d+\] = \d is out of range for 3 groups/);
  throws(() => scatter(src, int([0, 1]), 3), /scatter: index \[2\] must hold one group per row of src \[9, 3\]/);
  throws(
    () => scatter(src, index, 6, "median" as never),
    /reduce must be "sum", "add", "mean", "max" or "min", got "median"/,
  );
});

class Weighted extends MessagePassing {
  override forward(x: Tensor, edgeIndex: Tensor, w: Tensor): Tensor {
    return this.propagate(edgeIndex, x, { edge: { w } });
  }
  override message(ctx: MessageContext): Tensor {
    // Uses both ends: the source's features times the weight, plus the target's.
    return ctx.xJ.mul(ctx.edge.w.unsqueeze(1)).add(ctx.xI);
  }
  override update(aggregated: Tensor): Tensor {
    return aggregated.mul(2);
  }
}

Deno.test("MessagePassing: message (x_j, x_i, edge tensors), aggregate at the targets, update; both flows", () => {
  const x = tensor([[1, 10], [2, 20], [3, 30]]);
  const edges = int([[0, 1, 2, 2], [1, 2, 1, 0]]);
  const w = tensor([1, 2, 3, 4]);
  const [src, dst] = [[0, 1, 2, 2], [1, 2, 1, 0]];
  for (const [flow, aggr] of [["source_to_target", "add"], ["target_to_source", "mean"]] as const) {
    const layer = new Weighted(aggr, flow);
    const [from, to] = flow === "source_to_target" ? [src, dst] : [dst, src];
    const X = vals(x);
    const msgs = from.flatMap((j, e) => [0, 1].map((c) => X[j * 2 + c] * vals(w)[e] + X[to[e] * 2 + c]));
    const expected = groupByLoop(msgs, 2, to, 3, aggr === "mean").map((v) => 2 * v);
    close(vals(layer.forward(x, edges, w)), expected, 1e-5, flow);
  }
  throws(() => new Weighted("median" as never), /Weighted: aggr must be one of add, sum, mean, max, min, got "median"/);
});

Deno.test("global add and mean pooling over the batch vector; without one, the whole graph", () => {
  const g = new Generator(3);
  const x = randn([7, 2], { generator: g });
  const batch = int([0, 0, 1, 1, 1, 3, 3]);
  close(vals(globalAddPool(x, batch)), groupByLoop(vals(x), 2, vals(batch), 4, false));
  close(vals(globalMeanPool(x, batch, 5)), groupByLoop(vals(x), 2, vals(batch), 5, true));
  close(vals(globalMeanPool(x)), groupByLoop(vals(x), 2, new Array(7).fill(0), 1, true));
  throws(() => globalAddPool(x, int([0, 1])), /globalAddPool: index \[2\] must hold one group per row of src \[7, 2\]/);
  throws(() => globalMeanPool(x, batch, 2), /globalMeanPool: index\[5\] = 3 is out of range for 2 groups/);
});
