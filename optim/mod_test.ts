import { ok } from "node:assert/strict";
import { manualSeed, randn, tensor } from "@dendrite/tensor";
import * as optim from "./mod.ts";

Deno.test("optim: the seed's loop with SGD + momentum and a scheduler makes the loss fall", () => {
  manualSeed(1);
  const params = { w: randn([2, 1]).requiresGrad_(), b: randn([1]).requiresGrad_() };
  // A stand-in for model.parameters(): a generator.
  const parameters = function* () {
    yield params.w;
    yield params.b;
  };
  const opt = new optim.SGD(parameters(), { lr: 0.05, momentum: 0.9 });
  const sched = new optim.StepLR(opt, 50, { gamma: 0.5 });
  const x = tensor([[1, 0], [0, 1], [2, 3], [1, 1]]);
  const y = tensor([[3], [-2], [-4], [0]]);
  const losses: number[] = [];
  for (let i = 0; i < 150; i++) {
    opt.zeroGrad();
    const loss = x.matmul(params.w).add(params.b).sub(y).square().mean();
    loss.backward();
    optim.clipGradNorm(parameters(), 10);
    opt.step();
    sched.step();
    losses.push(loss.dataSync()[0]);
  }
  ok(losses[149] < 1e-3 * losses[0], `loss ${losses[0]} -> ${losses[149]}`);
});
