import assert from "node:assert/strict";
import { CharVocabulary, loadMobyDick } from "./text.ts";

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
