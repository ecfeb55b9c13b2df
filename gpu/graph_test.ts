// The graph layers on WebGPU against the same computation on the CPU: GCN, GraphSAGE and GAT forward and backward,
// and max/mean pooling over a batch of graphs.
import { ok } from "node:assert/strict";
import { Generator, randint, randn, type Tensor } from "@dendrite/tensor";
import * as graph from "@dendrite/graph";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  ok(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

const readAll = (ts: Tensor[]) => Promise.all(ts.map((t) => t.data()));

if (await webgpuOrSkip("webgpu graph")) {
  await useWebGPU();

  Deno.test("webgpu: GCNConv, SAGEConv and GATConv forward and backward match the CPU", async () => {
    const g = new Generator(21);
    const x0 = randn([12, 5], { generator: g });
    const edges = randint(0, 12, [2, 40], { generator: g, dtype: "int32" }); // self-loops and repeats included
    const layers = [
      new graph.GCNConv(5, 4),
      new graph.SAGEConv(5, 4),
      new graph.GATConv(5, 3, { heads: 2 }),
      new graph.SAGEConv(5, 4, { aggr: "max" }),
    ];
    for (const layer of layers) {
      const run = (dev: string) => {
        layer.to(dev);
        layer.zeroGrad();
        const x = x0.to(dev).detach().requiresGrad_();
        const out = layer.forward(x, edges.to(dev));
        out.square().sum().backward();
        const grads = [...layer.parameters()].map((p) => p.grad!);
        return [out, x.grad!, ...grads];
      };
      const cpu = run("cpu").map((t) => t.dataSync());
      const gpu = await readAll(run("webgpu"));
      cpu.forEach((c, i) => close(gpu[i], c, 1e-4, `${layer.constructor.name} ${i === 0 ? "out" : `grad ${i}`}`));
      await layer.toDevice("cpu");
    }
  });

  Deno.test("webgpu: a batch of graphs pooled by mean and max matches the CPU", async () => {
    const g = new Generator(22);
    const graphs = [5, 3, 7].map((n) =>
      new graph.GraphData({
        x: randn([n, 4], { generator: g }),
        edgeIndex: randint(0, n, [2, 2 * n], { generator: g, dtype: "int32" }),
      })
    );
    const run = (dev: string) => {
      const b = graph.Batch.fromDataList(graphs.map((d) => d.to(dev)));
      return [graph.globalMeanPool(b.x!, b.batch, 3), graph.globalMaxPool(b.x!, b.batch, 3)];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    ["mean", "max"].forEach((name, i) => close(gpu[i], cpu[i], 1e-6, name));
  });
}
