import { ok, rejects } from "node:assert/strict";
import { Generator, manualSeed, nn, rand, tensor } from "../../mod.ts";
import { deletionCurve, integratedGradients, randomRanking, saliency, smoothGrad } from "./attribution.ts";

manualSeed(5);

Deno.test("saliency of a linear model is |W[target]| per pixel", () => {
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(9, 3)).eval();
  const x = rand([2, 1, 3, 3]), target = tensor([2, 0], { dtype: "int32" });
  const s = saliency(model, x, target).dataSync();
  const w = (model.at(1) as nn.Linear).weight.dataSync();
  for (const [i, c] of [2, 0].entries()) {
    for (let p = 0; p < 9; p++) ok(Math.abs(s[i * 9 + p] - Math.abs(w[c * 9 + p])) < 1e-6, `image ${i} pixel ${p}`);
  }
  // SmoothGrad of a linear model: the same map, whatever the noise.
  const sg = smoothGrad(model, x, target, { samples: 3, generator: new Generator(1) }).dataSync();
  for (let k = 0; k < sg.length; k++) ok(Math.abs(sg[k] - s[k]) < 1e-6);
});

Deno.test("integrated gradients are complete: they add up to f(x) − f(baseline)", () => {
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 8), new nn.Tanh(), new nn.Linear(8, 3)).eval();
  const x = rand([3, 1, 4, 4]), target = tensor([0, 1, 2], { dtype: "int32" });
  const ig = integratedGradients(model, x, target, { steps: 64 });
  const sums = ig.sum([1, 2, 3]).dataSync();
  const fx = model.forward(x).gather(1, target.reshape([-1, 1])).dataSync();
  const f0 = model.forward(x.mul(0)).gather(1, target.reshape([-1, 1])).dataSync();
  for (let i = 0; i < 3; i++) {
    const want = fx[i] - f0[i];
    ok(Math.abs(sums[i] - want) < 1e-3 * (1 + Math.abs(want)), `image ${i}: Σ IG ${sums[i]}, f(x) − f(0) ${want}`);
  }
});

Deno.test("deletion: removing the pixels a linear 'brightness' model uses first beats random order", async () => {
  // Logit 1 is the image's total brightness, logit 0 a constant: deleting bright pixels first drops p(1) fastest.
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 2)).eval();
  const lin = model.at(1) as nn.Linear;
  lin.weight.detach().copy_(tensor([Array(16).fill(0), Array(16).fill(3)]));
  lin.bias!.detach().copy_(tensor([12, 0]));
  const x = rand([4, 1, 4, 4]), target = tensor([1, 1, 1, 1], { dtype: "int32" });
  const byValue = await deletionCurve(model, x, target, x.reshape([4, 4, 4]), { steps: 8 });
  const random = await deletionCurve(model, x, target, randomRanking(4, 4, 4, new Generator(2)), { steps: 8 });
  ok(byValue.probs[0] === random.probs[0] && byValue.probs.at(-1) === random.probs.at(-1), "same ends");
  for (let j = 1; j < byValue.probs.length; j++) ok(byValue.probs[j] <= byValue.probs[j - 1] + 1e-6, "monotone");
  ok(byValue.area < random.area, `area ${byValue.area} vs random ${random.area}`);
});

Deno.test("deletion writes the per-channel baseline: deleting pixels already at it changes nothing", async () => {
  // Logit 1 reads every channel of every pixel; an image whose pixels all equal the baseline [0.2, -1, 3] keeps its
  // probability however many are deleted, while deleting them to 0 moves it.
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 2)).eval();
  const lin = model.at(1) as nn.Linear;
  lin.weight.detach().copy_(tensor([Array(12).fill(0), Array.from({ length: 12 }, (_, i) => (i % 3) + 1)]));
  lin.bias!.detach().zero_();
  const baseline = [0.2, -1, 3];
  const x = tensor(baseline).reshape([1, 3, 1, 1]).expand([2, 3, 2, 2]).contiguous();
  const target = tensor([1, 1], { dtype: "int32" });
  const ranking = randomRanking(2, 2, 2, new Generator(3));
  const kept = await deletionCurve(model, x, target, ranking, { steps: 4, baseline });
  for (const p of kept.probs) ok(Math.abs(p - kept.probs[0]) < 1e-6, `flat: ${kept.probs}`);
  const zeroed = await deletionCurve(model, x, target, ranking, { steps: 4 });
  ok(Math.abs(zeroed.probs.at(-1)! - zeroed.probs[0]) > 0.1, `deleting to 0 moves it: ${zeroed.probs}`);
  await rejects(
    () => deletionCurve(model, x, target, ranking, { baseline: [0, 0] }),
    /deletionCurve: baseline has 2 values for an input of 3 channels \[2,3,2,2\]/,
  );
});
