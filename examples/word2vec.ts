/**
 * word2vec on *Moby-Dick* (or any text file): skip-gram with negative
 * sampling (CBOW with `--mode cbow`), frequent-word subsampling, noise from
 * unigram^0.75, a learning rate falling linearly, sparse embedding gradients.
 * Then it judges the vectors against WordNet (Debian's `wordnet-base`):
 * how often a pair of synonyms (or a word and its hypernym) is more similar
 * than a random pair of the same words (a ranking AUC: 0.5 is chance), beside
 * the same score for random vectors. It prints nearest neighbours, and writes
 * the vectors as the TSV pair the TensorBoard projector reads, a 2-D PCA map
 * (PNG) and the weights (safetensors).
 *
 *   deno run -A examples/word2vec.ts [--text FILE] [--mode skipgram|cbow] [--epochs 10] [--dim 100] [--window 5]
 *     [--negatives 5] [--min-count 5] [--batch-size 1024] [--lr 0.025] [--seed 0] [--device cpu|webgpu]
 *     [--wordnet /usr/share/wordnet] [--out word2vec_out] [--quick]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, Generator, gpu, models, randn, type Tensor } from "../mod.ts";
import { COLOR_NAMES, saveScatterPng } from "./scatter_png.ts";

/** Words whose neighbours the example prints (those in the vocabulary). */
export const QUERY_WORDS = ["whale", "ship", "sea", "captain", "ahab", "harpoon", "boat", "white", "god", "man"];

/** A ranking score of word vectors on word pairs: how often a related pair beats a random one. */
export interface PairScore {
  /** Related pairs scored. */
  pairs: number;
  /** Mean cosine similarity of the related pairs. */
  related: number;
  /** Mean cosine similarity of the random pairs. */
  random: number;
  /** P(cos(related pair) > cos(random pair)): the area under the ROC curve; 0.5 is chance. */
  auc: number;
}

/** The word classes of the PCA map's colours, by group number. */
export const POS_GROUPS = ["nouns", "verbs", "adjectives and adverbs", "words WordNet lacks (mostly function words)"];

/** Each word's group in {@link POS_GROUPS}: the part of speech with the most WordNet senses of it (ties: the first). */
export function partOfSpeechGroups(synsets: readonly data.Synset[], words: readonly string[]): number[] {
  const senses = new Map(words.map((w) => [w, [0, 0, 0]]));
  const group = { n: 0, v: 1, a: 2, s: 2, r: 2 } as const;
  for (const s of synsets) {
    for (const w of new Set(s.words)) {
      const c = senses.get(w);
      if (c) c[group[s.pos]]++;
    }
  }
  return words.map((w) => {
    const c = senses.get(w)!;
    const best = Math.max(...c);
    return best === 0 ? 3 : c.indexOf(best);
  });
}

/** Unit-length rows of `vectors` on the host. */
export async function unitRows(vectors: Tensor): Promise<Float32Array[]> {
  const [n, d] = vectors.shape;
  const all = await vectors.data() as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    const row = Float32Array.from(all.subarray(i * d, (i + 1) * d));
    const norm = Math.hypot(...row) || 1;
    for (let j = 0; j < d; j++) row[j] /= norm;
    return row;
  });
}

/**
 * The rows less their mean, made unit length again. SGNS vectors share a large
 * common direction (on a small corpus random words have cosine ~0.9), which
 * swamps the differences a similarity ranking reads; removing the mean is the
 * first step of Mu & Viswanath's "all-but-the-top" post-processing (2018).
 */
export function centredRows(rows: Float32Array[]): Float32Array[] {
  const d = rows[0].length, mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / rows.length;
  return rows.map((r) => {
    const c = Float32Array.from(r, (x, j) => x - mean[j]);
    const norm = Math.hypot(...c) || 1;
    return c.map((x) => x / norm);
  });
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Scores unit vectors `rows` on related `pairs` of word ids: each pair is set
 * against `perPair` random pairs made of the same words (the first word with a
 * random second word drawn from all the pairs' words), so word frequency does
 * not decide the score. The AUC counts ties as half.
 */
export function pairScore(rows: Float32Array[], pairs: [number, number][], g: Generator, perPair = 5): PairScore {
  if (pairs.length === 0) return { pairs: 0, related: NaN, random: NaN, auc: NaN };
  const pool = [...new Set(pairs.flat())];
  const rel = pairs.map(([a, b]) => dot(rows[a], rows[b]));
  const rnd: number[] = [];
  for (const [a] of pairs) {
    for (let k = 0; k < perPair; k++) {
      let b = pool[Math.floor(g.random() * pool.length)];
      if (b === a) b = pool[(pool.indexOf(b) + 1) % pool.length];
      rnd.push(dot(rows[a], rows[b]));
    }
  }
  // Mann–Whitney: rank all scores together.
  const all = [...rel.map((s) => [s, 1] as const), ...rnd.map((s) => [s, 0] as const)].sort((x, y) => x[0] - y[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const rank = (i + j + 1) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSum += rank;
    i = j;
  }
  const n1 = rel.length, n0 = rnd.length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { pairs: n1, related: mean(rel), random: mean(rnd), auc: (rankSum - n1 * (n1 + 1) / 2) / (n1 * n0) };
}

/** The top two principal components of `rows` (host vectors), by power iteration: `[x, y]` per row. */
export function pca2(rows: Float32Array[]): [number, number][] {
  const n = rows.length, d = rows[0].length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const centred = rows.map((r) => Float64Array.from(r, (v, j) => v - mean[j]));
  const cov = new Float64Array(d * d);
  for (const r of centred) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] += r[a] * r[b];
  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, (_, j) => Math.sin(j + 1 + c)); // a fixed start: the same map every run
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += cov[a * d + b] * v[b];
      for (const u of components) { // deflate: stay orthogonal to the components found
        const p = w.reduce((s, x, j) => s + x * u[j], 0);
        for (let j = 0; j < d; j++) w[j] -= p * u[j];
      }
      const norm = Math.hypot(...w) || 1;
      v = w.map((x) => x / norm);
    }
    components.push(v);
  }
  return centred.map((r) => [0, 1].map((c) => r.reduce((s, x, j) => s + x * components[c][j], 0)) as [number, number]);
}

/** The TensorBoard projector's pair: `vectors.tsv` (one row of numbers per word) and `metadata.tsv` (the words). */
export async function writeProjectorTsv(dir: string, rows: Float32Array[], words: readonly string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/vectors.tsv`,
    rows.map((r) => Array.from(r, (x) => x.toFixed(5)).join("\t")).join("\n") + "\n",
  );
  await Deno.writeTextFile(`${dir}/metadata.tsv`, words.join("\n") + "\n");
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      text: { type: "string" },
      mode: { type: "string", default: "skipgram" },
      epochs: { type: "string" },
      dim: { type: "string" },
      window: { type: "string", default: "5" },
      negatives: { type: "string", default: "5" },
      "min-count": { type: "string", default: "5" },
      "batch-size": { type: "string", default: "1024" },
      lr: { type: "string" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      wordnet: { type: "string", default: data.WORDNET_DIR },
      out: { type: "string", default: "word2vec_out" },
      quick: { type: "boolean", default: false },
    },
  });
  if (a.device === "webgpu") await gpu.useWebGPU();
  else if (a.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${a.device}"`);
  if (a.mode !== "skipgram" && a.mode !== "cbow") {
    throw new Error(`--mode must be "skipgram" or "cbow", got "${a.mode}"`);
  }

  const text = a.text ? await Deno.readTextFile(a.text) : await data.loadMobyDick();
  let tokens = data.tokenizeWords(text);
  if (a.quick) tokens = tokens.slice(0, 20_000);
  const vocab = data.WordVocabulary.fromTokens(tokens, { minCount: Number(a["min-count"]) });
  const ids = vocab.encode(tokens);
  // word2vec reads text in sentences of at most 1000 words; prose split that way loses few windows.
  const sentences: Int32Array[] = [];
  for (let i = 0; i < ids.length; i += 1000) sentences.push(ids.subarray(i, i + 1000));
  console.log(
    `${a.text ?? "Moby-Dick"}: ${tokens.length} words, vocabulary ${vocab.size} (min count ${a["min-count"]}), ` +
      `${a.mode}, device ${a.device}`,
  );

  const epochs = Number(a.epochs ?? (a.quick ? 1 : 10)), dim = Number(a.dim ?? (a.quick ? 50 : 100));
  const result = await models.trainWord2Vec(sentences, vocab.counts, {
    mode: a.mode,
    dim,
    epochs,
    window: Number(a.window),
    negatives: Number(a.negatives),
    batchSize: Number(a["batch-size"]),
    lr: a.lr ? Number(a.lr) : undefined,
    seed: Number(a.seed),
    device: a.device,
    progressEvery: 100,
    onProgress: (p) =>
      console.log(
        `epoch ${p.epoch}/${epochs}  ${(100 * p.words / p.totalWords).toFixed(1).padStart(5)}%  loss ${
          p.loss.toFixed(4)
        }  lr ${p.lr.toFixed(5)}  ${Math.round(p.wordsPerSecond)} words/s`,
      ),
  });
  const wordsPerSecond = result.words / result.seconds;

  const rows = await unitRows(result.model.vectors());
  const randomRows = await unitRows(randn([vocab.size, dim], { generator: new Generator(Number(a.seed) + 2) }));
  const table: string[][] = [];
  const top = Math.min(400, vocab.size);
  let groups: number[] | undefined;
  if (await data.hasWordNet(a.wordnet)) {
    const synsets = await data.loadWordNet(a.wordnet);
    groups = partOfSpeechGroups(synsets, vocab.words.slice(0, top));
    const inVocab = (w: string) => vocab.has(w);
    const toIds = (ps: [string, string][]) => ps.map(([x, y]) => [vocab.id(x), vocab.id(y)] as [number, number]);
    const fmt = (s: PairScore) => `${s.auc.toFixed(3)} (cos ${s.related.toFixed(2)} vs ${s.random.toFixed(2)})`;
    const centred = centredRows(rows), randomCentred = centredRows(randomRows);
    for (
      const [name, pairs] of [
        ["synonyms", data.synonymPairs(synsets, inVocab)],
        ["hypernyms", data.hypernymPairs(synsets, inVocab)],
      ] as const
    ) {
      const p = toIds(pairs);
      table.push([
        `WordNet ${name}`,
        String(p.length),
        fmt(pairScore(rows, p, new Generator(7))),
        fmt(pairScore(centred, p, new Generator(7))),
        fmt(pairScore(randomCentred, p, new Generator(7))),
      ]);
    }
  } else {
    console.log(`WordNet not found in ${a.wordnet} (Debian: apt-get install wordnet-base): skipping its scores`);
  }

  console.log("\nnearest neighbours (cosine):");
  const queries = QUERY_WORDS.filter((w) => vocab.has(w)).map((w) => vocab.id(w));
  const near = await models.nearestNeighbours(result.model.vectors(), queries, 6);
  queries.forEach((q, i) => {
    console.log(
      `  ${vocab.words[q].padEnd(9)} ${near[i].map(([j, s]) => `${vocab.words[j]} ${s.toFixed(2)}`).join(", ")}`,
    );
  });

  await Deno.mkdir(a.out, { recursive: true });
  await writeProjectorTsv(a.out, rows, vocab.words);
  await models.saveSafetensors(result.model.stateDict(), `${a.out}/word2vec.safetensors`);
  await saveScatterPng(`${a.out}/pca.png`, pca2(rows.slice(0, top)), { groups });

  if (table.length > 0) {
    console.log("\nAUC: how often a related pair is more similar than a random pair of the same words (0.5: chance)");
    console.log("| WordNet pairs | pairs | trained vectors | trained, mean removed | random vectors |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of table) console.log(`| ${r.join(" | ")} |`);
  }
  console.log(
    `\n${result.words} words (${result.examples} ${a.mode === "cbow" ? "windows" : "pairs"}) in ${
      result.seconds.toFixed(1)
    } s: ${Math.round(wordsPerSecond)} words/s on ${a.device}; loss per epoch ${
      result.epochLosses.map((l) => l.toFixed(3)).join(", ")
    }`,
  );
  console.log(`wrote ${a.out}/vectors.tsv, metadata.tsv (projector.tensorflow.org), pca.png, word2vec.safetensors`);
  console.log(
    `pca.png: the ${top} most frequent words on their first two principal components` +
      (groups ? `, ${POS_GROUPS.map((name, i) => `${COLOR_NAMES[i]} ${name}`).join(", ")}` : ""),
  );
}

if (import.meta.main) await main();
