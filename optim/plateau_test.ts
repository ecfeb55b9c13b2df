import { deepEqual, equal, throws } from "node:assert/strict";
import { tensor } from "@dendrite/tensor";
import { SGD } from "./sgd.ts";
import { LambdaLR } from "./lr_scheduler.ts";
import { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./plateau.ts";
import { assertClose } from "./_testing.ts";

interface PlateauCase {
  options: ReduceLROnPlateauOptions;
  metrics: number[];
  lrs: number[][];
  state: Record<string, unknown>;
}

// Learning rates from PyTorch 1.13 (testdata/plateau_reference.py).
const reference: { plateau: PlateauCase[]; lambda: { lrs: number[][]; lrLambdas: null[] } } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/plateau_reference.json", import.meta.url)),
);

/** An SGD optimizer with two groups, lr 0.1 and 0.02 (the reference script's). */
function twoGroupSGD(): SGD {
  return new SGD([{ params: [tensor([0, 0]).requiresGrad_()] }, { params: [tensor([0]).requiresGrad_()], lr: 0.02 }], {
    lr: 0.1,
  });
}

const describe = (c: PlateauCase) => JSON.stringify(c.options);

Deno.test("ReduceLROnPlateau: the learning rates PyTorch gives (min/max, rel/abs, patience, cooldown, minLr, eps)", () => {
  for (const c of reference.plateau) {
    const opt = twoGroupSGD();
    const sched = new ReduceLROnPlateau(opt, c.options);
    c.metrics.forEach((m, e) => {
      sched.step(m);
      assertClose(opt.paramGroups.map((g) => g.lr), c.lrs[e], `${describe(c)} epoch ${e + 1}`, 1e-18, 1e-12);
      deepEqual(sched.getLastLr(), opt.paramGroups.map((g) => g.lr));
    });
    // The state dict holds PyTorch's keys and values (PyTorch's ±inf mode_worse was written as null).
    const state = sched.stateDict();
    deepEqual(Object.keys(state).sort(), Object.keys(c.state).sort(), describe(c));
    for (const [k, v] of Object.entries(c.state)) {
      if (k === "mode_worse") equal(Math.abs(state[k] as number), Infinity);
      else if (k === "_last_lr") assertClose(state[k] as number[], v as number[], k, 1e-18, 1e-12);
      else deepEqual(state[k], v, `${describe(c)} ${k}`);
    }
  }
});

Deno.test("ReduceLROnPlateau: a state dict saved mid-run resumes the same schedule", () => {
  const c = reference.plateau[2]; // patience, cooldown and minLr all in play
  const opt = twoGroupSGD();
  const sched = new ReduceLROnPlateau(opt, c.options);
  c.metrics.slice(0, 9).forEach((m) => sched.step(m));
  const saved = structuredClone(sched.stateDict());
  const opt2 = twoGroupSGD();
  opt2.paramGroups.forEach((g, i) => g.lr = opt.paramGroups[i].lr);
  const resumed = new ReduceLROnPlateau(opt2, {});
  resumed.loadStateDict(saved);
  c.metrics.slice(9).forEach((m, k) => {
    resumed.step(m);
    assertClose(opt2.paramGroups.map((g) => g.lr), c.lrs[9 + k], `resumed epoch ${10 + k}`, 1e-18, 1e-12);
  });
  throws(() => resumed.loadStateDict({ factor: 0.5 }), /ReduceLROnPlateau.loadStateDict: missing key\(s\) min_lrs/);
  throws(
    () => new ReduceLROnPlateau(new SGD([tensor([1]).requiresGrad_()], { lr: 1 })).loadStateDict(saved),
    /the state dict has 2 min_lrs but the optimizer has 1 parameter group/,
  );
});

Deno.test("ReduceLROnPlateau: bad options are named before anything changes", () => {
  const opt = twoGroupSGD();
  throws(() => new ReduceLROnPlateau(opt, { factor: 1 }), /ReduceLROnPlateau: factor must be in \[0, 1\), got 1/);
  throws(() => new ReduceLROnPlateau(opt, { mode: "up" as "min" }), /mode must be "min" or "max", got up/);
  throws(() => new ReduceLROnPlateau(opt, { thresholdMode: "x" as "rel" }), /thresholdMode must be "rel" or "abs"/);
  throws(() => new ReduceLROnPlateau(opt, { patience: -1 }), /patience must be an integer ≥ 0, got -1/);
  throws(
    () => new ReduceLROnPlateau(opt, { minLr: [0.1] }),
    /expected 2 minLr values \(one per parameter group\), got 1/,
  );
  throws(() => new ReduceLROnPlateau(opt).step("0.5" as unknown as number), /expected the metric as a number/);
  deepEqual(opt.paramGroups.map((g) => g.lr), [0.1, 0.02]);
});

Deno.test("LambdaLR: lr = initialLr · lambda(epoch), one function per group; PyTorch's rates and state keys", () => {
  const opt = twoGroupSGD();
  const sched = new LambdaLR(opt, [(e) => 0.95 ** e, (e) => Math.min(1, (e + 1) / 4)]);
  const lrs = [opt.paramGroups.map((g) => g.lr)];
  for (let e = 0; e < 8; e++) {
    opt.step();
    sched.step();
    lrs.push(opt.paramGroups.map((g) => g.lr));
  }
  lrs.forEach((l, e) => assertClose(l, reference.lambda.lrs[e], `epoch ${e}`, 1e-18, 1e-12));
  const state = sched.stateDict();
  deepEqual(state.lr_lambdas, reference.lambda.lrLambdas);
  for (const k of ["_last_lr", "_step_count", "base_lrs", "last_epoch", "lr_lambdas"]) equal(k in state, true, k);
  // One function for every group.
  const one = twoGroupSGD();
  new LambdaLR(one, (e) => 1 / (e + 2));
  deepEqual(one.paramGroups.map((g) => g.lr), [0.05, 0.01]);
  throws(() => new LambdaLR(twoGroupSGD(), [(e) => e]), /LambdaLR: expected a function or 2 functions/);
  throws(() => new LambdaLR(twoGroupSGD(), () => NaN), /LambdaLR: lrLambda of group 0 returned NaN at epoch 0/);
});
