/**
 * RMSprop (like `torch.optim.RMSprop`).
 *
 * @module
 */

import { type Tensor, zerosLike } from "@dendrite/tensor";
import { checkBoolean, checkNonNegative, Optimizer, type ParamGroup, type Params, Temps } from "./optimizer.ts";

/** RMSprop's hyperparameters (PyTorch's defaults). */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Smoothing constant α of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty λ added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor μ (default 0). */
  momentum: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment (default false). */
  centered: boolean;
  /** Maximize the objective instead of minimizing (default false). */
  maximize: boolean;
}

/**
 * RMSprop (Hinton), with PyTorch's update exactly:
 *
 * ```
 * g = maximize ? -grad : grad
 * if λ ≠ 0:   g = g + λ θ
 * v = α v + (1 − α) g²
 * if centered: ḡ = α ḡ + (1 − α) g;  d = √(v − ḡ²) + ε   else  d = √v + ε
 * if μ > 0:   b = μ b + g / d;  θ = θ − lr b
 * else:       θ = θ − lr g / d
 * ```
 *
 * State: `step` (a number), `square_avg`, `momentum_buffer` with momentum,
 * `grad_avg` when centered (all starting at zero).
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const w = randn([4]).requiresGrad_();
 * const opt = new optim.RMSprop([w], { lr: 1e-2, momentum: 0.9, centered: true });
 * w.square().sum().backward();
 * opt.step();
 * ```
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /**
   * RMSprop over `params` (tensors or parameter groups); `options` fill in what a group does not set.
   *
   * @param params tensors (e.g. `model.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults
   */
  constructor(params: Params<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super("RMSprop", params, {
      lr: options.lr ?? 1e-2,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
      maximize: options.maximize ?? false,
    });
  }

  /** Checks one parameter group's options before anything changes, naming `where` in errors. */
  protected override validate(o: RMSpropOptions, where: string): void {
    super.validate(o, where);
    checkNonNegative("RMSprop", where, "alpha", o.alpha);
    checkNonNegative("RMSprop", where, "eps", o.eps);
    checkNonNegative("RMSprop", where, "weightDecay", o.weightDecay);
    checkNonNegative("RMSprop", where, "momentum", o.momentum);
    checkBoolean("RMSprop", where, "centered", o.centered);
    checkBoolean("RMSprop", where, "maximize", o.maximize);
  }

  /** One optimization step for every parameter of `group`. */
  protected updateGroup(group: ParamGroup<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      const tmp = new Temps();
      let g: Tensor = p.grad;
      if (maximize) g = tmp.keep(g.neg());
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.square_avg = zerosLike(p);
        if (momentum > 0) state.momentum_buffer = zerosLike(p);
        if (centered) state.grad_avg = zerosLike(p);
      }
      state.step = (state.step as number) + 1;
      if (weightDecay !== 0) g = tmp.keep(g.add(p, weightDecay));
      const squareAvg = state.square_avg as Tensor;
      squareAvg.mul_(alpha).add_(tmp.keep(g.mul(g)), 1 - alpha);
      let avg: Tensor;
      if (centered) {
        // A group may turn centered on later; its average starts at zero then.
        state.grad_avg ??= zerosLike(p);
        const gradAvg = state.grad_avg as Tensor;
        // PyTorch's lerp_(g, 1 − α)
        gradAvg.add_(tmp.keep(g.sub(gradAvg)), 1 - alpha);
        avg = tmp.keep(tmp.keep(squareAvg.sub(tmp.keep(gradAvg.mul(gradAvg)))).sqrt());
      } else {
        avg = tmp.keep(squareAvg.sqrt());
      }
      avg = tmp.keep(avg.add(eps));
      if (momentum > 0) {
        state.momentum_buffer ??= zerosLike(p);
        const buf = state.momentum_buffer as Tensor;
        buf.mul_(momentum).add_(tmp.keep(g.div(avg)));
        p.sub_(buf, lr);
      } else {
        p.sub_(tmp.keep(g.div(avg)), lr);
      }
      tmp.dispose();
    }
  }
}
