/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov
 * momentum and weight decay (like `torch.optim.SGD`).
 *
 * @module
 */

import { getBackend, type Tensor, zerosLike } from "@dendrite/tensor";
import {
  checkBoolean,
  checkNonNegative,
  fusableBuffer,
  fusableGrad,
  Optimizer,
  ownsStorage,
  type ParamGroup,
  type Params,
  Temps,
} from "./optimizer.ts";

/** SGD's hyperparameters (PyTorch's defaults). */
export interface SGDOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Momentum factor μ (default 0). */
  momentum: number;
  /** Dampening τ for momentum (default 0). */
  dampening: number;
  /** L2 penalty λ added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing (default false). */
  maximize: boolean;
}

/**
 * Stochastic gradient descent, with PyTorch's update exactly:
 *
 * ```
 * g = maximize ? -grad : grad
 * if λ ≠ 0:  g = g + λ θ
 * if μ ≠ 0:  b = (first step) ? g : μ b + (1 − τ) g
 *            g = nesterov ? g + μ b : b
 * θ = θ − lr g
 * ```
 *
 * The momentum buffer is state `momentum_buffer`.
 *
 * @example
 * ```ts
 * import { nn, optim, randn, tensor } from "../mod.ts";
 * const w = randn([3]).requiresGrad_();
 * const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
 * for (let i = 0; i < 10; i++) {
 *   opt.zeroGrad();
 *   w.sub(tensor([1, 2, 3])).square().sum().backward();
 *   opt.step();
 * }
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * SGD over `params` (tensors or parameter groups); `options` fill in what a group does not set.
   *
   * @param params tensors (e.g. `model.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults
   */
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super("SGD", params, {
      lr: options.lr ?? 1e-3,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
    });
  }

  /** Checks one parameter group's options before anything changes, naming `where` in errors. */
  protected override validate(o: SGDOptions, where: string): void {
    super.validate(o, where);
    checkNonNegative("SGD", where, "momentum", o.momentum);
    if (typeof o.dampening !== "number" || !Number.isFinite(o.dampening)) {
      throw new RangeError(`SGD: invalid dampening ${o.dampening} in ${where} (expected a finite number)`);
    }
    checkNonNegative("SGD", where, "weightDecay", o.weightDecay);
    checkBoolean("SGD", where, "nesterov", o.nesterov);
    checkBoolean("SGD", where, "maximize", o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(
        `SGD: nesterov requires momentum > 0 and dampening 0 (${where} has momentum ${o.momentum}, dampening ${o.dampening})`,
      );
    }
  }

  /** Sparse gradients are fine, except with weight decay (PyTorch refuses `sparse + dense` there too). */
  protected override sparseGradError(group: ParamGroup<SGDOptions>): string | null {
    if (group.weightDecay === 0) return null;
    return `SGD: weightDecay ${group.weightDecay} needs a dense gradient (the decay touches every row), ` +
      "and this parameter's gradient is sparse; use weightDecay 0 or a dense Embedding";
  }

  /** SGD's step; a sparse gradient without momentum moves only its rows. */
  protected updateGroup(group: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      if (p.grad.isSparse && momentum === 0) {
        // Only the gradient's rows move: O(nnz·dim).
        p.add_(p.grad, maximize ? lr : -lr);
        continue;
      }
      const backend = getBackend(p.device);
      const state = momentum !== 0 ? this.stateOf(p) : null;
      const old = state?.momentum_buffer as Tensor | undefined;
      if (backend.sgdUpdate && ownsStorage(p) && fusableGrad(p, p.grad) && (!old || fusableBuffer(p, old))) {
        // One pass over parameter, gradient and momentum buffer; the first step writes the buffer fresh.
        let buf = old;
        if (state && !buf) state.momentum_buffer = buf = zerosLike(p);
        backend.sgdUpdate(p.storage, p.grad, buf ? buf.storage : null, {
          lr,
          momentum,
          dampening,
          weightDecay,
          nesterov,
          maximize,
          firstStep: !old,
        });
        continue;
      }
      const tmp = new Temps();
      // With momentum every row's buffer decays each step, so the step is dense anyway: PyTorch's sparse buffer
      // holds the same numbers (and grows by the gradient's entries every step).
      let g: Tensor = p.grad.isSparse ? tmp.keep(p.grad.toDense()) : p.grad;
      if (maximize) g = tmp.keep(g.neg());
      if (weightDecay !== 0) g = tmp.keep(g.add(p, weightDecay));
      if (state) {
        let buf = old;
        if (!buf) {
          buf = g.clone();
          state.momentum_buffer = buf;
        } else {
          buf.mul_(momentum).add_(g, 1 - dampening);
        }
        g = nesterov ? tmp.keep(g.add(buf, momentum)) : buf;
      }
      p.sub_(g, lr);
      tmp.dispose();
    }
  }
}
