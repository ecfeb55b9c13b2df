import { deepEqual, throws } from "node:assert/strict";
import { Adagrad, type AdagradOptions } from "./adagrad.ts";
import { compareWithReference, makeParams, PROBLEM, type RefStep } from "./_testing.ts";

/**
 * PyTorch's Adagrad on plain numbers (torch/optim/adagrad.py, _single_tensor_adagrad):
 * t += 1; g = maximize ? -grad : grad; g += λθ; clr = lr / (1 + (t − 1)·lrDecay); s += g²; θ -= clr·g / (√s + ε).
 */
function refAdagrad(o: AdagradOptions): RefStep {
  return (theta, grad, state) => {
    const s = (state.s ??= theta.map(() => o.initialAccumulatorValue)) as number[];
    const t = (state.t = ((state.t as number | undefined) ?? 0) + 1);
    const clr = o.lr / (1 + (t - 1) * o.lrDecay);
    for (let j = 0; j < theta.length; j++) {
      let g = o.maximize ? -grad[j] : grad[j];
      if (o.weightDecay !== 0) g += o.weightDecay * theta[j];
      s[j] += g * g;
      theta[j] -= clr * g / (Math.sqrt(s[j]) + o.eps);
    }
  };
}

const BASE: AdagradOptions = {
  lr: 0.01,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 1e-10,
  maximize: false,
};

const VARIANTS: [string, Partial<AdagradOptions>][] = [
  ["plain", { lr: 0.1 }],
  ["lrDecay", { lr: 0.1, lrDecay: 0.3 }],
  ["weightDecay + initialAccumulatorValue", { weightDecay: 0.2, initialAccumulatorValue: 0.5 }],
  ["maximize + eps", { maximize: true, eps: 0.1, lr: 0.05 }],
];

for (const [name, opts] of VARIANTS) {
  Deno.test(`Adagrad ${name}: 6 steps match PyTorch's update`, () => {
    const o = { ...BASE, ...opts };
    const params = makeParams();
    const opt = new Adagrad(params, opts);
    compareWithReference(opt, params, PROBLEM.map(() => refAdagrad(o)), 6, `Adagrad ${name}`);
  });
}

Deno.test("Adagrad: defaults are PyTorch's; state names; a state dict round trip continues the same updates", () => {
  const params = makeParams();
  const opt = new Adagrad(params);
  const { params: _, ...hp } = opt.paramGroups[0];
  deepEqual(hp, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false });
  params.forEach((p) => p.grad = p.detach().add(1));
  opt.step();
  deepEqual(Object.keys(opt.state.get(params[0])!).sort(), ["step", "sum"]);
  const sd = opt.stateDict();
  deepEqual(sd.param_groups[0].lr_decay, 0);
  deepEqual(sd.param_groups[0].initial_accumulator_value, 0);
  const twin = makeParams();
  twin.forEach((t, i) => t.detach().copy_(params[i]));
  const opt2 = new Adagrad(twin);
  opt2.loadStateDict(sd);
  for (const [p, o] of [[params, opt], [twin, opt2]] as const) {
    p.forEach((t) => t.grad = t.detach().mul(2));
    o.step();
  }
  deepEqual(twin.map((t) => [...t.dataSync()]), params.map((t) => [...t.dataSync()]));
});

Deno.test("Adagrad: invalid hyperparameters are named", () => {
  const p = makeParams();
  throws(() => new Adagrad(p, { lr: -1 }), /Adagrad: invalid lr -1/);
  throws(() => new Adagrad(p, { lrDecay: -0.1 }), /Adagrad: invalid lrDecay -0.1/);
  throws(() => new Adagrad(p, { weightDecay: -1 }), /Adagrad: invalid weightDecay -1/);
  throws(() => new Adagrad(p, { initialAccumulatorValue: -1 }), /Adagrad: invalid initialAccumulatorValue -1/);
  throws(() => new Adagrad(p, { eps: -1 }), /Adagrad: invalid eps -1/);
});
