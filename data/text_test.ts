import assert from "node:assert/strict";
import { Generator } from "@dendrite/tensor";
import { CharVocabulary, loadMobyDick, randomBatch, splitTrainVal, streamBatches, unigramBits } from "./text.ts";

Deno.test("loadMobyDick: front matter, chapter 1 opening, 135 chapters, no table of contents", async () => {
  const text = await loadMobyDick();
  assert.ok(text.length > 1_100_000, `only ${text.length} characters`);
  const body = text.slice(text.indexOf("CHAPTER 1. Loomings."));
  assert.ok(body.startsWith("CHAPTER 1. Loomings.\n\nCall me Ishmael."));
  assert.equal((text.match(/^CHAPTER \d+\. /gm) ?? []).length, 135);
  assert.ok(!text.includes("CONTENTS."));
  assert.ok(text.startsWith("ETYMOLOGY."));
  const noFront = await loadMobyDick({ frontMatter: false });
  assert.ok(noFront.startsWith("CHAPTER 1. Loomings."));
});

Deno.test("CharVocabulary: sorted ids, encode/decode round trip, errors name the character and id", () => {
  const v = CharVocabulary.fromText("banana!");
  assert.deepEqual(v.chars, ["!", "a", "b", "n"]);
  assert.deepEqual(Array.from(v.encode("nab!")), [3, 1, 2, 0]);
  assert.equal(v.decode([2, 1, 3]), "ban");
  assert.throws(() => v.encode("bat"), /character "t" at position 2 is not in the vocabulary/);
  assert.throws(() => v.decode([4]), /id 4 at position 0 is outside \[0, 4\)/);
  assert.throws(() => new CharVocabulary(["a", "a"]), /appears twice/);
  const greek = CharVocabulary.fromText("ηο—");
  assert.equal(greek.decode(greek.encode("—ηο")), "—ηο");
});

Deno.test("splitTrainVal: the last 10% validates, contiguous; errors for bad fractions", () => {
  const ids = Int32Array.from({ length: 1000 }, (_, i) => i);
  const { train, val } = splitTrainVal(ids);
  assert.equal(train.length, 900);
  assert.equal(val[0], 900);
  assert.equal(val[val.length - 1], 999);
  assert.equal(splitTrainVal(ids, { valFraction: 0.25 }).val.length, 250);
  assert.throws(() => splitTrainVal(ids, { valFraction: 1 }), /valFraction must be in \(0, 1\), got 1/);
});

Deno.test("streamBatches: B contiguous streams, each batch continuing the last; targets shifted by one", () => {
  const ids = Int32Array.from({ length: 23 }, (_, i) => i); // 2 streams of 11: [0..10], [11..21]; 22 dropped
  const batches = [...streamBatches(ids, 2, 4)];
  assert.deepEqual(batches.map((b) => b.x.shape), [[2, 4], [2, 4], [2, 2]]);
  assert.deepEqual(Array.from(batches[0].x.dataSync()), [0, 1, 2, 3, 11, 12, 13, 14]);
  assert.deepEqual(Array.from(batches[1].x.dataSync()), [4, 5, 6, 7, 15, 16, 17, 18]);
  assert.deepEqual(Array.from(batches[2].y.dataSync()), [9, 10, 20, 21]);
  const inputs = batches.flatMap((b) => Array.from(b.x.dataSync())).sort((a, b) => a - b);
  assert.deepEqual(inputs, [
    ...Array.from({ length: 10 }, (_, i) => i),
    ...Array.from({ length: 10 }, (_, i) => 11 + i),
  ]);
  assert.throws(() => [...streamBatches(ids, 20, 4)], /23 ids are too few for 20 streams/);
});

Deno.test("randomBatch: windows of the ids, targets shifted by one, reproducible from the generator", () => {
  const ids = Int32Array.from({ length: 100 }, (_, i) => 3 * i);
  const a = randomBatch(ids, 5, 7, new Generator(1)), b = randomBatch(ids, 5, 7, new Generator(1));
  assert.deepEqual(Array.from(a.x.dataSync()), Array.from(b.x.dataSync()));
  const x = a.x.dataSync(), y = a.y.dataSync();
  for (let i = 0; i < x.length; i++) assert.equal(y[i], x[i] + 3);
  for (let r = 0; r < 5; r++) for (let t = 1; t < 7; t++) assert.equal(x[r * 7 + t], x[r * 7 + t - 1] + 3);
});

Deno.test("unigramBits: add-one smoothed frequencies of the training ids, in bits per token", () => {
  // counts with add-one over 3 ids: [3, 2, 1] / 6
  const bits = unigramBits(Int32Array.from([0, 0, 1]), Int32Array.from([0, 2]), 3);
  assert.ok(Math.abs(bits - (-Math.log2(3 / 6) - Math.log2(1 / 6)) / 2) < 1e-12);
});
