// The bad-input catalogue of optim/: steps over gradients that do not fit, bad hyperparameters, state dicts that do
// not fit, schedulers driven past their end. Each call must throw the error listed and leave the parameters, their
// gradients, the optimizer's groups and state, and the scheduler bit-identical.
import { badInput, catalogueSuite } from "@dendrite/tensor/testing";
import { noGrad, type Tensor, tensor } from "@dendrite/tensor";
import { Adam } from "./adam.ts";
import { LBFGS } from "./lbfgs.ts";
import { SGD } from "./sgd.ts";
import type { Optimizer } from "./optimizer.ts";
import { LambdaLR, OneCycleLR, StepLR } from "./lr_scheduler.ts";
import { Adagrad } from "./adagrad.ts";
import { ReduceLROnPlateau } from "./plateau.ts";
import { clipGradNorm, clipGradValue } from "./clip_grad.ts";

/** Two parameters with gradients, and an optimizer over them that has taken one step (so it has state). */
function trained<O extends Optimizer>(make: (ps: Tensor[]) => O): { ps: Tensor[]; opt: O } {
  const ps = [tensor([1, 2, 3]).requiresGrad_(), tensor([[0.5, -1], [2, 0]]).requiresGrad_()];
  const opt = make(ps);
  ps.forEach((p) => (p.grad = noGrad(() => p.mul(0.1).add(0.2))));
  opt.step();
  ps.forEach((p) => (p.grad = noGrad(() => p.mul(-0.3))));
  return { ps, opt };
}

const sgd = (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 });
const adam = (ps: Tensor[]) => new Adam(ps, { lr: 0.01 });

/** The state an optimizer case could touch: parameters (with grads), groups, per-parameter state. */
const optState = ({ ps, opt }: { ps: Tensor[]; opt: Optimizer }) => [ps, opt.paramGroups, opt.state];

/** A case on a trained optimizer; `prepare` runs before the snapshot. */
const onOpt = <O extends Optimizer, P>(
  name: string,
  make: (ps: Tensor[]) => O,
  prepare: (f: { ps: Tensor[]; opt: O }) => P,
  act: (f: { ps: Tensor[]; opt: O }, p: P) => unknown,
  error: abstract new (...args: never[]) => Error,
  words: (string | RegExp)[],
) =>
  badInput({
    name,
    setup: () => {
      const f = trained(make);
      return { f, p: prepare(f) };
    },
    act: ({ f, p }) => act(f, p),
    error,
    words,
    state: ({ f }) => optState(f),
  });

catalogueSuite("catalogue[optim]", [
  // ---- step -------------------------------------------------------------------------------------------------------
  onOpt(
    "SGD.step after a parameter's gradient was disposed",
    sgd,
    ({ ps }) => ps[1].grad!.dispose(),
    ({ opt }) => opt.step(),
    Error,
    [
      "SGD.step: parameter 1 (shape [2, 2])",
      "was disposed",
    ],
  ),
  onOpt(
    "Adam.step with a gradient of another dtype (its parameter changed under it)",
    adam,
    ({ ps }) => {
      noGrad(() => ps[1]._swapData(tensor([[0.5, -1], [2, 0]], { dtype: "float64" })));
    },
    ({ opt }) => opt.step(),
    TypeError,
    ["Adam.step: parameter 1", "assigned grad has data of a different type"],
  ),
  onOpt("SGD.step over a disposed parameter", sgd, ({ ps }) => ps[0].dispose(), ({ opt }) => opt.step(), Error, [
    "SGD.step: parameter 0 (shape [3]) was disposed",
  ]),
  onOpt(
    "step whose closure throws updates nothing",
    adam,
    () => null,
    ({ opt }) =>
      opt.step(() => {
        throw new RangeError("the closure failed");
      }),
    RangeError,
    ["the closure failed"],
  ),
  onOpt(
    "Adam state disposed between steps",
    adam,
    ({ ps, opt }) => {
      noGrad(() => ps[0]._swapData(tensor([1, 2, 3], { dtype: "float64" }))); // a dtype move makes the step move state
      ps[0].grad = tensor([1, 1, 1], { dtype: "float64" });
      (opt.state.get(ps[0])!.exp_avg as Tensor).dispose();
    },
    ({ opt }) => opt.step(),
    Error,
    ['its state "exp_avg" was disposed'],
  ),

  // ---- construction and groups ------------------------------------------------------------------------------------
  badInput({
    name: "SGD with a negative learning rate",
    setup: () => [tensor([1]).requiresGrad_()],
    act: (ps) => new SGD(ps, { lr: -0.1 }),
    error: RangeError,
    words: ["SGD: invalid lr -0.1"],
    state: (ps) => ps,
  }),
  badInput({
    name: "SGD with nesterov but no momentum",
    setup: () => [tensor([1]).requiresGrad_()],
    act: (ps) => new SGD(ps, { lr: 0.1, nesterov: true }),
    error: Error,
    words: ["nesterov requires momentum > 0"],
    state: (ps) => ps,
  }),
  badInput({
    name: "Adam with beta1 = 1.5",
    setup: () => [tensor([1]).requiresGrad_()],
    act: (ps) => new Adam(ps, { betas: [1.5, 0.999] }),
    error: RangeError,
    words: ["Adam: invalid betas[0] 1.5"],
    state: (ps) => ps,
  }),
  badInput({
    name: "an optimizer over a single tensor instead of a list",
    setup: () => tensor([1]).requiresGrad_(),
    act: (p) => new SGD(p as never, { lr: 0.1 }),
    error: TypeError,
    words: ["got a single Tensor; pass [tensor]"],
    state: (p) => p,
  }),
  onOpt(
    "addParamGroup with a parameter another group has",
    sgd,
    () => null,
    ({ ps, opt }) => opt.addParamGroup({ params: [ps[0]] }),
    Error,
    [
      "appear in more than one parameter group",
    ],
  ),
  onOpt(
    "addParamGroup with a negative lr",
    sgd,
    () => tensor([1]).requiresGrad_(),
    ({ opt }, q) => opt.addParamGroup({ params: [q], lr: -1 }),
    RangeError,
    [
      "invalid lr -1 in parameter group 1",
    ],
  ),
  onOpt(
    "addParamGroup of an int32 tensor",
    sgd,
    () => tensor([1], { dtype: "int32" }),
    ({ opt }, q) => opt.addParamGroup({ params: [q] }),
    TypeError,
    [
      "can only optimize floating-point tensors",
    ],
  ),
  onOpt(
    "addParamGroup of a non-leaf",
    sgd,
    () => tensor([1]).requiresGrad_().mul(2),
    ({ opt }, q) => opt.addParamGroup({ params: [q] }),
    Error,
    [
      "can't optimize a non-leaf Tensor",
    ],
  ),

  // ---- state dicts ------------------------------------------------------------------------------------------------
  onOpt(
    "loadStateDict of an optimizer with another group count",
    adam,
    () => {
      const other = trained(adam).opt.stateDict();
      other.param_groups.push({ params: [] });
      return other;
    },
    ({ opt }, sd) => opt.loadStateDict(sd),
    Error,
    ["2 parameter group(s) but the optimizer has 1"],
  ),
  onOpt(
    "loadStateDict with state of the wrong shape",
    adam,
    () => {
      const sd = trained(adam).opt.stateDict();
      sd.state[1] = { ...sd.state[1], exp_avg: tensor([1, 2, 3, 4, 5]) };
      return sd;
    },
    ({ opt }, sd) => opt.loadStateDict(sd),
    RangeError,
    ['state "exp_avg" of parameter 1 has shape [5]'],
  ),
  onOpt(
    "loadStateDict with a bad lr in a group",
    sgd,
    () => {
      const sd = trained(sgd).opt.stateDict();
      sd.param_groups[0].lr = -5;
      return sd;
    },
    ({ opt }, sd) => opt.loadStateDict(sd),
    RangeError,
    ["invalid lr -5 in parameter group 0 of the state dict"],
  ),
  onOpt(
    "loadStateDict with a string in the state",
    sgd,
    () => {
      const sd = trained(sgd).opt.stateDict();
      sd.state[0] = { momentum_buffer: "zeros" as never };
      return sd;
    },
    ({ opt }, sd) => opt.loadStateDict(sd),
    TypeError,
    ['state "momentum_buffer" of parameter 0 is neither a Tensor nor a number'],
  ),
  onOpt("toDevice to an unknown device", adam, () => null, ({ opt }) => opt.toDevice("tpu"), Error, [
    'no backend is registered for device "tpu"',
  ]),

  badInput({
    name: "Adagrad with a negative lrDecay",
    setup: () => trained(sgd),
    act: ({ ps }) => new Adagrad(ps, { lrDecay: -1 }),
    error: RangeError,
    words: ["Adagrad: invalid lrDecay -1 in options (expected a finite number >= 0)"],
    state: optState,
  }),
  // ---- schedulers -------------------------------------------------------------------------------------------------
  badInput({
    name: "OneCycleLR stepped past its total leaves the scheduler and the optimizer as they were",
    setup: () => {
      const { ps, opt } = trained(sgd);
      const sched = new OneCycleLR(opt, 0.5, { totalSteps: 3 });
      for (let i = 0; i < 3; i++) sched.step();
      return { ps, opt, sched };
    },
    act: ({ sched }) => sched.step(),
    error: Error,
    words: ["OneCycleLR: tried to step 4 times", "totalSteps 3"],
    state: ({ ps, opt, sched }) => [optState({ ps, opt }), sched.stateDict(), sched.getLastLr()],
  }),
  badInput({
    name: "a scheduler state dict whose _last_lr is not a list",
    setup: () => {
      const { ps, opt } = trained(sgd);
      const sched = new StepLR(opt, 2);
      sched.step();
      return { ps, opt, sched, sd: { ...sched.stateDict(), last_epoch: 7, _last_lr: 0.1 } };
    },
    act: ({ sched, sd }) => sched.loadStateDict(sd),
    error: TypeError,
    words: ["StepLR.loadStateDict: base_lrs and _last_lr must be arrays of 1 numbers"],
    state: ({ ps, opt, sched }) => [optState({ ps, opt }), sched.stateDict(), sched.getLastLr()],
  }),
  badInput({
    name: "a scheduler state dict with a fractional last_epoch",
    setup: () => {
      const { ps, opt } = trained(sgd);
      const sched = new StepLR(opt, 2);
      return { ps, opt, sched, sd: { ...sched.stateDict(), last_epoch: 2.5 } };
    },
    act: ({ sched, sd }) => sched.loadStateDict(sd),
    error: TypeError,
    words: ["last_epoch must be an integer >= -1"],
    state: ({ ps, opt, sched }) => [optState({ ps, opt }), sched.stateDict()],
  }),
  badInput({
    name: "StepLR with stepSize 0 does not record initialLr",
    setup: () => trained(sgd),
    act: ({ opt }) => new StepLR(opt, 0),
    error: RangeError,
    words: ["StepLR: stepSize must be a positive integer, got 0"],
    state: optState,
  }),
  badInput({
    name: "LambdaLR with more functions than parameter groups records no initial_lr",
    setup: () => trained(sgd),
    act: ({ opt }) => new LambdaLR(opt, [(e: number) => e, (e: number) => e]),
    error: TypeError,
    words: ["LambdaLR: expected a function or 1 functions (one per parameter group), got 2 values"],
    state: optState,
  }),
  badInput({
    name: "ReduceLROnPlateau with factor ≥ 1",
    setup: () => trained(sgd),
    act: ({ opt }) => new ReduceLROnPlateau(opt, { factor: 1.5 }),
    error: RangeError,
    words: ["ReduceLROnPlateau: factor must be in [0, 1), got 1.5"],
    state: optState,
  }),
  badInput({
    name: "ReduceLROnPlateau with an unknown mode",
    setup: () => trained(sgd),
    act: ({ opt }) => new ReduceLROnPlateau(opt, { mode: "up" as never }),
    error: RangeError,
    words: ['ReduceLROnPlateau: mode must be "min" or "max", got up'],
    state: optState,
  }),
  badInput({
    name: "ReduceLROnPlateau.loadStateDict for another number of groups changes nothing",
    setup: () => {
      const { ps, opt } = trained(sgd);
      const sched = new ReduceLROnPlateau(opt, { patience: 0 });
      sched.step(1);
      sched.step(2);
      return { ps, opt, sched, sd: { ...sched.stateDict(), min_lrs: [0, 0], factor: 0.5 } };
    },
    act: ({ sched, sd }) => sched.loadStateDict(sd),
    error: Error,
    words: ["ReduceLROnPlateau.loadStateDict: the state dict has 2 min_lrs but the optimizer has 1 parameter group(s)"],
    state: ({ ps, opt, sched }) => [optState({ ps, opt }), sched.stateDict()],
  }),

  // ---- clipping ---------------------------------------------------------------------------------------------------
  badInput({
    name: "clipGradNorm with normType 0",
    setup: () => trained(sgd),
    act: ({ ps }) => clipGradNorm(ps, 1, 0),
    error: RangeError,
    words: ["clipGradNorm: normType must be a number > 0"],
    state: optState,
  }),
  badInput({
    name: "clipGradNorm with errorIfNonfinite over a NaN gradient scales nothing",
    setup: () => {
      const f = trained(sgd);
      f.ps[0].grad = tensor([NaN, 1, 1]);
      return f;
    },
    act: ({ ps }) => clipGradNorm(ps, 1, 2, { errorIfNonfinite: true }),
    error: Error,
    words: ["clipGradNorm: the total norm of order 2 of the gradients is NaN"],
    state: optState,
  }),
  badInput({
    name: "clipGradValue with a negative bound",
    setup: () => trained(sgd),
    act: ({ ps }) => clipGradValue(ps, -1),
    error: RangeError,
    words: ["clipGradValue: clipValue must be a number >= 0, got -1"],
    state: optState,
  }),
  // ---- LBFGS ------------------------------------------------------------------------------------------------------
  badInput({
    name: "LBFGS.step without a closure",
    setup: () => {
      const ps = [tensor([1, 2]).requiresGrad_()];
      ps[0].grad = tensor([0.5, -1]);
      return { ps, opt: new LBFGS(ps) };
    },
    act: ({ opt }) => (opt.step as () => unknown)(),
    error: TypeError,
    words: ["LBFGS.step: a closure is required", "returns the loss"],
    state: (f) => optState(f),
  }),
  badInput({
    name: "LBFGS over two parameter groups",
    setup: () => [tensor([1, 2]).requiresGrad_(), tensor([3]).requiresGrad_()],
    act: ([a, b]) => new LBFGS([{ params: [a] }, { params: [b], lr: 0.5 }]),
    error: Error,
    words: ["LBFGS: doesn't support per-parameter options (parameter groups)"],
    state: (ps) => ps,
  }),
]);
