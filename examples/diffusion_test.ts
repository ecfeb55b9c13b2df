import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { full, manualSeed, noGrad, onnx, randint, randn, type Tensor, tensor, utils, where } from "../mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "@dendrite/onnx/testing";
import { balancedLabels } from "./generative.ts";
import {
  guided,
  main,
  type NoisePredictor,
  sampleDdim,
  sampleDdpm,
  samplerSteps,
  Schedule,
  timeEmbedding,
  trainDiffusion,
  UNet,
  USAGE,
} from "./diffusion.ts";

Deno.test("Schedule: the cosine schedule's ᾱ falls from ~1 to ~0; noisy() mixes as √ᾱ·x0 + √(1−ᾱ)·ε", async () => {
  const s = new Schedule(100);
  ok(s.alphaBars[0] > 0.999 && s.alphaBars[99] < 1e-3, `${s.alphaBars[0]} … ${s.alphaBars[99]}`);
  for (let t = 1; t < 100; t++) ok(s.alphaBars[t] < s.alphaBars[t - 1]);
  const x0 = full([2, 1, 28, 28], 0.5), eps = full([2, 1, 28, 28], -1);
  const xt = await s.noisy(x0, tensor([10, 90], { dtype: "int32" }), eps).data();
  for (const [i, t] of [[0, 10], [1, 90]]) {
    const e = 0.5 * Math.sqrt(s.alphaBars[t]) - Math.sqrt(1 - s.alphaBars[t]);
    ok(Math.abs(xt[i * 784] - e) < 1e-5, `t=${t}: ${xt[i * 784]} vs ${e}`);
  }
  const emb = await timeEmbedding(tensor([0, 5], { dtype: "int32" }), 8).tolist() as number[][];
  deepStrictEqual(emb[0], [0, 0, 0, 0, 1, 1, 1, 1]);
  ok(Math.abs(emb[1][0] - Math.sin(5)) < 1e-6 && Math.abs(emb[1][5] - Math.cos(5 / 10)) < 1e-6);
});

Deno.test("samplerSteps: k evenly spaced, strictly decreasing steps from T − 1; all T for k = T; bad k refused", () => {
  const s = new Schedule(400);
  deepStrictEqual(samplerSteps(s, 400), Array.from({ length: 400 }, (_, i) => 399 - i));
  deepStrictEqual(samplerSteps(s, 4), [399, 299, 199, 99]);
  const k25 = samplerSteps(s, 25);
  ok(k25.length === 25 && k25[0] === 399 && k25.every((t, i) => i === 0 || t < k25[i - 1]), `${k25}`);
  for (const k of [0, 401, 2.5]) throws(() => samplerSteps(s, k), /steps must be an integer in \[1, 400\]/);
});

/**
 * The exact noise predictor of a data set of two constant images, −0.5 and +0.5: ε̂ = (x_t − √ᾱ·E[x0 | x_t])/√(1 − ᾱ),
 * with E[x0 | x_t] weighting the two images by their Gaussian likelihoods.
 */
function twoPointOracle(s: Schedule): NoisePredictor {
  return {
    forward(x: Tensor, t?: Tensor): Tensor {
      const step = t!.dataSync()[0], bar = s.alphaBars[step];
      const d = (c: number) => x.sub(c * Math.sqrt(bar)).square().sum([1, 2, 3], { keepdim: true });
      // Posterior weight of +0.5: σ((d(−0.5) − d(+0.5)) / (2(1 − ᾱ))).
      const wPlus = d(-0.5).sub(d(0.5)).div(2 * (1 - bar)).sigmoid();
      const mean = wPlus.sub(0.5);
      return x.sub(mean.mul(Math.sqrt(bar))).div(Math.sqrt(1 - bar));
    },
  };
}

Deno.test("samplers: with the exact noise predictor of a two-image data set, DDPM and DDIM land on the images, both of them", async () => {
  manualSeed(3);
  const s = new Schedule(100);
  const oracle = twoPointOracle(s);
  const runs = [
    ["DDPM", sampleDdpm(oracle, s, 32)],
    ["DDPM over 25 respaced steps", sampleDdpm(oracle, s, 32, 25)],
    ["DDIM", sampleDdim(oracle, s, 32, 20)],
  ] as const;
  for (const [name, x] of runs) {
    const means = await x.mean([1, 2, 3]).data(), spread = await x.std([1, 2, 3]).data();
    let plus = 0;
    for (let i = 0; i < 32; i++) {
      ok(Math.abs(Math.abs(means[i]) - 0.5) < 0.02, `${name} sample ${i} mean ${means[i]}`);
      ok(spread[i] < 0.05, `${name} sample ${i} spread ${spread[i]}`);
      if (means[i] > 0) plus++;
    }
    ok(plus >= 6 && plus <= 26, `${name}: ${plus} of 32 samples at +0.5`);
  }
  // A single-image oracle: DDIM returns that image exactly.
  const target = where(full([1, 1, 28, 28], 1).gt(0), 0.25, 0);
  const single: NoisePredictor = {
    forward: (x, t) => {
      const bar = s.alphaBars[t!.dataSync()[0]];
      return x.sub(target.mul(Math.sqrt(bar))).div(Math.sqrt(1 - bar));
    },
  };
  const img = await sampleDdim(single, s, 2, 10).data();
  ok(img.every((v) => Math.abs(v - 0.25) < 1e-4));
});

/** Two epochs of ten batches of 32 for a width-8 U-Net over a 50-step schedule: seconds, and the loss still falls. */
const TINY_RUN = { epochs: 2, maxBatches: 10, batchSize: 32, width: 8, steps: 50 } as const;

Deno.test("diffusion: a tiny U-Net's noise-prediction loss falls over two short epochs; progress and history per epoch", async () => {
  let text = "";
  const stream = { writeSync: (p: Uint8Array) => (text += new TextDecoder().decode(p), p.length) };
  const history = new utils.History();
  const { losses, model } = await trainDiffusion({
    ...TINY_RUN,
    progress: { stream, mode: "lines", interval: 3600 },
    history,
  });
  ok(model instanceof UNet);
  ok(losses[1] < 0.85 * losses[0], `loss per epoch ${losses}`);
  const lines = text.split("\n").filter((l) => l);
  deepStrictEqual(lines.length, 2, text);
  ok(lines[1].startsWith("epoch 2/2: 10/10 (100%) [") && /loss=\d\.\d{4}, lr=/.test(lines[1]), lines[1]);
  deepStrictEqual(history.column("loss"), losses);
});

Deno.test("UNet exports to ONNX (GroupNorm, SiLU, Upsample, strided convs, the time embedding): ONNX Runtime agrees at another batch", async () => {
  manualSeed(6);
  const unet = new UNet(8);
  const bytes = await onnx.exportBytes(unet, [randn([2, 1, 28, 28]), randint(0, 100, [2], { dtype: "int32" })], {
    inputNames: ["x", "t"],
    outputNames: ["eps"],
    dynamicAxes: { x: { 0: "batch" }, t: { 0: "batch" }, eps: { 0: "batch" } },
  });
  await onnxCheck(bytes);
  const ops = new Set(onnx.decodeModel(bytes).graph.node.map((n) => n.op_type));
  for (const op of ["InstanceNormalization", "Resize", "Sigmoid", "Conv", "Sin"]) {
    ok(ops.has(op), `${op} in ${[...ops]}`);
  }
  unet.eval();
  const session = await loadOrt(bytes);
  try {
    for (const n of [2, 3]) {
      const x = randn([n, 1, 28, 28]), t = randint(0, 100, [n], { dtype: "int32" });
      const ours = noGrad(() => unet.forward(x, t));
      const { eps } = await session.run({ x, t });
      deepStrictEqual(eps.dims, [n, 1, 28, 28]);
      const diff = maxAbsDiff(await ours.data(), eps.data);
      ok(diff <= 1e-4, `batch ${n}: ONNX Runtime differs by ${diff}`);
    }
  } finally {
    await session.release();
  }
});

Deno.test("UNet with numClasses: the label changes the prediction; no label is the last embedding row; errors", async () => {
  manualSeed(11);
  const unet = new UNet(8, { numClasses: 10 });
  unet.eval();
  const x = randn([2, 1, 28, 28]), t = tensor([5, 300], { dtype: "int32" });
  const [a, b, none, absent] = noGrad(() => [
    unet.forward(x, t, tensor([3, 3], { dtype: "int32" })),
    unet.forward(x, t, tensor([7, 7], { dtype: "int32" })),
    unet.forward(x, t, tensor([10, 10], { dtype: "int32" })),
    unet.forward(x, t),
  ]);
  ok(maxAbsDiff(await a.data(), await b.data()) > 1e-3, "labels 3 and 7 gave the same prediction");
  deepStrictEqual(await none.data(), await absent.data());
  deepStrictEqual(unet.classEmbedding!.weight.shape, [11, 32]);
  ok("classEmbedding.weight" in unet.stateDict());
  throws(() => new UNet(8).forward(x, t, tensor([1, 2], { dtype: "int32" })), /labels given to an unconditional net/);
  throws(() => new UNet(8, { numClasses: 2.5 }), /numClasses must be a non-negative integer, got 2.5/);
});

Deno.test("guided: ε̂_∅ + w·(ε̂_y − ε̂_∅) from one doubled batch equals the two predictions combined by hand", async () => {
  manualSeed(12);
  const unet = new UNet(8, { numClasses: 10 });
  unet.eval();
  const x = randn([3, 1, 28, 28]), t = tensor([40, 40, 40], { dtype: "int32" });
  const labels = balancedLabels(8, 3);
  deepStrictEqual(await labels.tolist(), [8, 9, 0]);
  const cond = await noGrad(() => unet.forward(x, t, labels)).data();
  const uncond = await noGrad(() => unet.forward(x, t)).data();
  for (const w of [0, 1, 2.5]) {
    const got = await noGrad(() => guided(unet, labels, w).forward(x, t)).data();
    const want = uncond.map((u, i) => u + w * (cond[i] - u));
    ok(maxAbsDiff(got, want) < 1e-4, `w=${w}: differs by ${maxAbsDiff(got, want)}`);
  }
  throws(() => guided(unet, labels, 1).forward(randn([2, 1, 28, 28]), t.narrow(0, 0, 2)), /3 labels for a batch of 2/);
  throws(() => guided(new UNet(8), labels, 1), /unconditional/);
  throws(() => guided(unet, labels, -1), /guidance scale must be ≥ 0, got -1/);
});

Deno.test("diffusion: a tiny conditional U-Net (labels dropped 10% of the time) learns: its loss falls", async () => {
  const { losses, model } = await trainDiffusion({
    ...TINY_RUN,
    conditional: true,
    progress: { stream: { writeSync: (p: Uint8Array) => p.length }, mode: "lines", interval: 3600 },
  });
  deepStrictEqual(model.numClasses, 10);
  ok(losses[1] < 0.85 * losses[0], `loss per epoch ${losses}`);
  await rejects(
    () => trainDiffusion({ epochs: 1, conditional: true, labelDropout: 1.5 }),
    /labelDropout must be in \[0, 1\], got 1.5/,
  );
});

Deno.test("diffusion CLI: --help lists every option parseArgs knows; guidance flags without the conditional net, and bad values, are refused before training", async () => {
  const source = await Deno.readTextFile(new URL("./diffusion.ts", import.meta.url));
  const known = [...source.matchAll(/^ {6}"?([a-z-]+)"?: \{ type: "(?:string|boolean)"/gm)].map((m) => m[1]);
  ok(known.length >= 18, `${known}`);
  for (const flag of known) {
    ok(USAGE.includes(`--${flag} `) || USAGE.includes(`--${flag}\n`), `--${flag} missing from --help`);
  }
  await rejects(
    () => main(["--unconditional", "--guidance", "2"]),
    /--guidance and --label-dropout are for the class-conditional net/,
  );
  await rejects(() => main(["--label-dropout", "1"]), /--label-dropout must be in \[0, 1\), got "1"/);
  await rejects(() => main(["--guidance=-1"]), /--guidance must be a positive number, got "-1"/);
});
