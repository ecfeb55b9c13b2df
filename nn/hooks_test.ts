import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { noGrad, type Tensor, tensor, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";

const vals = (t: Tensor | null) => (t === null ? null : [...t.dataSync()]);

/** A Linear(3, 2) with W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1]. */
function knownLinear(): nn.Linear {
  const layer = new nn.Linear(3, 2);
  noGrad(() => {
    layer.weight.copy_(tensor([[1, 2, 3], [4, 5, 6]]));
    layer.bias!.copy_(tensor([0.5, -1]));
  });
  return layer;
}

Deno.test("forward pre-hook sees the arguments and may replace them; remove() stops it", () => {
  const layer = knownLinear();
  const seen: number[][] = [];
  const handle = layer.registerForwardPreHook((m, args) => {
    strictEqual(m, layer);
    seen.push(vals(args[0] as Tensor)!);
    return (args[0] as Tensor).mul(2);
  });
  // x = [1, 0, -1] doubled is [2, 0, -2]: W·x + b = [2 - 6 + 0.5, 8 - 12 - 1] = [-3.5, -5].
  deepStrictEqual(vals(layer.forward(tensor([[1, 0, -1]]))), [-3.5, -5]);
  deepStrictEqual(seen, [[1, 0, -1]]);
  handle.remove();
  handle.remove(); // a second remove does nothing
  // Without the hook: [1 - 3 + 0.5, 4 - 6 - 1] = [-1.5, -3].
  deepStrictEqual(vals(layer.forward(tensor([[1, 0, -1]]))), [-1.5, -3]);
  deepStrictEqual(seen.length, 1);
});

Deno.test("forward hook sees arguments and output, may replace the output; hooks run in order, prepend first", () => {
  const layer = knownLinear();
  const order: string[] = [];
  layer.registerForwardHook((_m, args, out) => {
    order.push("a");
    deepStrictEqual(vals(args[0] as Tensor), [1, 1, 1]);
    deepStrictEqual(vals(out as Tensor), [6.5, 14]);
    return (out as Tensor).add(1);
  });
  layer.registerForwardHook((_m, _args, out) => {
    order.push("b");
    deepStrictEqual(vals(out as Tensor), [7.5, 15]); // the output the first hook returned
  });
  layer.registerForwardHook(() => void order.push("first"), { prepend: true });
  deepStrictEqual(vals(layer.forward(tensor([[1, 1, 1]]))), [7.5, 15]);
  deepStrictEqual(order, ["first", "a", "b"]);
});

Deno.test("hooks run at every call site (inside containers), and leave parameters, stateDict and printing alone", () => {
  const net = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Sequential(new nn.Linear(3, 2)));
  const keys = Object.keys(net.stateDict());
  const params = [...net.parameters()];
  const printed = net.toString();
  const calls: string[] = [];
  const handles = [...net.namedModules()].map(([name, m]) =>
    m.registerForwardHook((_m, _a, out) => void calls.push(`${name || "net"}:${(out as Tensor).shape}`))
  );
  net.forward(zeros([5, 4]));
  // Children finish (and so call their hooks) before their parents.
  deepStrictEqual(calls, ["0:5,3", "1:5,3", "2.0:5,2", "2:5,2", "net:5,2"]);
  deepStrictEqual(Object.keys(net.stateDict()), keys);
  deepStrictEqual([...net.parameters()], params);
  deepStrictEqual([...net.namedChildren()].map(([n]) => n), ["0", "1", "2"]);
  strictEqual(net.toString(), printed);
  ok(Object.hasOwn(net.at(0), "forward"));
  for (const h of handles) h.remove();
  // With the last hook gone the instance has no forward of its own again.
  ok(!Object.hasOwn(net.at(0), "forward") && !Object.hasOwn(net, "forward"));
  net.forward(zeros([5, 4]));
  deepStrictEqual(calls.length, 5);
});

Deno.test("a hook on a module the forward never calls never runs; `using` removes a hook at block end", () => {
  const used = new nn.Linear(2, 2), unused = new nn.Linear(2, 2);
  let runs = 0;
  unused.registerForwardHook(() => void runs++);
  unused.registerFullBackwardHook(() => void runs++);
  used.forward(zeros([1, 2]).requiresGrad_()).sum().backward();
  strictEqual(runs, 0);
  {
    using _h = used.registerForwardPreHook(() => void runs++);
    used.forward(zeros([1, 2]));
  }
  used.forward(zeros([1, 2]));
  strictEqual(runs, 1);
});

Deno.test("bad hooks are refused before anything changes", () => {
  const layer = new nn.Linear(2, 2);
  throws(() => layer.registerForwardHook(42 as never), /registerForwardHook: the hook must be a function, got number/);
  ok(!Object.hasOwn(layer, "forward"));
});

Deno.test("full backward hook on Linear: gradOutput and gradInput equal the direct computation", () => {
  const layer = knownLinear();
  // loss = Σ c ⊙ y with c = [[1, -2], [0.5, 3]], so dL/dy = c and dL/dx = c·W.
  const c = tensor([[1, -2], [0.5, 3]]);
  const x = tensor([[1, 2, 3], [-1, 0, 1]]).requiresGrad_();
  const seen: { gi: (number[] | null)[]; go: (number[] | null)[] }[] = [];
  layer.registerFullBackwardHook((m, gradInput, gradOutput) => {
    strictEqual(m, layer);
    seen.push({ gi: gradInput.map(vals), go: gradOutput.map(vals) });
  });
  const y = layer.forward(x);
  strictEqual(y.gradFn!.name, "BackwardHookFunctionBackward");
  y.mul(c).sum().backward();
  // c·W = [[1 - 8, 2 - 10, 3 - 12], [0.5 + 12, 1 + 15, 1.5 + 18]].
  const cw = [-7, -8, -9, 12.5, 16, 19.5];
  deepStrictEqual(seen, [{ gi: [cw], go: [[1, -2, 0.5, 3]] }]);
  deepStrictEqual(vals(x.grad), cw);
  // The weight's gradient is untouched by the hook: cᵀ·x = [[1 - 0.5, 2, 3 + 0.5], [-2 - 3, -4, -6 + 3]].
  deepStrictEqual(vals(layer.weight.grad), [0.5, 2, 3.5, -5, -4, -3]);
});

Deno.test("full backward hook may replace gradInput; what it returns reaches the input", () => {
  const layer = knownLinear();
  const x = tensor([[1, 2, 3]]).requiresGrad_();
  layer.registerFullBackwardHook((_m, gradInput) => [gradInput[0]!.mul(10)]);
  layer.forward(x).sum().backward();
  // dL/dx = 1ᵀ·W = [5, 7, 9], times 10.
  deepStrictEqual(vals(x.grad), [50, 70, 90]);
  deepStrictEqual(vals(layer.weight.grad), [1, 2, 3, 1, 2, 3]);
});

Deno.test("full backward hook where no input requires grad: gradInput is null, the hook runs once", () => {
  const layer = knownLinear();
  const calls: [(number[] | null)[], (number[] | null)[]][] = [];
  layer.registerFullBackwardHook((_m, gi, go) => void calls.push([gi.map(vals), go.map(vals)]));
  layer.forward(tensor([[1, 1, 1]])).mul(tensor([[2, 3]])).sum().backward();
  deepStrictEqual(calls, [[[null], [[2, 3]]]]);
  deepStrictEqual(vals(layer.bias!.grad), [2, 3]);
  // Returning gradients there is an error, as in PyTorch.
  const other = knownLinear();
  other.registerFullBackwardHook(() => [zeros([1, 3])]);
  throws(
    () => other.forward(tensor([[1, 1, 1]])).sum().backward(),
    /the hook on Linear returned gradients, but no input of that module requires grad/,
  );
});

Deno.test("full backward hook does not run when the output needs no gradient (frozen module, noGrad)", () => {
  const layer = knownLinear().requiresGrad_(false);
  let runs = 0;
  layer.registerFullBackwardHook(() => void runs++);
  const y = layer.forward(tensor([[1, 1, 1]]));
  strictEqual(y.requiresGrad, false);
  const trainable = knownLinear();
  trainable.registerFullBackwardHook(() => void runs++);
  noGrad(() => trainable.forward(tensor([[1, 1, 1]]).requiresGrad_()));
  strictEqual(runs, 0);
});

class Mix extends nn.Module {
  /** forward(a, b, k) = [a ⊙ b · k, a · 2]; k is a plain number. */
  override forward(a: Tensor, b: Tensor, k: number): Tensor[] {
    return [a.mul(b).mul(k), a.mul(2)];
  }
}

Deno.test("full backward hook with several inputs and outputs: one call with every gradient, nulls for non-tensors", () => {
  const mix = new Mix();
  const a = tensor([1, 2]).requiresGrad_(), b = tensor([3, -1]).requiresGrad_();
  const calls: [(number[] | null)[], (number[] | null)[]][] = [];
  mix.registerFullBackwardHook((_m, gi, go) => void calls.push([gi.map(vals), go.map(vals)]));
  const [p, q] = mix.forward(a, b, 3);
  // L = Σ p·[1, 1] + Σ q·[10, 100]: dL/dp = [1, 1], dL/dq = [10, 100];
  // dL/da = 3b + 2·[10, 100] = [29, 197], dL/db = 3a = [3, 6].
  p.sum().add(q.mul(tensor([10, 100])).sum()).backward();
  deepStrictEqual(calls, [[[[29, 197], [3, 6], null], [[1, 1], [10, 100]]]]);
  deepStrictEqual(vals(a.grad), [29, 197]);
  deepStrictEqual(vals(b.grad), [3, 6]);
});

Deno.test("full backward hook runs on every backward of a retained graph", () => {
  const layer = knownLinear();
  let runs = 0;
  layer.registerFullBackwardHook(() => void runs++);
  const loss = layer.forward(tensor([[1, 2, 3]]).requiresGrad_()).sum();
  loss.backward(undefined, { retainGraph: true });
  loss.backward();
  strictEqual(runs, 2);
});

Deno.test("full backward hook returning the wrong count or shape gets an error naming the module", () => {
  const layer = knownLinear();
  const x = tensor([[1, 2, 3]]).requiresGrad_();
  const h = layer.registerFullBackwardHook(() => [null, null]);
  throws(() => layer.forward(x).sum().backward(), /hook on Linear returned 2 gradients; expected an array of 1/);
  h.remove();
  layer.registerFullBackwardHook(() => [zeros([3])]);
  throws(() => layer.forward(x).sum().backward(), /gradInput\[0\] of shape \[3\], but that input has shape \[1, 3\]/);
});
