/**
 * DeepWalk (Perozzi et al., 2014) on Zachary's karate club: random walks
 * over the friendships are sentences, members are words, and the word2vec
 * trainer of `examples/word2vec.ts` (`models.trainWord2Vec`, skip-gram with
 * negative sampling) learns a vector per member without ever seeing a
 * faction. Then: does the embedding know the split? Each member is given the
 * faction of the nearer of the two leaders (node 0, Mr. Hi, and node 33, the
 * Officer), and a 2-means clustering is compared with the factions. Writes a
 * PNG of the 2-D embedding (PCA) coloured by faction, and the vectors
 * (safetensors). `--p` and `--q` turn the walks into node2vec's.
 *
 *   deno run -A examples/deepwalk.ts [--walks 40] [--walk-length 20] [--dim 16] [--window 5] [--epochs 5]
 *     [--p 1] [--q 1] [--seed 0] [--device cpu|webgpu] [--out deepwalk_out]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Generator, gpu, graph, models } from "../mod.ts";
import { centredRows, pca2, unitRows } from "./word2vec.ts";
import { saveScatterPng } from "./scatter_png.ts";

/** Options of {@link deepWalk}. */
export interface DeepWalkOptions {
  /** Walks from every member (default 40). */
  walksPerNode?: number;
  /** Members per walk (default 20). */
  walkLength?: number;
  /** Vector size (default 16). */
  dim?: number;
  /** word2vec's window (default 5). */
  window?: number;
  /** Passes over the walks (default 5). */
  epochs?: number;
  /** node2vec's return parameter (default 1: DeepWalk). */
  p?: number;
  /** node2vec's in-out parameter (default 1: DeepWalk). */
  q?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Where the vectors are trained (default "cpu"). */
  device?: string;
}

/** What {@link deepWalk} returns. */
export interface DeepWalkResult {
  /** The members' unit vectors, mean removed, on the host. */
  vectors: Float32Array[];
  /** The trained word2vec model (members are its words). */
  model: models.Word2Vec;
  /** Each member's faction as the nearer leader's (by cosine). */
  nearerLeader: number[];
  /** Members (of the 32 not leaders) whose nearer leader is their faction's. */
  leaderAccuracy: number;
  /** Members a 2-means clustering puts with their faction (the better of the two ways to name the clusters), of 34. */
  clusterAgreement: number;
  /** Training time (s) and walk words read. */
  seconds: number;
  /** Node ids read by the trainer. */
  words: number;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** 2-means on unit vectors (cosine), started from the two leaders: each member's cluster, 0 or 1. */
export function twoMeans(rows: Float32Array[], seeds: [number, number], iterations = 20): number[] {
  let centres = seeds.map((s) => Float32Array.from(rows[s]));
  let assign = rows.map(() => 0);
  for (let it = 0; it < iterations; it++) {
    assign = rows.map((r) => (cosine(r, centres[0]) >= cosine(r, centres[1]) ? 0 : 1));
    centres = [0, 1].map((c) => {
      const m = new Float32Array(rows[0].length);
      rows.forEach((r, i) => {
        if (assign[i] === c) { for (let j = 0; j < m.length; j++) m[j] += r[j]; }
      });
      const n = Math.hypot(...m) || 1;
      return m.map((x) => x / n);
    });
  }
  return assign;
}

/** Walks, trains, and scores the embedding against the factions. */
export async function deepWalk(options: DeepWalkOptions = {}): Promise<DeepWalkResult> {
  const g = graph.karateClub();
  const seed = options.seed ?? 0;
  const walks = graph.randomWalks(g.edgeIndex, g.numNodes, {
    walkLength: options.walkLength ?? 20,
    walksPerNode: options.walksPerNode ?? 40,
    p: options.p,
    q: options.q,
    generator: new Generator(seed),
  });
  const counts = new Array(g.numNodes).fill(0);
  for (const w of walks) for (const v of w) counts[v]++;
  const r = await models.trainWord2Vec(walks, counts, {
    dim: options.dim ?? 16,
    window: options.window ?? 5,
    epochs: options.epochs ?? 5,
    subsample: 0, // DeepWalk keeps every step of a walk
    batchSize: 256,
    seed,
    device: options.device,
  });
  const vectors = centredRows(await unitRows(r.model.vectors()));
  const factions = graph.KARATE_FACTIONS;
  const nearerLeader = vectors.map((v) => (cosine(v, vectors[0]) >= cosine(v, vectors[33]) ? 0 : 1));
  const others = factions.map((_, i) => i).filter((i) => i !== 0 && i !== 33);
  const clusters = twoMeans(vectors, [0, 33]);
  const agree = clusters.filter((c, i) => c === factions[i]).length;
  return {
    vectors,
    model: r.model,
    nearerLeader,
    leaderAccuracy: others.filter((i) => nearerLeader[i] === factions[i]).length / others.length,
    clusterAgreement: Math.max(agree, factions.length - agree),
    seconds: r.seconds,
    words: r.words,
  };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      walks: { type: "string", default: "40" },
      "walk-length": { type: "string", default: "20" },
      dim: { type: "string", default: "16" },
      window: { type: "string", default: "5" },
      epochs: { type: "string", default: "5" },
      p: { type: "string", default: "1" },
      q: { type: "string", default: "1" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "deepwalk_out" },
    },
  });
  if (a.device === "webgpu") await gpu.useWebGPU();
  else if (a.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${a.device}"`);
  const opts = {
    walksPerNode: Number(a.walks),
    walkLength: Number(a["walk-length"]),
    dim: Number(a.dim),
    window: Number(a.window),
    epochs: Number(a.epochs),
    p: Number(a.p),
    q: Number(a.q),
    seed: Number(a.seed),
    device: a.device,
  };
  const name = opts.p === 1 && opts.q === 1 ? "DeepWalk" : `node2vec (p ${opts.p}, q ${opts.q})`;
  console.log(
    `${name} on Zachary's karate club: ${opts.walksPerNode} walks of ${opts.walkLength} members from each of 34, ` +
      `skip-gram window ${opts.window}, ${opts.dim}-d vectors, ${opts.epochs} epochs`,
  );
  const r = await deepWalk(opts);
  console.log(`\n| test (no faction was seen in training) | members right |`);
  console.log(`|---|---:|`);
  console.log(`| faction of the nearer leader (0 or 33), cosine | ${Math.round(r.leaderAccuracy * 32)} / 32 |`);
  console.log(`| 2-means clusters vs factions | ${r.clusterAgreement} / 34 |`);
  console.log(`\n${r.words} walk steps read in ${r.seconds.toFixed(1)} s`);
  await Deno.mkdir(a.out, { recursive: true });
  await saveScatterPng(`${a.out}/karate_deepwalk.png`, pca2(r.vectors), { groups: [...graph.KARATE_FACTIONS] });
  await models.saveSafetensors(r.model.stateDict(), `${a.out}/karate_deepwalk.safetensors`);
  console.log(
    `wrote ${a.out}/karate_deepwalk.png (blue: Mr. Hi's faction, orange: the Officer's) and karate_deepwalk.safetensors`,
  );
}

if (import.meta.main) await main();
