import { deepEqual, throws } from "node:assert/strict";
import { RMSprop, type RMSpropOptions } from "./rmsprop.ts";
import { compareWithReference, makeParams, PROBLEM, type RefStep } from "./_testing.ts";

/**
 * PyTorch's RMSprop on plain numbers (torch/optim/rmsprop.py, _single_tensor_rmsprop):
 * g = maximize ? -grad : grad; g += λθ; v = αv + (1-α)g²;
 * centered: ḡ = αḡ + (1-α)g, d = √(v - ḡ²) + ε, else d = √v + ε;
 * momentum: b = μb + g/d, θ -= lr·b; else θ -= lr·g/d.
 */
function refRMSprop(o: RMSpropOptions): RefStep {
  return (theta, grad, state) => {
    const v = (state.v ??= theta.map(() => 0)) as number[];
    const gAvg = (state.gAvg ??= theta.map(() => 0)) as number[];
    const buf = (state.buf ??= theta.map(() => 0)) as number[];
    for (let j = 0; j < theta.length; j++) {
      let g = o.maximize ? -grad[j] : grad[j];
      if (o.weightDecay !== 0) g += o.weightDecay * theta[j];
      v[j] = o.alpha * v[j] + (1 - o.alpha) * g * g;
      let d: number;
      if (o.centered) {
        gAvg[j] = o.alpha * gAvg[j] + (1 - o.alpha) * g;
        d = Math.sqrt(v[j] - gAvg[j] * gAvg[j]) + o.eps;
      } else {
        d = Math.sqrt(v[j]) + o.eps;
      }
      if (o.momentum > 0) {
        buf[j] = o.momentum * buf[j] + g / d;
        theta[j] -= o.lr * buf[j];
      } else {
        theta[j] -= o.lr * g / d;
      }
    }
  };
}

const BASE: RMSpropOptions = {
  lr: 0.01,
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
};

const VARIANTS: [string, Partial<RMSpropOptions>][] = [
  ["plain", {}],
  ["alpha 0.9 + eps", { alpha: 0.9, eps: 1e-2 }],
  ["momentum", { momentum: 0.9 }],
  ["centered", { centered: true, alpha: 0.8 }],
  ["centered + momentum + weightDecay", { centered: true, momentum: 0.5, weightDecay: 0.1, alpha: 0.9 }],
  ["maximize", { maximize: true, lr: 0.001 }],
];

for (const [name, opts] of VARIANTS) {
  Deno.test(`RMSprop ${name}: 5 steps match PyTorch's update`, () => {
    const o = { ...BASE, ...opts };
    const params = makeParams();
    const opt = new RMSprop(params, opts);
    compareWithReference(opt, params, PROBLEM.map(() => refRMSprop(o)), 5, `RMSprop ${name}`);
  });
}

Deno.test("RMSprop: defaults are PyTorch's; state names", () => {
  const params = makeParams();
  const opt = new RMSprop(params, { momentum: 0.9, centered: true });
  const { params: _, ...hp } = opt.paramGroups[0];
  deepEqual(hp, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0.9, centered: true, maximize: false });
  params.forEach((p) => p.grad = p.detach().add(1));
  opt.step();
  deepEqual(Object.keys(opt.state.get(params[1])!).sort(), ["grad_avg", "momentum_buffer", "square_avg", "step"]);
});

Deno.test("RMSprop: invalid hyperparameters are named", () => {
  const p = makeParams();
  throws(() => new RMSprop(p, { lr: -1 }), /RMSprop: invalid lr -1/);
  throws(() => new RMSprop(p, { alpha: -0.5 }), /RMSprop: invalid alpha -0.5/);
  throws(() => new RMSprop(p, { eps: -1 }), /RMSprop: invalid eps -1/);
  throws(() => new RMSprop(p, { momentum: -0.1 }), /RMSprop: invalid momentum -0.1/);
  throws(() => new RMSprop(p, { weightDecay: -0.1 }), /RMSprop: invalid weightDecay -0.1/);
});

Deno.test("RMSprop on float32 parameters tracks the float64 reference (float32 rounding)", () => {
  const o = { ...BASE, momentum: 0.5, centered: true, alpha: 0.9 };
  const params = makeParams(PROBLEM, "float32");
  const opt = new RMSprop(params, o);
  compareWithReference(opt, params, PROBLEM.map(() => refRMSprop(o)), 4, "float32", PROBLEM, {
    atol: 1e-6,
    rtol: 1e-5,
  });
});
