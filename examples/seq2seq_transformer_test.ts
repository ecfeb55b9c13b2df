import assert from "node:assert/strict";
import { makeDateData, SourceVocab } from "./seq2seq.ts";
import { greedyDecode, trainDates } from "./seq2seq_transformer.ts";

Deno.test("seq2seq_transformer example: a tiny Transformer starts learning dates (loss falls, characters above chance)", async () => {
  const r = await trainDates({
    train: 1200,
    test: 60,
    epochs: 2,
    batchSize: 32,
    lr: 3e-3,
    model: { width: 32, heads: 2, layers: 1, dropout: 0 },
    minutes: 5,
    seed: 3,
    device: "cpu",
    log: () => {},
  });
  assert.ok(r.losses[r.losses.length - 1] < 0.6 * r.losses[0], `loss ${r.losses[0]} -> ${r.losses.at(-1)}`);
  // Per-character accuracy of the greedy outputs on held-out inputs, against 1/12 for a guess.
  const { train, test } = makeDateData(1200, 60, 3);
  const vocab = new SourceVocab([...train, ...test].map((p) => p.input));
  const outputs = await greedyDecode(r.model, vocab, test, "cpu");
  let right = 0, total = 0;
  outputs.forEach((o, i) => {
    for (let c = 0; c < 10; c++) right += o[c] === test[i].target[c] ? 1 : 0;
    total += 10;
  });
  assert.ok(right / total > 0.4, `character accuracy ${right / total}`);
});
