/**
 * Few-shot learning: prototypical networks (Snell et al., 2017). A small CNN maps digits to 64-dimensional
 * embeddings; a class's prototype is the mean embedding of its few labelled examples (the support set), and a query is
 * classified by a softmax over its negative squared Euclidean distances to the prototypes. Trained on episodes drawn
 * from digits 0–4 only — each also turned by 90°, 180° and 270° as classes of their own (20 classes; with only five,
 * the network learns a five-class classifier and its embedding of other digits suffers) — `--train-ways` classes per
 * episode, `--train-shot` support and 5 query images per class; then tested on episodes of the unseen digits 5–9 from
 * the test split: 5-way 1-shot and 5-shot, 15 queries per class.
 *
 * Prints the accuracy over `--test-episodes` episodes with its 95% confidence interval, against the same prototype rule
 * on raw pixels and on the untrained network's embeddings; writes `episode.png` (one 5-way 1-shot test episode: its
 * support row, then queries with the class chosen, wrong ones marked) and the encoder's weights under `--out`
 * (default runs/research/protonets).
 *
 *   deno run -A examples/research/protonets.ts [--episodes 600] [--train-ways 10] [--train-shot 5] [--test-episodes 300]
 *       [--lr 0.001] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { cat, data, Generator, models, nn, noGrad, optim, type Tensor, tensor, tidy, utils } from "../../mod.ts";
import { parseFlags, table } from "./common.ts";
import { type Digits, digitsOf, indicesOf, meanCi95, rows } from "./digit_tasks.ts";

/** The embedding network: two conv blocks (conv, batch norm, ReLU, 2×2 max pool) and a linear map to `dim`. */
export function protoEncoder(dim = 64): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 32, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(32 * 7 * 7, dim),
  );
}

/** Squared Euclidean distances `[Q, C]` between each row of `queries` `[Q, D]` and each of `prototypes` `[C, D]`. */
export function squaredDistances(queries: Tensor, prototypes: Tensor): Tensor {
  const qq = queries.square().sum(1, { keepdim: true });
  const pp = prototypes.square().sum(1, { keepdim: true }).t();
  return qq.add(pp).sub(queries.matmul(prototypes.t()).mul(2));
}

/**
 * The logits of prototypical networks: for support embeddings `[N·K, D]` laid out class by class (K each) and query
 * embeddings `[Q, D]`, minus the squared distance of each query to each class's mean support embedding.
 */
export function prototypeLogits(support: Tensor, ways: number, queries: Tensor): Tensor {
  const shots = support.shape[0] / ways;
  const prototypes = support.reshape([ways, shots, support.shape[1]]).mean(1);
  return squaredDistances(queries, prototypes).neg();
}

/** One episode: `ways` classes, `shot` support and `queries` query images each, labels 0..ways−1 in class order. */
export interface Episode {
  /** Support images `[ways·shot, 1, 28, 28]`, class by class. */
  support: Tensor;
  /** Query images `[ways·queries, 1, 28, 28]`, class by class. */
  query: Tensor;
  /** Query labels (int32, position of the class in `classes`). */
  queryLabels: Tensor;
  /** The digits drawn, in label order. */
  classes: number[];
}

/** Draws an episode from `pool` over `classes` (all of them when `ways` equals their number). */
export function sampleEpisode(
  pool: Digits,
  classes: readonly number[],
  ways: number,
  shot: number,
  queries: number,
  gen: Generator,
): Episode {
  const chosen = gen.randperm(classes.length).slice(0, ways).map((i) => classes[i]);
  const supportIndex: number[] = [], queryIndex: number[] = [], labels: number[] = [];
  chosen.forEach((c, k) => {
    const members = indicesOf(pool.labels, [c]);
    const pick = gen.randperm(members.length).slice(0, shot + queries).map((i) => members[i]);
    supportIndex.push(...pick.slice(0, shot));
    queryIndex.push(...pick.slice(shot));
    for (let q = 0; q < queries; q++) labels.push(k);
  });
  return {
    support: rows(pool.x, supportIndex),
    query: rows(pool.x, queryIndex),
    queryLabels: tensor(labels, { dtype: "int32" }).to(pool.y.device),
    classes: chosen,
  };
}

/** The fraction of the episode's queries classified right by the prototype rule on `embed`'s outputs (no graph). */
export async function episodeAccuracy(embed: (x: Tensor) => Tensor, episode: Episode, ways: number): Promise<number> {
  return await noGrad(() =>
    prototypeLogits(embed(episode.support), ways, embed(episode.query)).argmax(1).eq(episode.queryLabels).to(
      "float32",
    ).mean()
  ).item();
}

/** `x` `[N, C, H, W]` turned a quarter turn counter-clockwise `k` times (PyTorch's `rot90(x, k, [2, 3])`). */
export function rot90(x: Tensor, k: number): Tensor {
  let out = x;
  for (let i = 0; i < ((k % 4) + 4) % 4; i++) {
    const w = out.shape[3];
    const reversed = tensor(Array.from({ length: w }, (_, j) => w - 1 - j), { dtype: "int32" }).to(x.device);
    // Counter-clockwise: column j becomes row w−1−j.
    out = out.indexSelect(3, reversed).transpose(2, 3);
  }
  return out;
}

/**
 * The pool with each image also turned by 90°, 180° and 270°, each turn of a digit counting as a class of its own
 * (label `digit + 10·k`): four times the classes to tell apart, the augmentation Snell et al. use on Omniglot.
 */
export function withRotations(pool: Digits): { pool: Digits; classes: number[] } {
  const xs: Tensor[] = [], labels: number[] = [];
  const classes = [...new Set(pool.labels)].sort((a, b) => a - b);
  for (let k = 0; k < 4; k++) {
    xs.push(rot90(pool.x, k).contiguous());
    for (const label of pool.labels) labels.push(label + 10 * k);
  }
  const all = Int32Array.from(labels);
  return {
    pool: { x: cat(xs), y: tensor(all).to(pool.y.device), labels: all },
    classes: [0, 1, 2, 3].flatMap((k) => classes.map((c) => c + 10 * k)),
  };
}

/** Options of {@link trainProtonet}. */
export interface ProtoTrainOptions {
  /** Training episodes. */
  episodes: number;
  /** Classes per episode. */
  ways: number;
  /** Support images per class. */
  shot: number;
  /** Query images per class. */
  queries: number;
  /** Adam's learning rate (halved at half and three quarters of the episodes). */
  lr: number;
  /** The episode stream. */
  gen: Generator;
  /** Progress line label. */
  label?: string;
}

/** Trains `encoder` on episodes from `pool` over `classes` with the prototypical loss; returns each episode's loss. */
export async function trainProtonet(
  encoder: nn.Sequential,
  pool: Digits,
  classes: readonly number[],
  options: ProtoTrainOptions,
): Promise<number[]> {
  const opt = new optim.Adam(encoder.parameters(), { lr: options.lr });
  const sched = new optim.MultiStepLR(
    opt,
    [Math.floor(options.episodes / 2), Math.floor((3 * options.episodes) / 4)],
    { gamma: 0.5 },
  );
  encoder.train();
  const losses: number[] = [];
  const bar = utils.progress(Array.from({ length: options.episodes }, (_, i) => i), {
    desc: options.label,
    unit: "episode",
    disable: !options.label,
  });
  for (const _ of bar) {
    const episode = sampleEpisode(pool, classes, options.ways, options.shot, options.queries, options.gen);
    const loss = tidy(() => {
      opt.zeroGrad();
      // One forward pass over support and queries together, so batch norm sees the whole episode.
      const z = encoder.forward(cat([episode.support, episode.query]));
      const nSupport = episode.support.shape[0];
      const logits = prototypeLogits(
        z.narrow(0, 0, nSupport),
        options.ways,
        z.narrow(0, nSupport, z.shape[0] - nSupport),
      );
      const l = nn.functional.crossEntropy(logits, episode.queryLabels);
      l.backward();
      opt.step();
      return l;
    });
    sched.step();
    losses.push(await loss.item());
    bar.setPostfix({ loss: losses[losses.length - 1] });
  }
  encoder.eval();
  return losses;
}

/** Accuracy (mean and 95% CI half-width over episodes) of each embedding, per shot count. */
export type ProtoResults = Record<"pixels" | "untrained" | "protonet", Record<number, { mean: number; ci95: number }>>;

/** Trains on digits 0–4, tests 1- and 5-shot episodes on digits 5–9, prints the table, writes the picture and weights. */
export async function main(args: string[] = Deno.args): Promise<ProtoResults> {
  const flags = await parseFlags("protonets", {
    episodes: "600",
    "train-shot": "5",
    "train-ways": "10",
    "test-episodes": "300",
    lr: "0.001",
  }, args);
  const quick = flags.quick;
  const mnist = await data.loadMnist();
  const seen = [0, 1, 2, 3, 4], unseen = [5, 6, 7, 8, 9];
  const train = digitsOf(mnist.train, { classes: seen, device: flags.device });
  const test = digitsOf(mnist.test, { classes: unseen, device: flags.device });
  const encoder = protoEncoder().to(flags.device);
  const untrained = protoEncoder().to(flags.device);
  untrained.loadStateDict(encoder.stateDict());
  untrained.eval();
  const rotated = withRotations(train);
  await trainProtonet(encoder, rotated.pool, rotated.classes, {
    episodes: quick ? 60 : Number(flags.episodes),
    ways: Number(flags["train-ways"]),
    shot: Number(flags["train-shot"]),
    queries: 5,
    lr: Number(flags.lr),
    gen: new Generator(flags.seed + 1),
    label: "episodes on digits 0-4 (and their turns)",
  });

  const embeddings: Record<keyof ProtoResults, (x: Tensor) => Tensor> = {
    pixels: (x) => x.reshape([x.shape[0], -1]),
    untrained: (x) => untrained.forward(x),
    protonet: (x) => encoder.forward(x),
  };
  const shots = [1, 5];
  const testEpisodes = quick ? 20 : Number(flags["test-episodes"]);
  const results = { pixels: {}, untrained: {}, protonet: {} } as ProtoResults;
  for (const shot of shots) {
    // The same episodes for every embedding.
    const gen = new Generator(flags.seed + 100 + shot);
    const accs: Record<keyof ProtoResults, number[]> = { pixels: [], untrained: [], protonet: [] };
    const bar = utils.progress(Array.from({ length: testEpisodes }, (_, i) => i), {
      desc: `${shot}-shot test episodes on digits 5-9`,
      unit: "episode",
    });
    for (const _ of bar) {
      const episode = sampleEpisode(test, unseen, 5, shot, 15, gen);
      for (const key of Object.keys(embeddings) as (keyof ProtoResults)[]) {
        accs[key].push(await episodeAccuracy(embeddings[key], episode, 5));
      }
    }
    for (const key of Object.keys(embeddings) as (keyof ProtoResults)[]) results[key][shot] = meanCi95(accs[key]);
  }

  const cell = (v: { mean: number; ci95: number }) => `${(100 * v.mean).toFixed(1)}% ± ${(100 * v.ci95).toFixed(1)}`;
  console.log(`\n5-way episodes on the unseen digits 5-9 (${testEpisodes} episodes, 15 queries per class; 95% CI):`);
  console.log(table(
    ["embedding", ...shots.map((s) => `${s}-shot`)],
    [
      ["raw pixels", ...shots.map((s) => cell(results.pixels[s]))],
      ["untrained CNN", ...shots.map((s) => cell(results.untrained[s]))],
      ["prototypical net (digits 0-4)", ...shots.map((s) => cell(results.protonet[s]))],
    ],
  ));

  // One 1-shot episode: the support row, then five queries per class with the class chosen.
  const episode = sampleEpisode(test, unseen, 5, 1, 5, new Generator(flags.seed + 7));
  const predicted = await noGrad(() =>
    prototypeLogits(encoder.forward(episode.support), 5, encoder.forward(episode.query)).argmax(1)
  ).tolist() as number[];
  const truth = await episode.queryLabels.tolist() as number[];
  // Column c holds class c: support on top, its queries below.
  const captions: string[] = [];
  const images: Tensor[] = [];
  for (let r = 0; r <= 5; r++) {
    for (let c = 0; c < 5; c++) {
      if (r === 0) {
        images.push(episode.support.narrow(0, c, 1));
        captions.push(`support ${episode.classes[c]}`);
      } else {
        const q = c * 5 + (r - 1);
        images.push(episode.query.narrow(0, q, 1));
        const p = episode.classes[predicted[q]];
        captions.push(predicted[q] === truth[q] ? `→ ${p}` : `→ ${p} wrong`);
      }
    }
  }
  const grid = await utils.captionedGrid(cat(images).to("cpu"), captions, { nrow: 5, scale: 3 });
  await grid.savePng(`${flags.out}/episode.png`);
  await models.saveSafetensors(encoder.stateDict(), `${flags.out}/encoder.safetensors`);
  return results;
}

if (import.meta.main) await main();
