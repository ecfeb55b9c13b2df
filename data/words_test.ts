import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { tokenizeWords, WordVocabulary } from "./words.ts";

Deno.test("tokenizeWords: lower-cased runs of letters, possessives dropped, inner apostrophes kept", () => {
  deepStrictEqual(
    tokenizeWords("Call me Ishmael. Some years ago—never mind how long—the whale’s jaw; don't 42 x-ray"),
    [
      "call",
      "me",
      "ishmael",
      "some",
      "years",
      "ago",
      "never",
      "mind",
      "how",
      "long",
      "the",
      "whale",
      "jaw",
      "don't",
      "x",
      "ray",
    ],
  );
  deepStrictEqual(tokenizeWords("Ahab AHAB", { lowercase: false }), ["Ahab", "AHAB"]);
  deepStrictEqual(tokenizeWords(""), []);
});

Deno.test("WordVocabulary: by falling count, ties in first-seen order, minCount and maxSize", () => {
  const tokens = "b a c a b d a c e e".split(" ");
  const v = WordVocabulary.fromTokens(tokens, { minCount: 2 });
  deepStrictEqual(v.words, ["a", "b", "c", "e"]);
  deepStrictEqual(v.counts, [3, 2, 2, 2]);
  equal(v.size, 4);
  deepStrictEqual(Array.from(v.encode(["e", "d", "a"])), [3, -1, 0]);
  deepStrictEqual(v.decode([1, 2]), ["b", "c"]);
  equal(v.id("zzz"), -1);
  deepStrictEqual(WordVocabulary.fromTokens(tokens, { minCount: 1, maxSize: 2 }).words, ["a", "b"]);
  throws(() => WordVocabulary.fromTokens(tokens, { minCount: 0 }), /minCount must be an integer >= 1, got 0/);
  throws(() => v.decode([4]), /WordVocabulary.decode: id 4 is out of range/);
  throws(() => new WordVocabulary(["a", "a"], [1, 1]), /the word "a" appears twice/);
});
