import { deepEqual, equal, throws } from "node:assert/strict";
import { tensor } from "@dendrite/tensor";
import { Optimizer, type ParamGroup } from "./optimizer.ts";
import { SGD } from "./sgd.ts";
import { Adam } from "./adam.ts";
import {
  CosineAnnealingLR,
  ExponentialLR,
  LinearLR,
  type LRScheduler,
  MultiStepLR,
  OneCycleLR,
  StepLR,
} from "./lr_scheduler.ts";
import { assertClose } from "./_testing.ts";

/** An SGD optimizer with two groups, lr 0.1 and 0.02. */
function twoGroupSGD(momentum = 0): SGD {
  const a = tensor([1, 2]).requiresGrad_();
  const b = tensor([3]).requiresGrad_();
  return new SGD([{ params: [a] }, { params: [b], lr: 0.02 }], { lr: 0.1, momentum });
}

/** The lr of every group after construction (epoch 0) and after each of `epochs` steps. */
function lrSequence(opt: Optimizer, sched: LRScheduler, epochs: number): number[][] {
  const out = [opt.paramGroups.map((g) => g.lr)];
  deepEqual(sched.getLastLr(), out[0]);
  for (let e = 1; e <= epochs; e++) {
    opt.step();
    sched.step();
    out.push(opt.paramGroups.map((g) => g.lr));
    deepEqual(sched.getLastLr(), out[e], `getLastLr at epoch ${e}`);
  }
  return out;
}

function expectSequence(actual: number[][], expected: (base: number, epoch: number) => number, label: string) {
  const bases = [0.1, 0.02];
  actual.forEach((lrs, e) => assertClose(lrs, bases.map((b) => expected(b, e)), `${label} epoch ${e}`, 1e-15, 1e-12));
}

Deno.test("StepLR: lr = base · gamma^floor(epoch / stepSize)", () => {
  const opt = twoGroupSGD();
  const seq = lrSequence(opt, new StepLR(opt, 3, { gamma: 0.5 }), 10);
  expectSequence(seq, (b, e) => b * 0.5 ** Math.floor(e / 3), "StepLR");
  assertClose(seq[3], [0.05, 0.01], "hand-worked epoch 3");
});

Deno.test("MultiStepLR: lr = base · gamma^(milestones passed), a repeated milestone counts twice", () => {
  const opt = twoGroupSGD();
  const seq = lrSequence(opt, new MultiStepLR(opt, [5, 2, 5], { gamma: 0.1 }), 8);
  expectSequence(seq, (b, e) => b * 0.1 ** (e >= 5 ? 3 : e >= 2 ? 1 : 0), "MultiStepLR");
  assertClose(seq[4], [0.01, 0.002], "hand-worked epoch 4");
});

Deno.test("ExponentialLR: lr = base · gamma^epoch", () => {
  const opt = twoGroupSGD();
  const seq = lrSequence(opt, new ExponentialLR(opt, 0.9), 8);
  expectSequence(seq, (b, e) => b * 0.9 ** e, "ExponentialLR");
  assertClose(seq[2], [0.081, 0.0162], "hand-worked epoch 2");
});

Deno.test("CosineAnnealingLR: follows etaMin + (base − etaMin)(1 + cos(π e / tMax)) / 2, past tMax too", () => {
  const opt = twoGroupSGD();
  const etaMin = 0.001;
  const seq = lrSequence(opt, new CosineAnnealingLR(opt, 5, { etaMin }), 17);
  expectSequence(seq, (b, e) => etaMin + (b - etaMin) * (1 + Math.cos(Math.PI * e / 5)) / 2, "CosineAnnealingLR");
  assertClose(seq[5], [etaMin, etaMin], "minimum at tMax");
  assertClose(seq[10], [0.1, 0.02], "back at base after 2·tMax");
});

Deno.test("LinearLR: factor moves linearly from startFactor to endFactor over totalIters, then stays", () => {
  const opt = twoGroupSGD();
  const seq = lrSequence(opt, new LinearLR(opt, { startFactor: 0.25, endFactor: 1, totalIters: 4 }), 7);
  expectSequence(seq, (b, e) => b * (0.25 + 0.75 * Math.min(e, 4) / 4), "LinearLR");
  assertClose(seq.map((l) => l[0]), [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1, 0.1], "hand-worked");
  const decay = twoGroupSGD();
  const down = lrSequence(decay, new LinearLR(decay, { startFactor: 1, endFactor: 0.5, totalIters: 2 }), 3);
  assertClose(down.map((l) => l[0]), [0.1, 0.075, 0.05, 0.05], "decay");
  const dflt = twoGroupSGD();
  const d = lrSequence(dflt, new LinearLR(dflt), 6);
  assertClose(
    d.map((l) => l[0]),
    [0, 1, 2, 3, 4, 5, 5].map((e) => 0.1 * (1 / 3 + (2 / 3) * Math.min(e, 5) / 5)),
    "defaults",
  );
});

/** The 1cycle schedule written from its description: cosine from `a` to `b` as pct goes 0 → 1. */
const cosAnneal = (a: number, b: number, pct: number) => b + (a - b) / 2 * (1 + Math.cos(Math.PI * pct));

Deno.test("OneCycleLR: two-phase cosine schedule of lr and SGD momentum with PyTorch's defaults", () => {
  const opt = twoGroupSGD(0.9);
  const total = 10;
  const sched = new OneCycleLR(opt, [1, 0.5], { totalSteps: total });
  const seq = lrSequence(opt, sched, total - 1);
  const momenta: number[] = [];
  // Re-run to record momentum per step.
  const opt2 = twoGroupSGD(0.9);
  const sched2 = new OneCycleLR(opt2, [1, 0.5], { totalSteps: total });
  momenta.push(opt2.paramGroups[0].momentum);
  for (let s = 1; s < total; s++) {
    sched2.step();
    momenta.push(opt2.paramGroups[0].momentum);
  }
  const peak = 0.3 * total - 1; // the last step of the rising phase
  [1, 0.5].forEach((maxLr, gi) => {
    const initial = maxLr / 25;
    const min = initial / 1e4;
    const expected = seq.map((_, s) =>
      s <= peak ? cosAnneal(initial, maxLr, s / peak) : cosAnneal(maxLr, min, (s - peak) / (total - 1 - peak))
    );
    assertClose(seq.map((l) => l[gi]), expected, `group ${gi} lr`);
    equal(opt.paramGroups[gi].initialLr, initial);
    equal(opt.paramGroups[gi].maxLr, maxLr);
    equal(opt.paramGroups[gi].minLr, min);
  });
  // Hand-worked landmarks: start at maxLr/25, peak at maxLr, end at maxLr/25/1e4.
  assertClose([seq[0][0], seq[2][0], seq[9][0]], [0.04, 1, 4e-6], "landmarks", 1e-12, 1e-9);
  const expectedMomentum = momenta.map((_, s) =>
    s <= peak ? cosAnneal(0.95, 0.85, s / peak) : cosAnneal(0.85, 0.95, (s - peak) / (total - 1 - peak))
  );
  assertClose(momenta, expectedMomentum, "momentum");
  assertClose([momenta[0], momenta[2], momenta[9]], [0.95, 0.85, 0.95], "momentum landmarks", 1e-12, 1e-9);
  sched.step(); // PyTorch allows one step past the end (lastEpoch == totalSteps)
  throws(() => sched.step(), /OneCycleLR: tried to step 11 times; the schedule has totalSteps 10/);
});

Deno.test("OneCycleLR: cycles Adam's beta1 (keeping beta2), linear and three-phase variants", () => {
  const w = tensor([1]).requiresGrad_();
  const adam = new Adam([w], { betas: [0.9, 0.99] });
  const sched = new OneCycleLR(adam, 0.01, { epochs: 2, stepsPerEpoch: 5, annealStrategy: "linear", threePhase: true });
  const lrs = [adam.paramGroups[0].lr];
  const betas = [adam.paramGroups[0].betas.slice()];
  for (let s = 1; s < 10; s++) {
    sched.step();
    lrs.push(adam.paramGroups[0].lr);
    betas.push(adam.paramGroups[0].betas.slice());
  }
  // Phases end at steps 2 (up), 4 (down to initial) and 9 (down to min), linearly.
  const lin = (a: number, b: number, pct: number) => a + (b - a) * pct;
  const ends = [0.3 * 10 - 1, 2 * 0.3 * 10 - 2, 9];
  const [i0, mx, mn] = [0.0004, 0.01, 0.0004 / 1e4];
  const expectedLr = lrs.map((_, s) =>
    s <= ends[0]
      ? lin(i0, mx, s / ends[0])
      : s <= ends[1]
      ? lin(mx, i0, (s - ends[0]) / (ends[1] - ends[0]))
      : lin(i0, mn, (s - ends[1]) / (ends[2] - ends[1]))
  );
  assertClose(lrs, expectedLr, "three-phase linear lr");
  const expectedBeta1 = lrs.map((_, s) =>
    s <= ends[0]
      ? lin(0.95, 0.85, s / ends[0])
      : s <= ends[1]
      ? lin(0.85, 0.95, (s - ends[0]) / (ends[1] - ends[0]))
      : 0.95
  );
  assertClose(betas.map((b) => b[0]), expectedBeta1, "beta1");
  deepEqual(new Set(betas.map((b) => b[1])), new Set([0.99]));
});

Deno.test("OneCycleLR: cycleMomentum false leaves momentum alone; bad options are named", () => {
  const opt = twoGroupSGD(0.5);
  new OneCycleLR(opt, 0.1, { totalSteps: 4, cycleMomentum: false });
  equal(opt.paramGroups[0].momentum, 0.5);
  throws(() => new OneCycleLR(twoGroupSGD(), 0.1), /give either totalSteps or both epochs and stepsPerEpoch/);
  throws(() => new OneCycleLR(twoGroupSGD(), 0.1, { totalSteps: 0 }), /totalSteps must be a positive integer, got 0/);
  throws(
    () => new OneCycleLR(twoGroupSGD(), 0.1, { totalSteps: 5, pctStart: 1.5 }),
    /pctStart must be a number in \[0, 1\]/,
  );
  throws(() => new OneCycleLR(twoGroupSGD(), [0.1], { totalSteps: 5 }), /expected 2 values for maxLr/);
  const plain = new NoMomentum([tensor([1]).requiresGrad_()]);
  throws(() => new OneCycleLR(plain, 0.1, { totalSteps: 5 }), /must have momentum or betas/);
  new OneCycleLR(plain, 0.1, { totalSteps: 5, cycleMomentum: false });
});

/** An optimizer without momentum or betas. */
class NoMomentum extends Optimizer {
  constructor(params: Iterable<ReturnType<typeof tensor>>) {
    super("NoMomentum", params, { lr: 0.1 });
  }
  protected updateGroup(_group: ParamGroup): void {}
}

Deno.test("Schedulers: stateDict round-trip continues identically (with the optimizer's state)", () => {
  const makers: [string, (o: SGD) => LRScheduler][] = [
    ["StepLR", (o) => new StepLR(o, 2, { gamma: 0.5 })],
    ["MultiStepLR", (o) => new MultiStepLR(o, [3, 6])],
    ["ExponentialLR", (o) => new ExponentialLR(o, 0.8)],
    ["CosineAnnealingLR", (o) => new CosineAnnealingLR(o, 6, { etaMin: 0.01 })],
    ["LinearLR", (o) => new LinearLR(o, { totalIters: 6 })],
    ["OneCycleLR", (o) => new OneCycleLR(o, 0.5, { totalSteps: 12 })],
  ];
  for (const [name, make] of makers) {
    const opt1 = twoGroupSGD(0.9);
    const s1 = make(opt1);
    for (let i = 0; i < 4; i++) s1.step();
    const opt2 = twoGroupSGD(0.9);
    const s2 = make(opt2);
    opt2.loadStateDict(opt1.stateDict());
    s2.loadStateDict(s1.stateDict());
    deepEqual(s2.getLastLr(), s1.getLastLr(), name);
    equal(s2.lastEpoch, 4, name);
    for (let i = 0; i < 5; i++) {
      s1.step();
      s2.step();
      deepEqual(s2.getLastLr(), s1.getLastLr(), `${name} after ${i + 1} more steps`);
      deepEqual(opt2.paramGroups.map((g) => g.momentum), opt1.paramGroups.map((g) => g.momentum), name);
    }
  }
  const sd = new StepLR(twoGroupSGD(), 3).stateDict();
  deepEqual(Object.keys(sd).sort(), ["_last_lr", "_step_count", "base_lrs", "gamma", "last_epoch", "step_size"]);
  throws(() => new StepLR(twoGroupSGD(), 3).loadStateDict({ last_epoch: 1 }), /missing key\(s\) _step_count/);
});

Deno.test("Schedulers: initialLr is recorded; resuming needs it; bad settings are named", () => {
  const opt = twoGroupSGD();
  const s = new ExponentialLR(opt, 0.5);
  deepEqual(s.baseLrs, [0.1, 0.02]);
  equal(opt.paramGroups[1].initialLr, 0.02);
  throws(() => new StepLR(twoGroupSGD(), 2, { lastEpoch: 3 }), /parameter group 0 has no initialLr/);
  const resumed = new CosineAnnealingLR(opt, 10, { lastEpoch: 4 });
  // Resuming jumps to the closed form at epoch 5.
  assertClose(resumed.getLastLr(), [0.1, 0.02].map((b) => b * (1 + Math.cos(Math.PI * 5 / 10)) / 2), "resumed");
  throws(() => new StepLR(twoGroupSGD(), 0), /StepLR: stepSize must be a positive integer, got 0/);
  throws(() => new CosineAnnealingLR(twoGroupSGD(), 2.5), /tMax must be a positive integer/);
  throws(() => new LinearLR(twoGroupSGD(), { startFactor: 0 }), /LinearLR: startFactor must be in \(0, 1\]/);
  throws(() => new LinearLR(twoGroupSGD(), { endFactor: 2 }), /LinearLR: endFactor must be in \[0, 1\]/);
  throws(() => new ExponentialLR(twoGroupSGD(), NaN), /ExponentialLR: gamma must be a finite number/);
  throws(() => new MultiStepLR(twoGroupSGD(), [1.5]), /milestones must be an array of integers/);
});
