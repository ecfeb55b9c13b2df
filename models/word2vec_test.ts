// word2vec's parts against their formulas (noise distribution, subsampling, the loss by a loop), and training on a
// synthetic corpus whose structure is known: two topics that never share a sentence.
import { equal, ok, throws } from "node:assert/strict";
import { Generator, noGrad, tensor } from "@dendrite/tensor";
import { keepProbability, NoiseSampler, trainWord2Vec, Word2Vec } from "./word2vec.ts";

Deno.test("NoiseSampler draws words in proportion to count^0.75", () => {
  const counts = [1000, 100, 10, 1, 0];
  const noise = new NoiseSampler(counts);
  const w = counts.map((c) => c ** 0.75), total = w.reduce((a, b) => a + b);
  noise.probabilities.forEach((p, i) => ok(Math.abs(p - w[i] / total) < 1e-12, `p[${i}]`));
  const g = new Generator(3), n = 200_000, seen = new Array(5).fill(0);
  for (let i = 0; i < n; i++) seen[noise.sample(g)]++;
  seen.forEach((s, i) => ok(Math.abs(s / n - w[i] / total) < 0.005, `word ${i}: ${s / n} vs ${w[i] / total}`));
  equal(seen[4], 0, "a word never seen is never noise");
  throws(() => new NoiseSampler([1, -1]), /NoiseSampler: counts must be >= 0, got -1/);
});

Deno.test("keepProbability is word2vec's (√(f/t) + 1)·t/f, capped at 1", () => {
  // f = 1000/100000 = 0.01, t = 1e-3: (√10 + 1) · 0.1
  ok(Math.abs(keepProbability(1000, 100_000, 1e-3) - (Math.sqrt(10) + 1) * 0.1) < 1e-12);
  equal(keepProbability(5, 100_000, 1e-3), 1);
  equal(keepProbability(50_000, 100_000, 0), 1, "t = 0 keeps everything");
});

Deno.test("skip-gram and CBOW losses equal a loop over the batch: −log σ(u₀·h) − Σ log σ(−u_k·h)", () => {
  const m = new Word2Vec(5, 3);
  noGrad(() => {
    m.inEmbed.weight.copy_(tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, -1, 2]]));
    m.outEmbed.weight.copy_(tensor([[0.2, 0.1, 0], [-0.3, 0.4, 1], [1, 1, 1], [0, -2, 0.5], [0.7, 0, -0.1]]));
  });
  const V = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, -1, 2]];
  const U = [[0.2, 0.1, 0], [-0.3, 0.4, 1], [1, 1, 1], [0, -2, 0.5], [0.7, 0, -0.1]];
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  const logSig = (x: number) => -Math.log1p(Math.exp(-x));
  const loss = (h: number[], t: number[]) =>
    -logSig(dot(U[t[0]], h)) - t.slice(1).reduce((s, k) => s + logSig(-dot(U[k], h)), 0);
  const targets = [[2, 0, 4], [1, 3, 3]];
  const sg = m.skipGramLoss(tensor([4, 3], { dtype: "int32" }), tensor(targets, { dtype: "int32" }));
  ok(Math.abs(sg.dataSync()[0] - (loss(V[4], targets[0]) + loss(V[3], targets[1]))) < 1e-5, "skip-gram");
  // CBOW: the first example averages words 0 and 1; the second has one context word (2) and padding.
  const mean = (a: number[], b: number[]) => a.map((x, i) => (x + b[i]) / 2);
  const cb = m.cbowLoss(
    tensor([[0, 1], [2, 0]], { dtype: "int32" }),
    tensor([[1, 1], [1, 0]]),
    tensor(targets, { dtype: "int32" }),
  );
  ok(Math.abs(cb.dataSync()[0] - (loss(mean(V[0], V[1]), targets[0]) + loss(V[2], targets[1]))) < 1e-5, "CBOW");
  sg.backward();
  ok(m.inEmbed.weight.grad!.isSparse && m.outEmbed.weight.grad!.isSparse, "both tables get sparse gradients");
});

/** Sentences drawn from one of two topics (words 0–9 or 10–19), never both. */
function twoTopics(sentences: number, length: number, g: Generator): Int32Array[] {
  return Array.from({ length: sentences }, (_, s) => {
    const base = (s % 2) * 10;
    return Int32Array.from({ length }, () => base + Math.floor(g.random() * 10));
  });
}

function cosine(v: Float32Array, d: number, a: number, b: number): number {
  let s = 0, na = 0, nb = 0;
  for (let j = 0; j < d; j++) {
    s += v[a * d + j] * v[b * d + j];
    na += v[a * d + j] ** 2;
    nb += v[b * d + j] ** 2;
  }
  return s / Math.sqrt(na * nb);
}

for (const mode of ["skipgram", "cbow"] as const) {
  Deno.test(`trainWord2Vec (${mode}): words of one topic end up closer than words of different topics`, async () => {
    const sentences = twoTopics(200, 20, new Generator(1));
    const counts = new Array(20).fill(200);
    const reports: number[] = [];
    const r = await trainWord2Vec(sentences, counts, {
      mode,
      dim: 8,
      epochs: 3,
      subsample: 0,
      batchSize: 256,
      lr: 0.05,
      progressEvery: 5,
      onProgress: (p) => reports.push(p.loss),
    });
    equal(r.words, 3 * 200 * 20);
    ok(r.epochLosses[2] < r.epochLosses[0], `loss per epoch ${r.epochLosses}`);
    ok(reports.length >= 3, "progress was reported");
    const v = r.model.vectors().dataSync() as Float32Array;
    let within = 0, across = 0, nw = 0, na = 0;
    for (let a = 0; a < 20; a++) {
      for (let b = a + 1; b < 20; b++) {
        if ((a < 10) === (b < 10)) within += cosine(v, 8, a, b), nw++;
        else across += cosine(v, 8, a, b), na++;
      }
    }
    ok(within / nw > across / na + 0.3, `mean cosine within ${within / nw}, across ${across / na}`);
  });
}

Deno.test("trainWord2Vec checks its input before training", async () => {
  const counts = [1, 1];
  await trainWord2Vec([Int32Array.from([0, 2])], counts).then(
    () => ok(false),
    (e) => ok(/sentence 0 has word id 2, but there are 2 words/.test(String(e)), String(e)),
  );
  await trainWord2Vec([[0, 1] as unknown as Int32Array], counts).then(
    () => ok(false),
    (e) => ok(/sentence 0 must be an Int32Array of word ids/.test(String(e)), String(e)),
  );
  await trainWord2Vec([Int32Array.from([0, 1])], counts, { window: 0 }).then(
    () => ok(false),
    (e) => ok(/window must be an integer >= 1, got 0/.test(String(e)), String(e)),
  );
  await trainWord2Vec([Int32Array.from([-1])], counts).then(
    () => ok(false),
    (e) => ok(/the sentences hold no word of the vocabulary/.test(String(e)), String(e)),
  );
});
