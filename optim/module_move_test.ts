// The common order "build model, build optimizer, move model, train": Module.to keeps the Parameter objects the
// optimizer holds, so training changes the moved parameters; state made before a move follows its parameter at the
// next step; gradients that do not fit their parameter are refused before anything changes.
import { deepStrictEqual, equal, ok, strictEqual, throws } from "node:assert/strict";
import { crossEntropy, manualSeed, noGrad, randint, randn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { Adam } from "./adam.ts";
import { SGD } from "./sgd.ts";

const bits = (t: Tensor): number[] => Array.from(t.dataSync());

function mlp(): nn.Sequential {
  manualSeed(11);
  return new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

Deno.test("build model, build optimizer, move model (to float64), train: the moved parameters learn", () => {
  const model = mlp();
  const opt = new SGD(model.parameters(), { lr: 0.5 });
  model.to("float64");
  const x = randn([16, 4], { dtype: "float64" }), y = randint(0, 3, [16]);
  const first = bits((model.at(0) as nn.Linear).weight);
  const losses: number[] = [];
  for (let step = 0; step < 20; step++) {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    // One step by hand for every parameter: θ ← θ − lr·g, in float64.
    const before = [...model.parameters()].map((p) => [bits(p), bits(p.grad!)]);
    opt.step();
    [...model.parameters()].forEach((p, i) => {
      const [theta, g] = before[i];
      deepStrictEqual(bits(p), theta.map((v, j) => v - 0.5 * g[j]), `parameter ${i}, step ${step}`);
    });
    losses.push(loss.dataSync()[0]);
  }
  strictEqual((model.at(0) as nn.Linear).weight.dtype, "float64");
  ok(bits((model.at(0) as nn.Linear).weight).some((v, i) => v !== first[i]), "the moved weight changed");
  ok(losses[19] < losses[0] * 0.8, `loss fell: ${losses[0]} → ${losses[19]}`);
});

Deno.test("Adam state made before a dtype move follows its parameter at the next step, with the exact update", () => {
  const model = mlp();
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const x = randn([8, 4]), y = randint(0, 3, [8]);
  crossEntropy(model.forward(x), y).backward();
  opt.step(); // state in float32
  opt.zeroGrad();
  model.to("float64");
  crossEntropy(model.forward(x.double()), y).backward();
  const p = (model.at(0) as nn.Linear).weight;
  const s = opt.state.get(p)!;
  strictEqual((s.exp_avg as Tensor).dtype, "float32", "not moved until the step");
  const [theta, g, m, v] = [p, p.grad!, s.exp_avg as Tensor, s.exp_avg_sq as Tensor].map(bits);
  opt.step();
  strictEqual((opt.state.get(p)!.exp_avg as Tensor).dtype, "float64");
  strictEqual((opt.state.get(p)!.exp_avg_sq as Tensor).dtype, "float64");
  // Adam's second step by hand (t = 2), in float64 from the float32 state.
  const b1 = 0.9, b2 = 0.999, t = 2;
  const want = theta.map((th, j) => {
    const mj = b1 * m[j] + (1 - b1) * g[j], vj = b2 * v[j] + (1 - b2) * g[j] ** 2;
    return th - (0.01 / (1 - b1 ** t)) * mj / (Math.sqrt(vj) / Math.sqrt(1 - b2 ** t) + 1e-8);
  });
  bits(p).forEach((got, j) => ok(Math.abs(got - want[j]) < 1e-12, `element ${j}: ${got} vs ${want[j]}`));
});

Deno.test("an optimizer step between the forward pass and backward makes backward refuse", () => {
  const w = tensor([1, 2]).requiresGrad_();
  const opt = new SGD([w], { lr: 0.1 });
  w.grad = tensor([1, 1]);
  const loss = w.mul(w).sum(); // MulBackward saves w
  opt.step();
  w.grad = null;
  throws(
    () => loss.backward(),
    /one of the variables needed for gradient computation has been modified by an inplace operation: \[MulBackward, float32 shape \[2\]\] is at version 1; expected version 0 instead/,
  );
  strictEqual(w.grad, null);
});

Deno.test("the fused update paths bump the parameter's version too", () => {
  for (const make of [(w: Tensor) => new SGD([w], { lr: 0.1, momentum: 0.9 }), (w: Tensor) => new Adam([w])]) {
    const w = randn([64]).requiresGrad_();
    const opt = make(w);
    w.grad = randn([64]);
    const v = w.version;
    opt.step();
    ok(w.version > v);
  }
});

Deno.test("a gradient of the wrong shape, dtype or device is refused on assignment, and by step() before any change", () => {
  const w = tensor([1, 2, 3]).requiresGrad_();
  throws(
    () => (w.grad = tensor([1, 1])),
    /grad: assigned grad has data of a different size: the gradient has shape \[2\] but the tensor has shape \[3\]/,
  );
  throws(
    () => (w.grad = tensor([1, 1, 1], { dtype: "float64" })),
    /grad: assigned grad has data of a different type: the gradient is float64 but the tensor is float32/,
  );
  throws(() => (w.grad = tensor([1, 1, 1], { dtype: "int32" })), TypeError);
  strictEqual(w.grad, null);
  // A gradient that went bad after assignment (here: its parameter moved without it) is caught by step().
  const a = tensor([1, 2]).requiresGrad_(), b = tensor([3, 4]).requiresGrad_();
  const opt = new SGD([a, b], { lr: 1, momentum: 0.9 });
  a.grad = tensor([1, 1]);
  b.grad = tensor([1, 1]);
  noGrad(() => b._swapData(tensor([3, 4], { dtype: "float64" })));
  throws(() => opt.step(), /SGD\.step: parameter 1 \(shape \[2\]\): assigned grad has data of a different type/);
  deepStrictEqual(bits(a), [1, 2], "parameter 0 was not updated either");
  equal(opt.state.size, 0, "no state was made");
  b.grad.dispose();
  throws(() => opt.step(), /SGD\.step: parameter 1 \(shape \[2\]\): the assigned gradient of shape \[2\] was disposed/);
});
