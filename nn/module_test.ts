import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { manualSeed, randn, type Tensor, tensor, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";

const vals = (t: Tensor) => [...t.dataSync()];

class Net extends nn.Module {
  features = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.BatchNorm2d(2), new nn.ReLU());
  head = new nn.Linear(2, 3);
  scale = new nn.Parameter(tensor([1]));
  plain = tensor([5]); // a plain tensor is neither a parameter nor a buffer (like PyTorch)
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x).mean([2, 3])).mul(this.scale);
  }
}

Deno.test("stateDict keys are PyTorch's names, buffers included, in PyTorch's order", () => {
  const net = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4));
  deepStrictEqual(Object.keys(net.stateDict()), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
  ]);
  const sd = net.stateDict();
  strictEqual(sd["1.num_batches_tracked"].dtype, "int32");
  deepStrictEqual(sd["1.num_batches_tracked"].shape, []);
  deepStrictEqual(Object.keys(new Net().stateDict()), [
    "scale",
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "features.1.running_mean",
    "features.1.running_var",
    "features.1.num_batches_tracked",
    "head.weight",
    "head.bias",
  ]);
});

Deno.test("namedParameters, parameters, children, modules, numParameters", () => {
  const net = new Net();
  deepStrictEqual([...net.namedParameters()].map(([n]) => n), [
    "scale",
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "head.weight",
    "head.bias",
  ]);
  ok([...net.parameters()].every((p) => p instanceof nn.Parameter && p.requiresGrad && p.isLeaf));
  deepStrictEqual([...net.namedChildren()].map(([n]) => n), ["features", "head"]);
  deepStrictEqual([...net.namedModules()].map(([n]) => n), [
    "",
    "features",
    "features.0",
    "features.1",
    "features.2",
    "head",
  ]);
  strictEqual(net.numParameters(), 1 + (2 * 9 + 2) + 4 + (6 + 3));
  net.head.requiresGrad_(false);
  strictEqual(net.numParameters(true), 1 + 20 + 4);
  // A shared parameter counts once.
  const fc = new nn.Linear(2, 2);
  const tied = new nn.Sequential(fc, fc);
  strictEqual([...tied.parameters()].length, 2);
  deepStrictEqual(Object.keys(tied.stateDict()), ["0.weight", "0.bias", "1.weight", "1.bias"]);
});

Deno.test("loadStateDict copies values; errors list every problem by name and change nothing", () => {
  manualSeed(0);
  const a = new Net(), b = new Net();
  b.loadStateDict(a.stateDict());
  deepStrictEqual(vals(b.head.weight), vals(a.head.weight));
  const before = vals(b.head.weight);
  const sd = a.stateDict();
  sd["head.weight"] = zeros([4, 2]);
  delete sd["features.1.running_var"];
  sd["extra.weight"] = zeros([1]);
  sd["head.bias"] = zeros([3]).add(7);
  throws(
    () => b.loadStateDict(sd),
    (e: Error) =>
      /missing keys: "features\.1\.running_var"/.test(e.message) &&
      /unexpected keys: "extra\.weight"/.test(e.message) &&
      /size mismatch for "head\.weight": the state dict has shape \[4, 2\], the module has \[3, 2\]/.test(e.message),
  );
  deepStrictEqual(vals(b.head.weight), before);
  ok(vals(b.head.bias!).every((v) => v !== 7), "nothing changed after the error");
  // Non-strict: missing/unexpected are reported, shape mismatches still throw.
  sd["head.weight"] = a.head.weight.detach();
  const r = b.loadStateDict(sd, { strict: false });
  deepStrictEqual(r, { missingKeys: ["features.1.running_var"], unexpectedKeys: ["extra.weight"] });
  deepStrictEqual(vals(b.head.bias!), [7, 7, 7]);
});

Deno.test("train/eval propagate; apply visits children first; zeroGrad; to(float64)", () => {
  const net = new Net();
  net.eval();
  ok([...net.modules()].every((m) => !m.training));
  net.train();
  ok([...net.modules()].every((m) => m.training));
  const order: string[] = [];
  net.apply((m) => order.push(m.constructor.name));
  deepStrictEqual(order, ["Conv2d", "BatchNorm2d", "ReLU", "Sequential", "Linear", "Net"]);
  net.forward(randn([2, 1, 4, 4])).sum().backward();
  ok(net.head.weight.grad !== null);
  net.zeroGrad();
  ok([...net.parameters()].every((p) => p.grad === null));
  net.to("float64");
  ok([...net.parameters()].every((p) => p.dtype === "float64" && p instanceof nn.Parameter && p.requiresGrad));
  strictEqual(net.stateDict()["features.1.running_mean"].dtype, "float64");
  strictEqual(net.stateDict()["features.1.num_batches_tracked"].dtype, "int32");
  strictEqual(net.forward(randn([2, 1, 4, 4], { dtype: "float64" })).dtype, "float64");
});

Deno.test("zeroGrad(false) keeps each gradient tensor, zeroed, and cuts a createGraph gradient off its graph", () => {
  const lin = new nn.Linear(2, 1);
  const x = tensor([[1, 2], [3, 4]]);
  // d/dw of sum((x·wᵀ)²) depends on w, so with createGraph the gradient carries a graph.
  lin.forward(x).square().sum().backward(undefined, { createGraph: true });
  const g = lin.weight.grad!;
  ok(g.gradFn !== null, "the createGraph gradient has a graph");
  lin.zeroGrad(false);
  strictEqual(lin.weight.grad, g, "the same tensor is kept");
  strictEqual(g.gradFn, null, "and it is off the graph");
  strictEqual(g.requiresGrad, false);
  deepStrictEqual(Array.from(g.dataSync()), [0, 0]);
  deepStrictEqual(Array.from(lin.bias!.grad!.dataSync()), [0]);
});

Deno.test("toString prints a tree like PyTorch's repr", () => {
  const net = new nn.Sequential(new nn.Linear(4, 2), new nn.ReLU(), new nn.Sequential(new nn.Dropout(0.1)));
  strictEqual(
    net.toString(),
    [
      "Sequential(",
      "  (0): Linear(inFeatures=4, outFeatures=2, bias=true)",
      "  (1): ReLU()",
      "  (2): Sequential(",
      "    (0): Dropout(p=0.1)",
      "  )",
      ")",
    ].join("\n"),
  );
  strictEqual(
    new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }).toString(),
    "Conv2d(3, 64, kernelSize=[7, 7], stride=[2, 2], padding=[3, 3], bias=false)",
  );
});

Deno.test("ModuleList and ModuleDict register their modules; registerBuffer", () => {
  const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 1)]);
  deepStrictEqual(Object.keys(list.stateDict()), ["0.weight", "0.bias", "1.weight", "1.bias"]);
  list.append(new nn.Linear(1, 1));
  strictEqual(list.length, 3);
  strictEqual(list.at(-1), [...list][2]);
  // Pairs keep insertion order even for integer-like keys (an object literal would put "10" first).
  const dict = new nn.ModuleDict([["b", new nn.Linear(1, 1)], ["a", new nn.Linear(1, 1, { bias: false })], [
    "10",
    new nn.ReLU(),
  ]]);
  deepStrictEqual(Object.keys(dict.stateDict()), ["b.weight", "b.bias", "a.weight"]);
  deepStrictEqual([...dict.keys()], ["b", "a", "10"]);
  class WithBuf extends nn.Module {
    constructor() {
      super();
      this.registerBuffer("mask", tensor([1, 0]));
      this.registerBuffer("tmp", tensor([3]), false);
    }
  }
  const m = new WithBuf();
  deepStrictEqual(Object.keys(m.stateDict()), ["mask"]);
  deepStrictEqual([...m.namedBuffers()].map(([n]) => n), ["mask", "tmp"]);
  deepStrictEqual(vals((m as unknown as { mask: Tensor }).mask), [1, 0]);
  throws(() => new nn.Sequential(new nn.ReLU(), 3 as unknown as nn.Module), /expected a Module/);
});

Deno.test("Sequential runs modules in order and a small CNN trains one step", () => {
  manualSeed(1);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(4 * 2 * 2, 3),
  );
  const x = randn([4, 1, 4, 4]), y = tensor([0, 1, 2, 1], { dtype: "int32" });
  const lossFn = new nn.CrossEntropyLoss();
  const l0 = lossFn.forward(net.forward(x), y);
  l0.backward();
  for (const p of net.parameters()) p.detach().sub_(p.grad!.mul(0.1));
  const l1 = lossFn.forward(net.forward(x), y);
  ok(l1.dataSync()[0] < l0.dataSync()[0], `loss fell: ${l0.dataSync()[0]} -> ${l1.dataSync()[0]}`);
});
