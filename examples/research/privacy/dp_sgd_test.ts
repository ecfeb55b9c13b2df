import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { Generator, manualSeed, nn, optim, randint, randn, type Tensor, tidy } from "../../../mod.ts";
import { DPSGD, poissonBatch } from "./dp_sgd.ts";

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(6, 5), new nn.ReLU(), new nn.Linear(5, 3));
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data() as ArrayLike<number>);
}

function near(a: number[], b: number[], tol: number, what: string): void {
  deepStrictEqual(a.length, b.length);
  a.forEach((v, i) => ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`));
}

Deno.test("DPSGD: clipped per-sample sums from one backward pass equal clipping each sample's own gradient", async () => {
  manualSeed(3);
  const model = mlp();
  const x = randn([7, 6]).mul(2), y = randint(0, 3, [7]);
  const C = 0.8;
  const dp = new DPSGD(model, new optim.SGD(model.parameters(), { lr: 0.1 }), {
    maxGradNorm: C,
    noiseMultiplier: 1,
    expectedBatchSize: 7,
  });
  const { sums, norms } = dp.clippedSum(() => nn.functional.crossEntropy(model.forward(x), y, { reduction: "sum" }));
  // Independently: microbatches of one, each sample's full gradient by autograd, its norm, clipped, summed.
  const params = [...model.parameters()];
  const expected = params.map((p) => new Array<number>(p.numel()).fill(0));
  const expectedNorms: number[] = [];
  for (let i = 0; i < 7; i++) {
    for (const p of params) p.grad = null;
    tidy(() => nn.functional.crossEntropy(model.forward(x.narrow(0, i, 1)), y.narrow(0, i, 1)).backward());
    const grads = await Promise.all(params.map((p) => values(p.grad!)));
    const norm = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    expectedNorms.push(norm);
    const c = Math.min(1, C / (norm + 1e-6));
    grads.forEach((g, k) => g.forEach((v, j) => (expected[k][j] += c * v)));
  }
  near(await values(norms), expectedNorms, 1e-4, "norm");
  ok(expectedNorms.some((n) => n > C) && expectedNorms.some((n) => n < C), "some samples clipped, some not");
  for (let k = 0; k < params.length; k++) near(await values(sums[k]), expected[k], 1e-4, `param ${k}`);
  for (const s of [...sums, norms]) s.dispose();
});

Deno.test("DPSGD.step: without noise and with a loose bound it is SGD on the summed loss over the expected batch", async () => {
  manualSeed(5);
  const a = mlp(), b = mlp();
  b.loadStateDict(a.stateDict());
  const x = randn([4, 6]), y = randint(0, 3, [4]);
  const dp = new DPSGD(a, new optim.SGD(a.parameters(), { lr: 0.5 }), {
    maxGradNorm: 1e6,
    noiseMultiplier: 0,
    expectedBatchSize: 8,
  });
  const info = await dp.step(x, y, (out, t) => nn.functional.crossEntropy(out, t, { reduction: "sum" }));
  deepStrictEqual([info.batchSize, info.clipped], [4, 0]);
  const opt = new optim.SGD(b.parameters(), { lr: 0.5 });
  tidy(() => nn.functional.crossEntropy(b.forward(x), y, { reduction: "sum" }).div(8).backward());
  opt.step();
  const pa = [...a.parameters()], pb = [...b.parameters()];
  for (let k = 0; k < pa.length; k++) near(await values(pa[k]), await values(pb[k]), 1e-5, `param ${k}`);
});

Deno.test("DPSGD.step: the noise has standard deviation σC / L, and an empty batch is noise alone", async () => {
  manualSeed(1);
  const layer = new nn.Linear(50, 40);
  const model = new nn.Sequential(layer);
  const before = await values(layer.weight);
  const dp = new DPSGD(model, new optim.SGD(model.parameters(), { lr: 1 }), {
    maxGradNorm: 2,
    noiseMultiplier: 1.5,
    expectedBatchSize: 10,
    generator: new Generator(9),
  });
  const info = await dp.step(randn([0, 50]), randint(0, 40, [0]), (o, t) => nn.functional.crossEntropy(o, t));
  deepStrictEqual(info.batchSize, 0);
  const after = await values(layer.weight);
  const d = after.map((v, i) => v - before[i]);
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length);
  // 2,000 draws: the sample sd is within a few percent of 1.5 · 2 / 10 = 0.3.
  ok(Math.abs(sd - 0.3) < 0.02 && Math.abs(mean) < 0.02, `sd ${sd}, mean ${mean}`);
});

Deno.test("DPSGD: bad models and options are refused; poissonBatch samples at rate q", () => {
  const conv = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Flatten(), new nn.Linear(2, 2));
  const opt = new optim.SGD(conv.parameters(), { lr: 1 });
  throws(
    () => new DPSGD(conv, opt, { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 1 }),
    /nn.Linear layers only; these parameters belong to other modules: 0.weight, 0.bias/,
  );
  const m = mlp(), o = new optim.SGD(m.parameters(), { lr: 1 });
  throws(
    () => new DPSGD(m, o, { maxGradNorm: 0, noiseMultiplier: 1, expectedBatchSize: 1 }),
    /maxGradNorm must be positive, got 0/,
  );
  throws(
    () => new DPSGD(m, o, { maxGradNorm: 1, noiseMultiplier: -1, expectedBatchSize: 1 }),
    /noiseMultiplier must be non-negative/,
  );
  const sizes = Array.from({ length: 20 }, (_, s) => poissonBatch(1000, 0.05, new Generator(s)).length);
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  ok(Math.abs(mean - 50) < 5 && new Set(sizes).size > 3, `mean batch ${mean}`);
  throws(() => poissonBatch(10, 1.5, new Generator(0)), /q must be in \[0, 1\], got 1.5/);
});
