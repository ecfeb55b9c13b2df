import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { data, manualSeed, nn, noGrad, onnx, randn, type Tensor, tensor, utils } from "../mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "@dendrite/onnx/testing";
import { dcganInit, discriminator, generator, trainGan } from "./gan.ts";
import { updateBatchNorm } from "./generative.ts";

Deno.test("DCGAN shapes: noise [N, 64] → images [N, 1, 28, 28] in (−1, 1) → one logit each; DCGAN init", async () => {
  manualSeed(0);
  const g = generator(64, 8), d = discriminator(8);
  dcganInit(g);
  const x = noGrad(() => g.forward(randn([3, 64])));
  deepStrictEqual(x.shape, [3, 1, 28, 28]);
  ok((await x.abs().max().item()) < 1);
  deepStrictEqual(noGrad(() => d.forward(x) as Tensor).shape, [3, 1]);
  const first = [...g.modules()].find((m) => m instanceof nn.ConvTranspose2d) as nn.ConvTranspose2d;
  const w = await first.weight.std().item();
  ok(Math.abs(w - 0.02) < 0.005, `generator weights std ${w}`);
});

Deno.test("DCGAN: a short run teaches the discriminator real from fake and moves the samples' brightness towards the digits'", async () => {
  const mnist = await data.loadMnist();
  const realMean = await mnist.train.images.mean().item(); // ~0.13: digits are mostly black
  const dir = await Deno.makeTempDir();
  const record = new utils.History({ csv: `${dir}/metrics.csv` });
  try {
    const { g, history } = await trainGan({
      epochs: 1,
      maxBatches: 30,
      batchSize: 32,
      width: 8,
      lr: 1e-3,
      progress: { disable: true },
      history: record,
      out: (name) => `${dir}/${name}`,
    });
    // An untrained generator's tanh outputs sit near 0, i.e. grey (0.5) in [0, 1].
    manualSeed(5);
    const fresh = generator(64, 8);
    dcganInit(fresh);
    fresh.eval();
    const before = await noGrad(() => fresh.forward(randn([64, 64])).add(1).mul(0.5).mean()).item();
    const after = await noGrad(() => g.forward(randn([64, 64])).add(1).mul(0.5).mean()).item();
    ok(
      Math.abs(after - realMean) < 0.85 * Math.abs(before - realMean),
      `mean brightness ${before.toFixed(3)} → ${after.toFixed(3)} (real digits ${realMean.toFixed(3)})`,
    );
    ok(history[0].dReal > 0.6 && history[0].dFake < 0.4, `D(x) ${history[0].dReal}, D(G(z)) ${history[0].dFake}`);
    ok((await Deno.stat(`${dir}/gan_epoch_01.png`)).size > 1000, "the epoch's sample grid");
    const csv = (await Deno.readTextFile(`${dir}/metrics.csv`)).trim().split("\n");
    deepStrictEqual(csv[0], "epoch,lossD,lossG,dReal,dFake,seconds");
    deepStrictEqual(Number(csv[1].split(",")[3]), history[0].dReal);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DCGAN generator exports to ONNX (Linear, Unflatten, BatchNorm, ConvTranspose2d, Tanh): ONNX Runtime agrees at another batch", async () => {
  manualSeed(5);
  const g = generator(16, 8);
  dcganInit(g);
  // Running statistics away from 0 and 1, so eval-mode batch norm is really exercised.
  noGrad(() => {
    for (const m of g.modules()) {
      if (m instanceof nn.BatchNorm2d) {
        m.runningMean!.copy_(randn([m.numFeatures]).mul(0.1));
        m.runningVar!.copy_(randn([m.numFeatures]).abs().add(0.5));
      }
    }
  });
  const bytes = await onnx.exportBytes(g, randn([2, 16]), {
    inputNames: ["z"],
    outputNames: ["images"],
    dynamicAxes: { z: { 0: "batch" }, images: { 0: "batch" } },
    opsetVersion: 13,
  });
  await onnxCheck(bytes);
  const ops = new Set(onnx.decodeModel(bytes).graph.node.map((n) => n.op_type));
  ok(ops.has("ConvTranspose") && ops.has("BatchNormalization"), [...ops].join(", "));
  g.eval();
  const session = await loadOrt(bytes);
  try {
    for (const n of [2, 5]) {
      const z = randn([n, 16]);
      const ours = noGrad(() => g.forward(z) as Tensor);
      const { images } = await session.run({ z });
      deepStrictEqual(images.dims, [n, 1, 28, 28]);
      const diff = maxAbsDiff(await ours.data(), images.data);
      ok(diff <= 1e-4, `batch ${n}: ONNX Runtime differs by ${diff}`);
    }
  } finally {
    await session.release();
  }
});

Deno.test("updateBatchNorm: running statistics become the batches' average per-channel mean and unbiased variance, layer by layer in training mode", async () => {
  manualSeed(3);
  const first = new nn.BatchNorm2d(2), second = new nn.BatchNorm2d(2);
  const model = new nn.Sequential(first, new nn.ReLU(), second);
  noGrad(() => {
    first.weight!.copy_(tensor([1.5, 0.5]));
    first.bias!.copy_(tensor([0.2, -0.3]));
  });
  const batches = [randn([3, 2, 2, 2]).mul(2).add(1), randn([3, 2, 2, 2]).sub(0.5)];
  // The same statistics by direct loops over [N, C, H, W] = [3, 2, 2, 2] in float64.
  const stats = (v: ArrayLike<number>, c: number) => {
    const xs = [0, 1, 2].flatMap((n) => [0, 1, 2, 3].map((k) => v[n * 8 + c * 4 + k]));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
    return { mean, biased: ss / xs.length, unbiased: ss / (xs.length - 1) };
  };
  const expected = { m1: [0, 0], v1: [0, 0], m2: [0, 0], v2: [0, 0] };
  for (const b of batches) {
    const x = await b.data();
    const h = Array.from(x);
    for (let c = 0; c < 2; c++) {
      const s = stats(x, c);
      expected.m1[c] += s.mean / 2, expected.v1[c] += s.unbiased / 2;
      const [g, beta] = [[1.5, 0.5][c], [0.2, -0.3][c]];
      for (let n = 0; n < 3; n++) {
        for (let k = 0; k < 4; k++) {
          const i = n * 8 + c * 4 + k;
          h[i] = Math.max(0, g * (x[i] - s.mean) / Math.sqrt(s.biased + 1e-5) + beta);
        }
      }
    }
    for (let c = 0; c < 2; c++) {
      const s = stats(h, c);
      expected.m2[c] += s.mean / 2, expected.v2[c] += s.unbiased / 2;
    }
  }
  model.train();
  updateBatchNorm(model, batches);
  ok(!model.training && !first.training, "left in eval mode");
  const close = async (t: Tensor, want: number[], what: string) => {
    const got = Array.from(await t.data());
    ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-4 * (1 + Math.abs(want[i]))), `${what}: ${got} vs ${want}`);
  };
  await close(first.runningMean!, expected.m1, "first mean");
  await close(first.runningVar!, expected.v1, "first variance");
  await close(second.runningMean!, expected.m2, "second mean");
  await close(second.runningVar!, expected.v2, "second variance");
  throws(() => updateBatchNorm(model, []), /updateBatchNorm: expected at least one batch/);
});
