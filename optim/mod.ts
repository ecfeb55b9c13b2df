/**
 * Optimizers, learning-rate schedulers and gradient clipping, with PyTorch's
 * names, defaults and update equations (`torch.optim`).
 *
 * Optimizers take any iterable of parameter tensors (such as
 * `model.parameters()`) or parameter groups `{ params, lr, ... }` whose
 * options override the constructor's. Options are camelCase
 * (`weightDecay`); state dicts use PyTorch's names (`param_groups`,
 * `weight_decay`, `momentum_buffer`, `exp_avg`).
 *
 * @example
 * ```ts
 * import { manualSeed, optim, randn, tensor } from "../mod.ts";
 * manualSeed(0);
 * const w = randn([2, 1]).requiresGrad_();
 * const b = randn([1]).requiresGrad_();
 * const opt = new optim.SGD([w, b], { lr: 0.05, momentum: 0.9 });
 * const sched = new optim.StepLR(opt, 50, { gamma: 0.5 });
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * const y = tensor([[5], [11], [17]]); // y = x·[1, 2] + 0
 * for (let i = 0; i < 200; i++) {
 *   opt.zeroGrad();
 *   const loss = x.matmul(w).add(b).sub(y).square().mean();
 *   loss.backward();
 *   optim.clipGradNorm([w, b], 10);
 *   opt.step();
 *   sched.step();
 * }
 * ```
 *
 * @module
 */

export {
  type BaseOptions,
  type Closure,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type Params,
  type ParamState,
} from "./optimizer.ts";
export { SGD, type SGDOptions } from "./sgd.ts";
export { Adam, type AdamOptions, AdamW } from "./adam.ts";
export { RMSprop, type RMSpropOptions } from "./rmsprop.ts";
export { cubicInterpolate, LBFGS, type LBFGSClosure, type LBFGSOptions } from "./lbfgs.ts";
export { SparseAdam, type SparseAdamOptions } from "./sparse_adam.ts";
export { Adagrad, type AdagradOptions } from "./adagrad.ts";
export {
  CosineAnnealingLR,
  type CosineAnnealingLROptions,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  type LinearLROptions,
  type LrLambda,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  type OneCycleLROptions,
  type OneCycleLRPhase,
  type SchedulerOptions,
  type SchedulerStateDict,
  StepLR,
  type StepLROptions,
} from "./lr_scheduler.ts";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./plateau.ts";
export { clipGradNorm, clipGradNorm_, type ClipGradNormOptions, clipGradValue, clipGradValue_ } from "./clip_grad.ts";
