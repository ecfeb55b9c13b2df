import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { data, Generator, manualSeed, nn, noGrad, onnx, randn, type Tensor, tensor, utils } from "../mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "@dendrite/onnx/testing";
import {
  conditionalInput,
  dcganInit,
  diffAugment,
  discriminator,
  generator,
  noiseInput,
  ProjectionDiscriminator,
  trainGan,
} from "./gan.ts";
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
      conditional: false,
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

Deno.test("diffAugment: each image shifted by its own draw with background (−1) filling in, a half-side square cut out; gradients flow to the kept pixels", async () => {
  // Draws in order per image: dy, dx (floor(r·7) − 3), cutout corner cy, cx (floor(r·(4 + 2)) − 2).
  const draws = [4.5 / 7, 1.5 / 7, 0.99, 0.99, 3.5 / 7, 3.5 / 7, 2.5 / 6, 1.5 / 6];
  let k = 0;
  const random = () => draws[k++];
  const values = Array.from({ length: 32 }, (_, i) => i / 32 - 0.4);
  const x = tensor(values).reshape([2, 1, 4, 4]).requiresGrad_();
  const out = diffAugment(x, { shift: 3, cutout: true, random });
  const got = Array.from(await out.data());
  // Direct loops: image 0 moves by (dy, dx) = (1, −2) and loses the square at rows 3–4, cols 3–4 (only (3, 3) is on it);
  // image 1 is not moved and loses the 2×2 square at rows 0–1, cols −1–0.
  const want: number[] = [];
  for (let n = 0; n < 2; n++) {
    const [dy, dx, cy, cx] = n === 0 ? [1, -2, 3, 3] : [0, 0, 0, -1];
    for (let y = 0; y < 4; y++) {
      for (let c = 0; c < 4; c++) {
        const sy = y + dy, sx = c + dx;
        const cut = y >= cy && y < cy + 2 && c >= cx && c < cx + 2;
        want.push(!cut && sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? values[n * 16 + sy * 4 + sx] : -1);
      }
    }
  }
  ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-6), `${got}\nvs ${want}`);
  out.sum().backward();
  const grad = Array.from(await x.grad!.data());
  // Each source pixel's gradient counts the output pixels that copy it: image 1 keeps all but (0, 0) and (1, 0).
  deepStrictEqual(grad.slice(16), [0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  deepStrictEqual(grad.slice(0, 16).reduce((a, b) => a + b, 0), 6, "image 0: rows 1–3 × cols 2–3 reach the output");
  // Seeded draws (the project's Generator, as trainGan uses) repeat the same augmentation.
  const seeded = (seed: number) => {
    const g = new Generator(seed);
    return () => g.random();
  };
  deepStrictEqual(
    await diffAugment(x, { cutout: true, random: seeded(7) }).data(),
    await diffAugment(x, { cutout: true, random: seeded(7) }).data(),
    "seeded draws repeat",
  );
});

Deno.test("SNGAN variant: a short hinge-loss run with a spectrally normalised discriminator (two D steps per G step, its own learning rate) separates real from generated digits", async () => {
  const d = discriminator(8, { spectral: true });
  ok(![...d.modules()].some((m) => m instanceof nn.BatchNorm2d), "no batch norm");
  deepStrictEqual(Object.keys(d.stateDict()).filter((k) => k.endsWith("weight_u")), [
    "0.weight_u",
    "2.weight_u",
    "5.weight_u",
  ]);
  const { history } = await trainGan({
    epochs: 1,
    maxBatches: 30,
    batchSize: 32,
    width: 8,
    loss: "hinge",
    spectral: true,
    conditional: false,
    dSteps: 2,
    lrD: 2e-3,
    augment: true,
    progress: { disable: true },
  });
  // D(x) and D(G(z)) are the sigmoid of the discriminator's scores: hinge training pushes them apart from 0.5.
  ok(history[0].dReal > history[0].dFake + 0.05, `D(x) ${history[0].dReal}, D(G(z)) ${history[0].dFake}`);
  ok(history[0].lossD < 2, `hinge loss of D ${history[0].lossD} (2 when it cannot tell)`);
});

Deno.test("conditional DCGAN (the default): one-hot classes beside the noise; the projection discriminator adds ⟨embed(y), h⟩ to the class-blind score; a short run separates real from fake and brightens the samples towards the digits'", async () => {
  manualSeed(8);
  const input = conditionalInput(randn([3, 4]), tensor([2, 0, 9], { dtype: "int32" }));
  deepStrictEqual(input.shape, [3, 14]);
  deepStrictEqual(
    Array.from(await input.narrow(1, 4, 10).data()).map((v, i) => v === 1 ? i : -1).filter((i) => i >= 0),
    [2, 10, 29],
  );
  const cycled = noiseInput(12, 4, true, "cpu", true);
  deepStrictEqual(Array.from(await cycled.narrow(1, 4, 10).argmax(1).data()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);

  const d = new ProjectionDiscriminator(4);
  dcganInit(d);
  d.eval();
  const x = randn([2, 1, 28, 28]), y = tensor([1, 7], { dtype: "int32" });
  const h = noGrad(() => d.features.forward(x));
  const blind = Array.from(await noGrad(() => d.head.forward(h)).data());
  const hv = Array.from(await h.data()), e = Array.from(await d.embed.weight.data()), f = h.shape[1];
  const want = [0, 1].map((n) =>
    blind[n] + hv.slice(n * f, (n + 1) * f).reduce((a, v, j) => a + v * e[[1, 7][n] * f + j], 0)
  );
  const got = Array.from(await noGrad(() => d.forward(x, y)).data());
  ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-4 * (1 + Math.abs(want[i]))), `${got} vs ${want}`);

  const { g, history } = await trainGan({
    epochs: 1,
    maxBatches: 30,
    batchSize: 32,
    width: 8,
    progress: { disable: true },
  });
  deepStrictEqual(noGrad(() => g.forward(noiseInput(5, 64, true)) as Tensor).shape, [5, 1, 28, 28]);
  ok(history[0].dReal > history[0].dFake + 0.2, `D(x) ${history[0].dReal}, D(G(z)) ${history[0].dFake}`);
  // As for the unconditional run: the samples' mean brightness moves from an untrained generator's grey towards the digits'.
  const realMean = await (await data.loadMnist()).train.images.mean().item();
  manualSeed(5);
  const fresh = generator(74, 8);
  dcganInit(fresh);
  fresh.eval();
  const brightness = (net: nn.Module) =>
    noGrad(() => (net.forward(noiseInput(64, 64, true)) as Tensor).add(1).mul(0.5).mean()).item();
  const before = await brightness(fresh), after = await brightness(g);
  ok(
    Math.abs(after - realMean) < 0.85 * Math.abs(before - realMean),
    `mean brightness ${before.toFixed(3)} → ${after.toFixed(3)} (real digits ${realMean.toFixed(3)})`,
  );
});
