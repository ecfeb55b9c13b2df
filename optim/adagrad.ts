/**
 * Adagrad (like `torch.optim.Adagrad`).
 *
 * @module
 */

import { fullLike, type Tensor } from "@dendrite/tensor";
import { checkBoolean, checkNonNegative, Optimizer, type ParamGroup, type Params, Temps } from "./optimizer.ts";

/** Adagrad's hyperparameters (PyTorch's defaults). */
export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Learning-rate decay per step: the step size is `lr / (1 + (t − 1)·lrDecay)` (default 0). */
  lrDecay: number;
  /** L2 penalty λ added to the gradient (default 0). */
  weightDecay: number;
  /** The value the sum of squared gradients starts at (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator for numerical stability (default 1e-10). */
  eps: number;
  /** Maximize the objective instead of minimizing (default false). */
  maximize: boolean;
}

/**
 * Adagrad (Duchi, Hazan & Singer, 2011), with PyTorch's update exactly:
 *
 * ```
 * t = t + 1
 * g = maximize ? -grad : grad
 * if λ ≠ 0:  g = g + λ θ
 * clr = lr / (1 + (t − 1)·lrDecay)
 * s = s + g²
 * θ = θ − clr · g / (√s + ε)
 * ```
 *
 * State: `step` (a number) and `sum` (starting at `initialAccumulatorValue`).
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const w = randn([4]).requiresGrad_();
 * const opt = new optim.Adagrad([w], { lr: 0.1 });
 * w.square().sum().backward();
 * opt.step();
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  /**
   * An Adagrad optimizer over `params`.
   *
   * @param params tensors (e.g. `model.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults
   */
  constructor(params: Params<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super("Adagrad", params, {
      lr: options.lr ?? 1e-2,
      lrDecay: options.lrDecay ?? 0,
      weightDecay: options.weightDecay ?? 0,
      initialAccumulatorValue: options.initialAccumulatorValue ?? 0,
      eps: options.eps ?? 1e-10,
      maximize: options.maximize ?? false,
    });
  }

  /** Checks one parameter group's options before anything changes, naming `where` in errors. */
  protected override validate(o: AdagradOptions, where: string): void {
    super.validate(o, where);
    checkNonNegative("Adagrad", where, "lrDecay", o.lrDecay);
    checkNonNegative("Adagrad", where, "weightDecay", o.weightDecay);
    checkNonNegative("Adagrad", where, "initialAccumulatorValue", o.initialAccumulatorValue);
    checkNonNegative("Adagrad", where, "eps", o.eps);
    checkBoolean("Adagrad", where, "maximize", o.maximize);
  }

  /** One optimization step for every parameter of `group`. */
  protected updateGroup(group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      const tmp = new Temps();
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.sum = fullLike(p, initialAccumulatorValue);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      let g: Tensor = p.grad;
      if (maximize) g = tmp.keep(g.neg());
      if (weightDecay !== 0) g = tmp.keep(g.add(p, weightDecay));
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = state.sum as Tensor;
      sum.add_(tmp.keep(g.mul(g)));
      const std = tmp.keep(tmp.keep(sum.sqrt()).add(eps));
      p.sub_(tmp.keep(g.div(std)), clr);
      tmp.dispose();
    }
  }
}
