/**
 * Adam and AdamW (like `torch.optim.Adam` and `torch.optim.AdamW`).
 *
 * @module
 */

import { getBackend, type Tensor, zerosLike } from "@dendrite/tensor";
import {
  checkBoolean,
  checkNonNegative,
  checkUnitInterval,
  fusableBuffer,
  fusableGrad,
  Optimizer,
  ownsStorage,
  type ParamGroup,
  type Params,
  Temps,
} from "./optimizer.ts";

/** Adam's and AdamW's hyperparameters. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates (β1, β2) of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** Weight decay λ (Adam: L2 penalty added to the gradient, default 0; AdamW: decoupled, default 0.01). */
  weightDecay: number;
  /** Use the AMSGrad variant (the running maximum of the second moment; default false). */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing (default false). */
  maximize: boolean;
}

/**
 * Adam (Kingma & Ba), with PyTorch's update exactly (t counts this
 * parameter's steps):
 *
 * ```
 * g = maximize ? -grad : grad
 * if λ ≠ 0:  g = g + λ θ
 * m = β1 m + (1 − β1) g
 * v = β2 v + (1 − β2) g²
 * if amsgrad: v̂max = max(v̂max, v);  use v̂max for v below
 * θ = θ − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 * ```
 *
 * State: `step` (a number), `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const w = randn([4]).requiresGrad_();
 * const opt = new optim.Adam([w], { lr: 1e-2, betas: [0.9, 0.999] });
 * w.square().sum().backward();
 * opt.step();
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  /**
   * Adam over `params` (tensors or parameter groups); `options` fill in what a group does not set.
   *
   * @param params tensors (e.g. `model.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults
   */
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    // new.target names AdamW (or a user's subclass) in error messages.
    super(new.target.name, params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      amsgrad: options.amsgrad ?? false,
      maximize: options.maximize ?? false,
    });
  }

  /** Whether weight decay is decoupled from the gradient (AdamW) rather than an L2 term (Adam). */
  protected get decoupledWeightDecay(): boolean {
    return false;
  }

  /** Adam refuses sparse gradients and points to SparseAdam, as PyTorch does. */
  protected override sparseGradError(): string {
    return `${this.optimizerName} does not support sparse gradients, please consider SparseAdam instead`;
  }

  /** Checks one parameter group's options before anything changes, naming `where` in errors. */
  protected override validate(o: AdamOptions, where: string): void {
    super.validate(o, where);
    const name = this.optimizerName;
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new TypeError(`${name}: invalid betas ${o.betas} in ${where} (expected [beta1, beta2])`);
    }
    checkUnitInterval(name, where, "betas[0]", o.betas[0]);
    checkUnitInterval(name, where, "betas[1]", o.betas[1]);
    checkNonNegative(name, where, "eps", o.eps);
    checkNonNegative(name, where, "weightDecay", o.weightDecay);
    checkBoolean(name, where, "amsgrad", o.amsgrad);
    checkBoolean(name, where, "maximize", o.maximize);
  }

  /** One optimization step for every parameter of `group`. */
  protected updateGroup(group: ParamGroup<AdamOptions>): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad, maximize } = group;
    const decoupled = this.decoupledWeightDecay;
    for (const p of group.params) {
      if (!p.grad) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.exp_avg = zerosLike(p);
        state.exp_avg_sq = zerosLike(p);
        if (amsgrad) state.max_exp_avg_sq = zerosLike(p);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      // A group may turn amsgrad on after its first step; the running maximum starts at zero then.
      if (amsgrad) state.max_exp_avg_sq ??= zerosLike(p);
      const backend = getBackend(p.device);
      const expAvg = state.exp_avg as Tensor;
      const expAvgSq = state.exp_avg_sq as Tensor;
      const maxSq = amsgrad ? state.max_exp_avg_sq as Tensor : null;
      const stepSize = lr / (1 - beta1 ** step);
      const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
      if (
        backend.adamUpdate && ownsStorage(p) && fusableGrad(p, p.grad) && fusableBuffer(p, expAvg) &&
        fusableBuffer(p, expAvgSq) && (!maxSq || fusableBuffer(p, maxSq))
      ) {
        // One pass over parameter, gradient and state, no temporaries.
        backend.adamUpdate(p.storage, p.grad, expAvg.storage, expAvgSq.storage, maxSq ? maxSq.storage : null, {
          lr,
          beta1,
          beta2,
          eps,
          weightDecay,
          decoupled,
          amsgrad,
          maximize,
          stepSize,
          biasCorrection2Sqrt,
        });
        continue;
      }
      const tmp = new Temps();
      let g: Tensor = p.grad;
      if (maximize) g = tmp.keep(g.neg());
      if (weightDecay !== 0) {
        if (decoupled) p.mul_(1 - lr * weightDecay);
        else g = tmp.keep(g.add(p, weightDecay));
      }
      // m <- b1 m + (1 - b1) g, written as PyTorch's lerp_(g, 1 - b1): m + (1 - b1)(g - m)
      expAvg.add_(tmp.keep(g.sub(expAvg)), 1 - beta1);
      // v <- b2 v + (1 - b2) g^2
      expAvgSq.mul_(beta2).add_(tmp.keep(g.mul(g)), 1 - beta2);
      let second = expAvgSq;
      if (maxSq) {
        maxSq.copy_(tmp.keep(maxSq.maximum(expAvgSq)));
        second = maxSq;
      }
      const denom = tmp.keep(tmp.keep(tmp.keep(second.sqrt()).div(biasCorrection2Sqrt)).add(eps));
      p.sub_(tmp.keep(expAvg.div(denom)), stepSize);
      tmp.dispose();
    }
  }
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, PyTorch's
 * update exactly — each step first shrinks the parameter, θ ← θ (1 − lr λ),
 * then takes Adam's step without any L2 term. `weightDecay` defaults to 0.01.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const w = randn([4]).requiresGrad_();
 * const opt = new optim.AdamW([w], { lr: 1e-3 }); // weightDecay 0.01
 * w.square().sum().backward();
 * opt.step();
 * ```
 */
export class AdamW extends Adam {
  /**
   * AdamW (decoupled weight decay, default λ = 0.01) over `params`; `options` fill in what a group does not set.
   *
   * @param params tensors (e.g. `model.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults (weightDecay 0.01)
   */
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 });
  }

  /** AdamW decays the weights directly (decoupled), not through the gradient. */
  protected override get decoupledWeightDecay(): boolean {
    return true;
  }
}
