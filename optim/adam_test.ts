import { deepEqual, ok, throws } from "node:assert/strict";
import { Adam, type AdamOptions, AdamW } from "./adam.ts";
import { compareWithReference, makeParams, PROBLEM, type RefStep } from "./_testing.ts";

/**
 * PyTorch's Adam/AdamW on plain numbers (torch/optim/adam.py, _single_tensor_adam):
 * g = maximize ? -grad : grad; AdamW: θ *= 1 - lr·λ, Adam: g += λθ;
 * m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; v̂ = amsgrad ? max(v̂, v) : v;
 * θ -= lr/(1-β1^t) · m / (√v̂ / √(1-β2^t) + ε).
 * `used` records whether AMSGrad's maximum ever differed from v (so the test exercises it).
 */
function refAdam(o: AdamOptions, decoupled: boolean, used: { amsgradMattered: boolean }): RefStep {
  const [b1, b2] = o.betas;
  return (theta, grad, state) => {
    const t = (state.t = ((state.t as number | undefined) ?? 0) + 1);
    const m = (state.m ??= theta.map(() => 0)) as number[];
    const v = (state.v ??= theta.map(() => 0)) as number[];
    const vmax = (state.vmax ??= theta.map(() => 0)) as number[];
    for (let j = 0; j < theta.length; j++) {
      let g = o.maximize ? -grad[j] : grad[j];
      if (o.weightDecay !== 0) {
        if (decoupled) theta[j] *= 1 - o.lr * o.weightDecay;
        else g += o.weightDecay * theta[j];
      }
      m[j] = b1 * m[j] + (1 - b1) * g;
      v[j] = b2 * v[j] + (1 - b2) * g * g;
      let second = v[j];
      if (o.amsgrad) {
        vmax[j] = Math.max(vmax[j], v[j]);
        if (vmax[j] !== v[j]) used.amsgradMattered = true;
        second = vmax[j];
      }
      const denom = Math.sqrt(second) / Math.sqrt(1 - b2 ** t) + o.eps;
      theta[j] -= (o.lr / (1 - b1 ** t)) * (m[j] / denom);
    }
  };
}

const BASE: AdamOptions = { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

const VARIANTS: [string, Partial<AdamOptions>][] = [
  ["plain", {}],
  ["weightDecay", { weightDecay: 0.1 }],
  // A fast β2 lets v fall as gradients shrink, so AMSGrad's maximum matters.
  ["amsgrad", { amsgrad: true, betas: [0.8, 0.5] }],
  ["amsgrad + weightDecay + eps", { amsgrad: true, betas: [0.5, 0.3], weightDecay: 0.05, eps: 1e-3 }],
  ["maximize (small lr)", { maximize: true, lr: 0.01 }],
];

for (const decoupled of [false, true]) {
  const Ctor = decoupled ? AdamW : Adam;
  const name = decoupled ? "AdamW" : "Adam";
  for (const [variant, opts] of VARIANTS) {
    Deno.test(`${name} ${variant}: 6 steps match PyTorch's update`, () => {
      const o = { ...BASE, weightDecay: decoupled ? 0.01 : 0, ...opts };
      const used = { amsgradMattered: false };
      const params = makeParams();
      const opt = new Ctor(params, { lr: BASE.lr, ...opts });
      compareWithReference(opt, params, PROBLEM.map(() => refAdam(o, decoupled, used)), 6, `${name} ${variant}`);
      if (o.amsgrad) {
        ok(used.amsgradMattered, "the AMSGrad maximum never differed from v: the test does not exercise it");
      }
    });
  }
}

Deno.test("Adam/AdamW: defaults are PyTorch's (AdamW weightDecay 0.01)", () => {
  const { params: _a, ...adam } = new Adam(makeParams()).paramGroups[0];
  deepEqual(adam, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false });
  const { params: _w, ...adamw } = new AdamW(makeParams()).paramGroups[0];
  deepEqual(adamw, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false });
});

Deno.test("Adam/AdamW: state holds step, exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad)", () => {
  const params = makeParams();
  const opt = new Adam(params, { amsgrad: true });
  params.forEach((p) => p.grad = p.detach().mul(0).add(1));
  opt.step();
  opt.step();
  const s = opt.state.get(params[0])!;
  deepEqual(Object.keys(s).sort(), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]);
  deepEqual(s.step, 2);
});

Deno.test("Adam/AdamW: invalid hyperparameters are named", () => {
  const p = makeParams();
  throws(() => new Adam(p, { lr: -1 }), /Adam: invalid lr -1/);
  throws(() => new Adam(p, { betas: [1, 0.999] }), /Adam: invalid betas\[0\] 1/);
  throws(() => new Adam(p, { betas: [0.9, -0.1] }), /Adam: invalid betas\[1\] -0.1/);
  throws(() => new AdamW(p, { betas: [0.9, 1.5] }), /AdamW: invalid betas\[1\] 1.5/);
  throws(() => new AdamW(p, { eps: -1e-8 }), /AdamW: invalid eps/);
  throws(() => new AdamW(p, { weightDecay: -0.01 }), /AdamW: invalid weightDecay -0.01/);
});

Deno.test("Adam/AdamW on float32 parameters track the float64 reference (float32 rounding)", () => {
  for (const decoupled of [false, true]) {
    const o: AdamOptions = { ...BASE, lr: 0.05, weightDecay: 0.1, amsgrad: true };
    const params = makeParams(PROBLEM, "float32");
    const opt = decoupled ? new AdamW(params, o) : new Adam(params, o);
    const refs = PROBLEM.map(() => refAdam(o, decoupled, { amsgradMattered: false }));
    compareWithReference(opt, params, refs, 4, "float32", PROBLEM, { atol: 1e-6, rtol: 1e-5 });
  }
});
