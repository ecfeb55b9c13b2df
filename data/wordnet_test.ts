import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { hasWordNet, hypernymPairs, loadWordNet, parseWordNetData, synonymPairs } from "./wordnet.ts";

// Lines in WordNet 3.0's data-file format (copied from data.noun and data.adj, pointers trimmed and counted again),
// after a licence-style header whose lines start with spaces.
const SAMPLE = [
  "  1 This software and database is being provided to you, the LICENSEE, by",
  "10129133 18 n 04 giant 3 hulk 0 heavyweight 3 whale 0 001 @ 10247044 n 0000 | a very large person",
  "10247044 18 n 02 large_person 0 big_man 0 001 @ 00007846 n 0000 | a person of large size",
  "00007846 03 n 03 person 0 individual 0 someone 0 000 | a human being",
  "02062744 05 n 01 whale 0 002 @ 02062430 n 0000 ~ 02063224 n 0000 | any of the larger cetacean mammals",
  "00014358 00 s 02 abounding 0 galore(ip) 0 001 & 00013887 a 0000 | existing in abundance",
  "",
].join("\n");

Deno.test("parseWordNetData reads synsets, their words and hypernym pointers", () => {
  const s = parseWordNetData(SAMPLE);
  equal(s.length, 5);
  deepStrictEqual(s[0], {
    id: "n10129133",
    pos: "n",
    words: ["giant", "hulk", "heavyweight", "whale"],
    hypernyms: ["n10247044"],
  });
  deepStrictEqual(s[3].hypernyms, ["n02062430"], "only @ pointers are hypernyms (~ is a hyponym)");
  deepStrictEqual(s[4].words, ["abounding", "galore"], "adjective markers such as (ip) are removed");
  equal(s[4].pos, "s");
  throws(() => parseWordNetData("0001 03 n 01 x 0 000 | bad"), /line 1: expected an 8-digit synset offset/);
  throws(() => parseWordNetData("00001740 03 n 03 entity 0 000 | short"), /expected a word count and that many words/);
});

Deno.test("synonymPairs and hypernymPairs keep what the vocabulary has, each pair once", () => {
  const s = parseWordNetData(SAMPLE);
  const vocab = new Set(["giant", "whale", "hulk", "person", "individual", "abounding", "galore"]);
  const keep = (w: string) => vocab.has(w);
  deepStrictEqual(synonymPairs(s, keep), [
    ["giant", "hulk"],
    ["giant", "whale"],
    ["hulk", "whale"],
    ["individual", "person"],
    ["abounding", "galore"],
  ]);
  // giant's hypernym (large_person, big_man) has no vocabulary word; large_person's hypernym is person.
  deepStrictEqual(hypernymPairs(s, (w) => keep(w) || w === "big_man"), [
    ["giant", "big_man"],
    ["hulk", "big_man"],
    ["whale", "big_man"],
    ["big_man", "person"],
    ["big_man", "individual"],
  ]);
});

Deno.test("loadWordNet names the directory and the Debian package when the database is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    equal(await hasWordNet(dir), false);
    await loadWordNet(dir).then(
      () => ok(false, "expected an error"),
      (e) => ok(/loadWordNet: cannot read .*data\.noun .*install Debian's wordnet-base/.test(String(e)), String(e)),
    );
    for (const f of ["noun", "verb", "adj", "adv"]) {
      await Deno.writeTextFile(`${dir}/data.${f}`, f === "noun" ? SAMPLE : "");
    }
    equal(await hasWordNet(dir), true);
    equal((await loadWordNet(dir)).length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
