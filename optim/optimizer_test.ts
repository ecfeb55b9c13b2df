import { deepEqual, equal, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { noGrad, type Tensor, tensor } from "@dendrite/tensor";
import { Optimizer, type ParamGroup, type Params } from "./optimizer.ts";
import { SGD } from "./sgd.ts";
import { Adam, AdamW } from "./adam.ts";
import { RMSprop } from "./rmsprop.ts";
import { assertClose, backward, makeParams, PROBLEM, refGrad } from "./_testing.ts";

Deno.test("Optimizer: takes any iterable of tensors (a generator, like model.parameters())", () => {
  const params = makeParams();
  function* gen() {
    yield* params;
  }
  const opt = new SGD(gen(), { lr: 0.1 });
  equal(opt.paramGroups.length, 1);
  deepEqual(opt.paramGroups[0].params, params);
});

Deno.test("Optimizer: param groups with their own lr; unset options come from the constructor", () => {
  const params = makeParams();
  const opt = new SGD([{ params: [params[0]], lr: 0.1 }, { params: params[1] }], { lr: 0.01, momentum: 0.5 });
  equal(opt.paramGroups[0].lr, 0.1);
  equal(opt.paramGroups[1].lr, 0.01);
  equal(opt.paramGroups[0].momentum, 0.5);
  equal(opt.paramGroups[1].momentum, 0.5);
  // One plain-SGD-with-momentum step per group, by hand: b = g, θ -= lr·b.
  backward(params);
  opt.step();
  const lrs = [0.1, 0.01];
  PROBLEM.forEach((prob, i) => {
    const g = refGrad(prob.init, prob);
    assertClose(params[i].dataSync(), prob.init.map((x, j) => x - lrs[i] * g[j]), `group ${i}`);
  });
});

Deno.test("Optimizer: changing a group's lr between steps takes effect", () => {
  const w = tensor([1, 2], { dtype: "float64" }).requiresGrad_();
  const opt = new SGD([w], { lr: 0.5 });
  w.grad = tensor([1, 1], { dtype: "float64" });
  opt.step();
  opt.paramGroups[0].lr = 0.25;
  opt.step();
  assertClose(w.dataSync(), [0.25, 1.25], "w");
});

Deno.test("Optimizer: zeroGrad sets grads to null by default, or to zeros", () => {
  const params = makeParams();
  const opt = new Adam(params);
  backward(params);
  const g0 = params[0].grad!;
  opt.zeroGrad(false);
  strictEqual(params[0].grad, g0, "zeroGrad(false) keeps the tensor");
  deepEqual(Array.from(g0.dataSync()), [0, 0, 0, 0]);
  opt.zeroGrad();
  equal(params[0].grad, null);
  equal(params[1].grad, null);
  opt.zeroGrad(false); // no grads: nothing to do
});

Deno.test("Optimizer: parameters without a gradient are skipped and get no state", () => {
  const params = makeParams();
  const opt = new Adam(params, { lr: 0.1 });
  params[0].grad = tensor([1, 1, 1, 1], { dtype: "float64" }).reshape([2, 2]);
  opt.step();
  deepEqual(Array.from(params[1].dataSync()), PROBLEM[1].init);
  ok(!opt.state.has(params[1]));
  ok(opt.state.has(params[0]));
});

Deno.test("Optimizer: step(closure) evaluates the loss with grad on and returns it", () => {
  const params = makeParams();
  const opt = new SGD(params, { lr: 0.01 });
  const loss = noGrad(() =>
    opt.step(() => {
      opt.zeroGrad();
      const l = params[0].square().sum();
      l.backward();
      return l;
    })
  );
  ok(loss);
  const expected = PROBLEM[0].init.reduce((s, x) => s + x * x, 0);
  assertClose(loss!.dataSync(), [expected], "loss");
  assertClose(params[0].dataSync(), PROBLEM[0].init.map((x) => x - 0.01 * 2 * x), "param");
});

Deno.test("Optimizer: addParamGroup adds a group with defaults; overlap and bad params are refused", () => {
  const [a, b] = makeParams();
  const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
  opt.addParamGroup({ params: [b], lr: 0.2 });
  equal(opt.paramGroups.length, 2);
  equal(opt.paramGroups[1].lr, 0.2);
  equal(opt.paramGroups[1].momentum, 0.9);
  throws(() => opt.addParamGroup({ params: [a] }), /some parameters appear in more than one parameter group/);
  throws(() => new SGD([a, a], { lr: 0.1 }), /same parameter more than once/);
  throws(() => new SGD([a.mul(2)], { lr: 0.1 }), /non-leaf/);
  throws(() => new SGD([tensor([1, 2], { dtype: "int32" })], { lr: 0.1 }), /floating-point/);
  throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  throws(() => new SGD(a as unknown as Params, { lr: 0.1 }), /got a single Tensor; pass \[tensor\]/);
  throws(() => new SGD([a, { params: [b] }] as unknown as Params, { lr: 0.1 }), /not a mix/);
});

/** Runs `steps` training steps on the test problem. */
function trainSteps(opt: { step(): unknown; zeroGrad(): void }, params: Tensor[], steps: number): void {
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    backward(params);
    opt.step();
  }
}

const ROUND_TRIPS: [string, (p: Tensor[]) => Optimizer<{ lr: number }>][] = [
  [
    "SGD nesterov",
    (p) => new SGD([{ params: [p[0]] }, { params: [p[1]], lr: 0.02 }], { lr: 0.05, momentum: 0.9, nesterov: true }),
  ],
  ["Adam amsgrad", (p) => new Adam(p, { lr: 0.05, amsgrad: true, betas: [0.8, 0.5] })],
  ["AdamW", (p) => new AdamW(p, { lr: 0.05 })],
  ["RMSprop centered + momentum", (p) => new RMSprop(p, { lr: 0.01, centered: true, momentum: 0.5 })],
];

for (const [name, make] of ROUND_TRIPS) {
  Deno.test(`Optimizer: ${name} loaded from stateDict continues identically`, () => {
    const p1 = makeParams();
    const opt1 = make(p1);
    trainSteps(opt1, p1, 3);
    // A second model with the same weights and a fresh optimizer, given the first one's state.
    const p2 = p1.map((p) => p.detach().clone().requiresGrad_());
    const opt2 = make(p2);
    opt2.paramGroups.forEach((g) => g.lr = 123); // overwritten by the load
    opt2.loadStateDict(opt1.stateDict());
    deepEqual(opt2.paramGroups.map((g) => g.lr), opt1.paramGroups.map((g) => g.lr));
    // Loaded state is copied, not shared, so both can keep stepping.
    for (const k of Object.keys(opt1.state.get(p1[0])!)) {
      const s1 = opt1.state.get(p1[0])![k];
      const s2 = opt2.state.get(p2[0])![k];
      if (typeof s1 !== "number") notStrictEqual((s2 as Tensor).storage, s1.storage, `state ${k} is shared`);
    }
    trainSteps(opt1, p1, 3);
    trainSteps(opt2, p2, 3);
    p1.forEach((p, i) => deepEqual(Array.from(p2[i].dataSync()), Array.from(p.dataSync()), `param ${i}`));
  });
}

Deno.test("Optimizer: stateDict has PyTorch's layout and names", () => {
  const params = makeParams();
  const opt = new SGD([{ params: [params[0]], lr: 0.1 }, { params: [params[1]] }], {
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 1e-4,
  });
  backward(params);
  opt.step();
  const sd = opt.stateDict();
  deepEqual(Object.keys(sd).sort(), ["param_groups", "state"]);
  deepEqual(sd.param_groups, [
    { params: [0], lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 1e-4, nesterov: false, maximize: false },
    { params: [1], lr: 0.01, momentum: 0.9, dampening: 0, weight_decay: 1e-4, nesterov: false, maximize: false },
  ]);
  deepEqual(Object.keys(sd.state), ["0", "1"]);
  deepEqual(Object.keys(sd.state[0]), ["momentum_buffer"]);
  strictEqual(sd.state[0].momentum_buffer, opt.state.get(params[0])!.momentum_buffer, "returned by reference");
  // Adam's state keeps the step count as a number.
  const adam = new Adam(params);
  adam.step();
  deepEqual(Object.keys(adam.stateDict().state[1]).sort(), ["exp_avg", "exp_avg_sq", "step"]);
  equal(adam.stateDict().param_groups[0].betas instanceof Array, true);
});

Deno.test("Optimizer: loadStateDict checks group and parameter counts and shapes before changing anything", () => {
  const params = makeParams();
  const opt1 = new SGD(params, { lr: 0.1, momentum: 0.9 });
  backward(params);
  opt1.step();
  const sd = opt1.stateDict();

  const other = makeParams();
  const twoGroups = new SGD([{ params: [other[0]] }, { params: [other[1]] }], { lr: 0.5, momentum: 0.9 });
  throws(
    () => twoGroups.loadStateDict(sd),
    /SGD.loadStateDict: the state dict has 1 parameter group\(s\) but the optimizer has 2/,
  );
  equal(twoGroups.paramGroups[0].lr, 0.5, "unchanged after the error");

  const oneParam = new SGD([other[0]], { lr: 0.5, momentum: 0.9 });
  throws(
    () => oneParam.loadStateDict(sd),
    /parameter group 0 has 2 parameter\(s\) in the state dict but 1 in the optimizer/,
  );

  const swapped = new SGD([other[1], other[0]], { lr: 0.5, momentum: 0.9 });
  throws(
    () => swapped.loadStateDict(sd),
    /state "momentum_buffer" of parameter 0 has shape \[2,2\] but the parameter has shape \[3\]/,
  );
  equal(swapped.paramGroups[0].lr, 0.5, "unchanged after the error");
  equal(swapped.state.size, 0, "unchanged after the error");
  throws(() => swapped.loadStateDict({} as never), /expected an object with "state" and "param_groups"/);
});

Deno.test("Optimizer: loadStateDict validates the loaded hyperparameters", () => {
  const params = makeParams();
  const opt = new SGD(params, { lr: 0.1 });
  const sd = opt.stateDict();
  sd.param_groups[0].lr = -3;
  throws(
    () => new SGD(makeParams(), { lr: 0.1 }).loadStateDict(sd),
    /SGD: invalid lr -3 in parameter group 0 of the state dict/,
  );
});

/** A minimal user-defined optimizer: plain gradient descent with a `scale` option. */
class Scaled extends Optimizer<{ lr: number; scale: number }> {
  constructor(params: Params<{ lr: number; scale: number }>, lr: number) {
    super("Scaled", params, { lr, scale: 2 });
  }
  protected updateGroup(group: ParamGroup<{ lr: number; scale: number }>): void {
    for (const p of group.params) if (p.grad) p.sub_(p.grad, group.lr * group.scale);
  }
}

Deno.test("Optimizer: a subclass only writes updateGroup; step runs it under noGrad", () => {
  const w = tensor([1, 2], { dtype: "float64" }).requiresGrad_();
  const opt = new Scaled([w], 0.25);
  w.grad = tensor([1, -1], { dtype: "float64" });
  opt.step();
  deepEqual(Array.from(w.dataSync()), [0.5, 2.5]);
  throws(() => new Scaled([w], -1), /Scaled: invalid lr -1 in options/);
});
