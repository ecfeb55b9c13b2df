import { deepStrictEqual, ok } from "node:assert/strict";
import { data, models, tensor } from "../mod.ts";
import { type CharLMConfig, configFromArgs, formatResults, trainCharLM } from "./char_lstm.ts";

/** A tiny run on the start of the book: small model, few steps. */
async function tiny(overrides: Partial<CharLMConfig> = {}): Promise<CharLMConfig> {
  const cfg = await configFromArgs(["--steps", "80", "--batch-size", "16", "--seq-len", "32", "--hidden", "48"]);
  return {
    ...cfg,
    text: cfg.text.slice(0, 40_000),
    embedding: 16,
    lr: 0.01,
    logEvery: 20,
    evalEvery: 0,
    sampleLength: 40,
    out: null,
    log: () => {},
    ...overrides,
  };
}

Deno.test("char_lstm: a tiny LSTM beats the unigram baseline on held-out text within 80 steps, and samples", async () => {
  const cfg = await tiny();
  const r = await trainCharLM(cfg);
  ok(r.trainBits[r.trainBits.length - 1] < r.trainBits[0] - 0.5, `training loss ${r.trainBits}`);
  ok(r.valBits < r.unigramBits - 0.4, `validation ${r.valBits} bits/char vs unigram ${r.unigramBits}`);
  ok(r.sample.startsWith("Call me ") && r.sample.length === "Call me ".length + 40, r.sample);
  ok(formatResults(r, cfg).includes("unigram baseline"));
});

Deno.test("char_lstm: weights saved as safetensors load into a fresh model that gives the same logits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "char_lstm_test_" });
  try {
    const out = `${dir}/m`;
    const cfg = await tiny({ steps: 3, cell: "gru", out });
    const r = await trainCharLM(cfg);
    const chars = JSON.parse(await Deno.readTextFile(`${out}.vocab.json`));
    deepStrictEqual(chars, r.vocab.chars);
    const fresh = new models.CharRNN(chars.length, { cell: "gru", embeddingDim: 16, hiddenSize: 48 });
    fresh.loadStateDict(await models.loadSafetensors(`${out}.safetensors`));
    const x = data.CharVocabulary.fromText(cfg.text).encode("Call me Ishmael");
    const input = tensor(x, { dtype: "int32" }).reshape([1, x.length]);
    r.model.eval();
    fresh.eval();
    const a = r.model.forward(input)[0].contiguous().dataSync(), b = fresh.forward(input)[0].contiguous().dataSync();
    deepStrictEqual([...a], [...b]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
