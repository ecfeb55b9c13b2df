// The word2vec example: its scoring, PCA and export helpers against hand-made cases, and a tiny run end to end
// (without WordNet, so CI needs no Debian package: the WordNet parser has its own tests in data/).
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { decode } from "imagescript";
import { Generator } from "../mod.ts";
import { centredRows, pairScore, partOfSpeechGroups, pca2, writeProjectorTsv } from "./word2vec.ts";

const rows = (vs: number[][]) => vs.map((v) => Float32Array.from(v));

Deno.test("pairScore: an AUC of 1 when related pairs are the most similar, 0.5 when nothing differs", () => {
  // Words 0-1 and 2-3 are related (identical directions); 0 and 2 are orthogonal.
  const unit = rows([[1, 0], [1, 0], [0, 1], [0, 1]]);
  const s = pairScore(unit, [[0, 1], [2, 3]], new Generator(1), 20);
  ok(s.auc > 0.7, `auc ${s.auc}`);
  equal(s.related, 1);
  const same = rows([[1, 0], [1, 0], [1, 0], [1, 0]]);
  equal(pairScore(same, [[0, 1], [2, 3]], new Generator(1)).auc, 0.5, "all ties count half");
});

Deno.test("centredRows removes the shared direction; pca2 finds the direction of largest spread", () => {
  const g = new Generator(2);
  const shared = Array.from({ length: 50 }, () => [5 + g.random() * 0.1, 5 + g.random() * 0.1, 5 + (g.random() - 0.5)]);
  const c = centredRows(rows(shared));
  let cos = 0;
  for (let i = 1; i < c.length; i++) cos += c[0].reduce((s, x, j) => s + x * c[i][j], 0);
  ok(Math.abs(cos / (c.length - 1)) < 0.5, `mean cosine after centring ${cos / (c.length - 1)}`);
  const line = Array.from({ length: 40 }, (_, i) => [i, 2 * i + g.random() * 0.01, 0.5]);
  const xy = pca2(rows(line));
  const xs = xy.map((p) => p[0]);
  const r = xs.reduce((s, x, i) => s + x * (i - 19.5), 0) /
    Math.sqrt(xs.reduce((s, x) => s + x * x, 0) * line.reduce((s, _, i) => s + (i - 19.5) ** 2, 0));
  ok(Math.abs(r) > 0.999, `the first component follows the line: r = ${r}`);
});

Deno.test("writeProjectorTsv writes the TensorBoard projector's vectors.tsv and metadata.tsv", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeProjectorTsv(dir, rows([[1, 2], [3, 4.5]]), ["whale", "ship"]);
    equal(await Deno.readTextFile(`${dir}/vectors.tsv`), "1.00000\t2.00000\n3.00000\t4.50000\n");
    equal(await Deno.readTextFile(`${dir}/metadata.tsv`), "whale\nship\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word2vec example end to end (--quick, two epochs): the loss falls and every output is written", async () => {
  const out = await Deno.makeTempDir();
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./word2vec.ts", import.meta.url).pathname,
        "--quick",
        "--epochs",
        "2",
        "--out",
        out,
        "--wordnet",
        out,
      ],
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    ok(run.success, text);
    const losses = text.match(/loss per epoch ([\d.]+), ([\d.]+)/);
    ok(losses && Number(losses[2]) < Number(losses[1]), `losses: ${losses?.slice(1)}`);
    ok(/WordNet not found/.test(text), "runs without WordNet");
    ok(/nearest neighbours/.test(text));
    const words = (await Deno.readTextFile(`${out}/metadata.tsv`)).trim().split("\n");
    const vectors = (await Deno.readTextFile(`${out}/vectors.tsv`)).trim().split("\n");
    equal(vectors.length, words.length);
    equal(vectors[0].split("\t").length, 50);
    const png = await decode(await Deno.readFile(`${out}/pca.png`));
    deepStrictEqual([png.width > 0, png.height > 0], [true, true]);
    ok((await Deno.stat(`${out}/word2vec.safetensors`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("partOfSpeechGroups: the part of speech with most WordNet senses; words WordNet lacks apart", async () => {
  const { parseWordNetData } = await import("../data/mod.ts");
  const synsets = parseWordNetData([
    "00000001 03 n 01 run 0 000 | a score",
    "00000002 38 v 01 run 0 000 | move fast",
    "00000003 38 v 01 run 0 000 | flow",
    "00000004 00 a 01 white 0 000 | a colour",
  ].join("\n"));
  deepStrictEqual(partOfSpeechGroups(synsets, ["run", "white", "the"]), [1, 2, 3]);
});
