import { deepStrictEqual, ok } from "node:assert/strict";
import { Image } from "imagescript";
import {
  beamDecode,
  configFromArgs,
  greedyDecode,
  heatmap,
  makeDateData,
  sequenceLogp,
  trainSeq2Seq,
} from "./seq2seq.ts";

Deno.test("makeDateData: ISO targets that match their inputs' dates; no held-out input occurs in training", () => {
  const { train, test } = makeDateData(3000, 300, 7);
  const seen = new Set(train.map((p) => p.input));
  ok(test.every((p) => !seen.has(p.input)), "held-out inputs are new");
  ok(train.every((p) => /^\d{4}-\d{2}-\d{2}$/.test(p.target)));
  // Inputs carrying a full month name and a four-digit year name the target's month and year.
  const months = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
  ];
  for (const p of train) {
    const m = months.findIndex((name) => p.input.includes(name));
    if (m >= 0) ok(Number(p.target.slice(5, 7)) === m + 1, `${p.input} → ${p.target}`);
    const year = p.input.match(/\b(19|20)\d\d\b/);
    if (year && !p.input.includes("/") && !p.input.includes(".")) ok(p.target.startsWith(year[0]), p.input);
  }
  ok(new Set(train.map((p) => p.input.replace(/\d+/g, "#"))).size > 15, "many formats");
});

Deno.test("seq2seq: a small attention model starts to learn in 64 steps; beam ≥ greedy; attention and heat-map", async () => {
  const cfg = {
    ...configFromArgs([
      "--train",
      "2000",
      "--test",
      "200",
      "--epochs",
      "2",
      "--hidden",
      "32",
      "--lr",
      "0.01",
      "--beam-examples",
      "5",
    ]),
    out: null,
    logEvery: 10,
    log: () => {},
  };
  const r = await trainSeq2Seq(cfg);
  ok(r.losses[r.losses.length - 1] < 0.3 * r.losses[0], `loss ${r.losses}`);
  // Chance is about 1e-9 (ten characters from eleven); the full run reaches more than 95%.
  ok(r.greedyExact > 0.05, `held-out exact match ${r.greedyExact}`);
  // Beam search keeps the greedy path among its candidates, so what it returns is at least as likely.
  for (const p of r.testPairs.slice(0, 5)) {
    const g = (await greedyDecode(r.model, r.vocab, [p], "cpu")).outputs[0];
    const b = await beamDecode(r.model, r.vocab, p, 3, "cpu");
    const lg = await sequenceLogp(r.model, r.vocab, p.input, g, "cpu");
    ok(Math.abs(b.logp - (await sequenceLogp(r.model, r.vocab, p.input, b.output, "cpu"))) < 1e-4, "beam's score");
    ok(b.logp >= lg - 1e-4, `${p.input}: beam ${b.output} (${b.logp}) vs greedy ${g} (${lg})`);
  }
  const decoded = await greedyDecode(r.model, r.vocab, r.testPairs.slice(0, 3), "cpu");
  for (const w of decoded.weights.flat()) ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-4, "attention sums to 1");
  const png = await Image.decode(await heatmap(r.model, r.vocab, r.testPairs.slice(0, 2), "cpu"));
  const longest = Math.max(...r.testPairs.slice(0, 2).map((p) => p.input.length));
  deepStrictEqual(png.width, 20 + longest * 16 + 6);
});
