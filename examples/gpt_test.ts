import assert from "node:assert/strict";
import { data, Generator, manualSeed, noGrad, onnx, randint, tidy } from "../mod.ts";
import { loadOrt, maxAbsDiff } from "@dendrite/onnx/testing";
import { bitsPerChar, configureOptimizer, generate, Gpt, learningRate, trainStep } from "./gpt.ts";

const text = (await data.loadMobyDick()).slice(0, 60_000);
const vocab = data.CharVocabulary.fromText(text);
const { train, val } = data.splitTrainVal(vocab.encode(text));

Deno.test("gpt example: a tiny GPT learns Moby-Dick (the loss falls), and beats the uniform code on held-out text", async () => {
  manualSeed(0);
  const model = new Gpt({ vocabSize: vocab.size, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0 });
  const opt = configureOptimizer(model, 3e-3);
  const gen = new Generator(1);
  const losses: number[] = [];
  for (let step = 0; step < 60; step++) {
    for (const g of opt.paramGroups) g.lr = learningRate(step / 60, 3e-3, 0.1);
    const loss = tidy(() => {
      const { x, y } = data.randomBatch(train, 16, 32, gen);
      return trainStep(model, opt, x, y);
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    mean(losses.slice(-5)) < 0.8 * mean(losses.slice(0, 5)),
    `loss ${losses.slice(0, 5)} -> ${losses.slice(-5)}`,
  );
  const bpc = await bitsPerChar(model, val, 16, 4096);
  assert.ok(
    bpc < Math.log2(vocab.size) - 1,
    `validation ${bpc} bits/char against ${Math.log2(vocab.size)} for uniform`,
  );
});

Deno.test("gpt example: sampling with the KV cache gives the same text as re-running the context", async () => {
  manualSeed(2);
  const model = new Gpt({ vocabSize: vocab.size, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 });
  const prompt = vocab.encode("Call me");
  const cached = await generate(model, prompt, 17, { generator: new Generator(3), useCache: true });
  const uncached = await generate(model, prompt, 17, { generator: new Generator(3), useCache: false });
  assert.deepEqual(cached, uncached);
  assert.throws(() => model.forward(data.randomBatch(train, 1, 25, new Generator(0)).x), /exceed the block size 24/);
});

Deno.test("gpt example: warm-up rises linearly, then cosine decay ends at a tenth", () => {
  assert.ok(Math.abs(learningRate(0.05, 1, 0.1) - 0.5) < 1e-12);
  assert.equal(learningRate(0.1, 1, 0.1), 1);
  assert.ok(Math.abs(learningRate(0.55, 1, 0.1) - 0.55) < 1e-12); // halfway through the decay: (1 + 0.1) / 2
  assert.ok(Math.abs(learningRate(1, 1, 0.1) - 0.1) < 1e-12);
});

Deno.test("gpt example: the model exports to ONNX with a dynamic batch and length, and ONNX Runtime agrees within 1e-4", async () => {
  manualSeed(3);
  const model = new Gpt({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0.1 });
  const bytes = await onnx.exportBytes(model, randint(0, 13, [2, 6], { dtype: "int32" }), {
    inputNames: ["idx"],
    outputNames: ["logits"],
    dynamicAxes: { idx: { 0: "batch", 1: "seq" }, logits: { 0: "batch", 1: "seq" } },
  });
  model.eval();
  const session = await loadOrt(bytes);
  try {
    for (const [B, T] of [[2, 6], [3, 16], [1, 1]]) {
      const idx = randint(0, 13, [B, T], { dtype: "int32" });
      const ours = noGrad(() => model.forward(idx));
      const { logits } = await session.run({ idx });
      assert.deepEqual(logits.dims, [B, T, 13]);
      const diff = maxAbsDiff(await ours.data(), logits.data);
      assert.ok(diff <= 1e-4, `batch ${B}, length ${T}: ONNX Runtime differs by ${diff}`);
    }
  } finally {
    await session.release();
  }
});
