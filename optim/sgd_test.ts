import { throws } from "node:assert/strict";
import { SGD, type SGDOptions } from "./sgd.ts";
import { compareWithReference, makeParams, PROBLEM, type RefStep } from "./_testing.ts";

/**
 * PyTorch's SGD on plain numbers (torch/optim/sgd.py, _single_tensor_sgd):
 * g = maximize ? -grad : grad; g += λθ; b = first ? g : μb + (1-τ)g;
 * g = nesterov ? g + μb : b; θ -= lr·g.
 */
function refSGD(o: SGDOptions): RefStep {
  return (theta, grad, state) => {
    for (let j = 0; j < theta.length; j++) {
      let g = o.maximize ? -grad[j] : grad[j];
      if (o.weightDecay !== 0) g += o.weightDecay * theta[j];
      if (o.momentum !== 0) {
        const buf = (state.buf ??= []) as number[];
        buf[j] = buf[j] === undefined ? g : o.momentum * buf[j] + (1 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * buf[j] : buf[j];
      }
      theta[j] -= o.lr * g;
    }
  };
}

const BASE: SGDOptions = { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

const VARIANTS: [string, Partial<SGDOptions>][] = [
  ["plain", {}],
  ["momentum", { momentum: 0.9 }],
  ["momentum + dampening", { momentum: 0.8, dampening: 0.3 }],
  ["nesterov", { momentum: 0.9, nesterov: true }],
  ["weightDecay + momentum", { momentum: 0.5, weightDecay: 0.1 }],
  ["nesterov + weightDecay", { momentum: 0.7, nesterov: true, weightDecay: 0.05 }],
  ["maximize + weightDecay (small lr)", { lr: 0.01, maximize: true, weightDecay: 0.2, momentum: 0.3 }],
];

for (const [name, opts] of VARIANTS) {
  Deno.test(`SGD ${name}: 5 steps match PyTorch's update`, () => {
    const o = { ...BASE, ...opts };
    const params = makeParams();
    const opt = new SGD(params, { lr: BASE.lr, ...opts });
    compareWithReference(opt, params, PROBLEM.map(() => refSGD(o)), 5, `SGD ${name}`);
  });
}

Deno.test("SGD: defaults are PyTorch's", () => {
  const opt = new SGD(makeParams());
  const g = opt.paramGroups[0];
  const { params: _, ...hp } = g;
  if (
    JSON.stringify(hp) !==
      JSON.stringify({ lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false })
  ) {
    throw new Error(`unexpected defaults ${JSON.stringify(hp)}`);
  }
});

Deno.test("SGD: invalid hyperparameters are named", () => {
  const p = makeParams();
  throws(() => new SGD(p, { lr: -0.1 }), /SGD: invalid lr -0.1/);
  throws(() => new SGD(p, { lr: 0.1, momentum: -0.5 }), /SGD: invalid momentum -0.5/);
  throws(() => new SGD(p, { lr: 0.1, weightDecay: -1 }), /SGD: invalid weightDecay -1/);
  throws(() => new SGD(p, { lr: 0.1, nesterov: true }), /SGD: nesterov requires momentum > 0 and dampening 0/);
  throws(
    () => new SGD(p, { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }),
    /nesterov requires momentum > 0 and dampening 0/,
  );
  throws(() => new SGD([{ params: [p[0]], lr: -1 }], { lr: 0.1 }), /SGD: invalid lr -1 in parameter group 0/);
});

Deno.test("SGD on float32 parameters tracks the float64 reference (float32 rounding)", () => {
  const o = { ...BASE, momentum: 0.9, nesterov: true, weightDecay: 0.01 };
  const params = makeParams(PROBLEM, "float32");
  const opt = new SGD(params, o);
  compareWithReference(opt, params, PROBLEM.map(() => refSGD(o)), 4, "float32", PROBLEM, { atol: 1e-6, rtol: 1e-5 });
});
