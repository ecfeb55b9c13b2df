// Module.to keeps every Parameter and buffer object and swaps its data in place (PyTorch's behaviour), moves a
// gradient with its parameter, makes every copy before changing anything, and a graph recorded before the move
// refuses to backward through the moved data.
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { manualSeed, randn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "./mod.ts";

const bits = (t: Tensor): number[] => Array.from(t.dataSync());

function smallNet(): nn.Sequential {
  manualSeed(3);
  return new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
}

Deno.test("to(dtype) keeps each Parameter, buffer and gradient object and converts its data exactly", () => {
  const net = smallNet();
  net.forward(randn([5, 3])).sum().backward();
  const params = [...net.parameters()];
  const grads = params.map((p) => p.grad!);
  const before = params.map(bits), gradsBefore = grads.map(bits);
  const buffers = [...net.buffers()];
  const buffersBefore = buffers.map(bits);
  const versions = params.map((p) => p.version);
  strictEqual(net.to("float64"), net);
  deepStrictEqual([...net.parameters()], params, "the same Parameter objects, in order");
  deepStrictEqual([...net.buffers()], buffers, "the same buffer objects");
  params.forEach((p, i) => {
    strictEqual(p.dtype, "float64");
    ok(p instanceof nn.Parameter && p.requiresGrad && p.isLeaf);
    strictEqual(p.grad, grads[i], "the gradient object moved with it");
    strictEqual(p.grad!.dtype, "float64");
    deepStrictEqual(bits(p), before[i], "float32 → float64 is exact");
    deepStrictEqual(bits(p.grad!), gradsBefore[i]);
    ok(p.version > versions[i], "the swap bumps the version counter");
  });
  const [mean, variance, count] = buffers;
  strictEqual(mean.dtype, "float64");
  strictEqual(variance.dtype, "float64");
  strictEqual(count.dtype, "int32", "num_batches_tracked keeps its integer dtype");
  buffers.forEach((b, i) => deepStrictEqual(bits(b), buffersBefore[i]));
  strictEqual(net.forward(randn([2, 3], { dtype: "float64" })).dtype, "float64");
});

Deno.test("a stateDict taken before the move still reads the old data (PyTorch's param.data = … semantics)", () => {
  const lin = new nn.Linear(2, 2);
  const sd = lin.stateDict();
  const w = bits(lin.weight);
  lin.to("float64");
  strictEqual(sd.weight.dtype, "float32");
  deepStrictEqual(bits(sd.weight), w);
  strictEqual(lin.stateDict().weight.dtype, "float64");
});

Deno.test("a graph recorded before the move refuses to backward through the moved parameters", () => {
  const net = smallNet();
  const loss = net.forward(randn([5, 3])).sum();
  net.to("float64");
  throws(() => loss.backward(), /has been modified by an inplace operation: \[(Matmul|BatchNorm)Backward/);
  ok([...net.parameters()].every((p) => p.grad === null), "no gradient was written");
});

Deno.test("a single layer whose graph needs no saved parameter: the stale gradient is refused by AccumulateGrad", () => {
  const lin = new nn.Linear(2, 1);
  const loss = lin.forward(tensor([[1, 2]])).sum(); // d/dW = x: the weight itself is not needed
  lin.to("float64");
  throws(() => loss.backward(), (e: Error) => {
    ok(e instanceof TypeError, String(e));
    ok(e.message.startsWith("AccumulateGrad: "), e.message);
    ok(e.message.includes("float32 but the tensor is float64"), e.message);
    ok(e.message.includes("Module.to()"), e.message);
    return true;
  });
});

Deno.test("a move that cannot be done leaves the module as it was", () => {
  const net = smallNet();
  const params = [...net.parameters()];
  const snapshot = () => [...net.parameters(), ...net.buffers()].map((t) => [t.dtype, t.device, ...bits(t)]);
  const before = snapshot();
  throws(() => net.to("tpu"), /no backend is registered for device "tpu"/);
  deepStrictEqual(snapshot(), before);
  const bn = net.at(1) as nn.BatchNorm1d;
  bn.runningVar!.dispose();
  throws(() => net.to("float64"), /Sequential\.to: "1\.running_var" was disposed/);
  deepStrictEqual([...net.parameters()].map((p) => p.dtype), params.map(() => "float32"), "no parameter moved");
  strictEqual(bn.runningMean!.dtype, "float32", "nor any buffer");
});

Deno.test("a parameter shared by two modules is moved once and stays shared", () => {
  const a = new nn.Linear(2, 2), b = new nn.Linear(2, 2);
  b.weight = a.weight;
  const net = new nn.Sequential(a, b).to("float64");
  strictEqual(b.weight, a.weight);
  strictEqual(a.weight.dtype, "float64");
  strictEqual([...net.parameters()].length, 3);
});

Deno.test("a move frees the old storage at once (no view of it is left behind)", async () => {
  const m = new nn.Module();
  const t = tensor([1, 2, 3]);
  const p = new nn.Parameter(t);
  t.dispose();
  m.registerParameter("w", p);
  const old = p.storage;
  strictEqual(old.refs, 1);
  m.to("float64");
  strictEqual(old.refs, 0, "to(): the old float32 storage was released");
  const oldF64 = p.storage;
  await m.toDevice("cpu"); // nothing to move
  strictEqual(p.storage, oldF64);
  strictEqual(oldF64.refs, 1);
});
