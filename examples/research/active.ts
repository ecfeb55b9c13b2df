/**
 * Active learning: which digits to ask a person to label. Starting from `--initial` labelled digits drawn at random
 * from a pool (the 8,000 training digits, labels hidden), each round trains an MLP (784-128-10) from the same initial
 * weights on the labelled set, then labels `--per-round` more, chosen by
 *
 * - **random** sampling, or
 * - **uncertainty** sampling: margin sampling — among `--candidates` pool digits drawn at random, those whose two most
 *   probable classes are closest (drawing candidates first keeps a round's picks from being near-copies of one
 *   hesitation).
 *
 * Prints test accuracy against the number of labels for both (mean over `--repeats` runs with different initial
 * sets), writes `accuracy_vs_labels.png` under `--out` (default runs/research/active).
 *
 *   deno run -A examples/research/active.ts [--initial 100] [--per-round 50] [--rounds 8] [--repeats 3] [--steps 200]
 *       [--candidates 500] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { data, Generator, manualSeed, models, nn, noGrad, optim, type Tensor, tensor, tidy, utils } from "../../mod.ts";
import { parseFlags, pct, table } from "./common.ts";
import { accuracyOf, type Digits, digitsOf, rows } from "./digit_tasks.ts";

/** How the next digits to label are chosen. */
export type Strategy = "random" | "uncertainty";

/** The gap between each row's two largest softmax probabilities, for logits `[N, C]` (small: the model hesitates). */
export function softmaxMargin(logits: Tensor): Tensor {
  const p = nn.functional.softmax(logits, 1);
  const [top, at] = p.max(1);
  // The runner-up: the largest after the top entry (only that one, ties kept) is pushed below every probability.
  const isTop = tensor(Int32Array.from({ length: p.shape[1] }, (_, i) => i)).to(p.device).unsqueeze(0).eq(
    at.unsqueeze(1),
  );
  const second = p.sub(isTop.to("float32").mul(2)).max(1)[0];
  return top.sub(second);
}

/** Positions of the `k` largest values (ties: the earlier first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from(values, (v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

/** Trains a fresh MLP (weights from `seed`) on the labelled digits with Adam for `steps` batches of up to 32. */
export function trainOn(labelled: Digits, steps: number, seed: number, gen: Generator): nn.Sequential {
  manualSeed(seed);
  const net = models.mlp([784, 128, 10]).to(labelled.x.device);
  const opt = new optim.Adam(net.parameters(), { lr: 0.003 });
  const n = labelled.x.shape[0];
  for (let step = 0; step < steps; step++) {
    const pick = Array.from({ length: Math.min(32, n) }, () => gen.randint(0, n));
    tidy(() => {
      opt.zeroGrad();
      nn.functional.crossEntropy(net.forward(rows(labelled.x, pick)), rows(labelled.y, pick)).backward();
      opt.step();
    });
  }
  return net;
}

/** Options of {@link activeLoop}. */
export interface ActiveOptions {
  /** Labels to start with. */
  initial: number;
  /** Labels added per round. */
  perRound: number;
  /** Rounds of acquisition. */
  rounds: number;
  /** Training steps per round. */
  steps: number;
  /** Pool digits scored per round by uncertainty sampling. */
  candidates: number;
  /** Seed of the initial set, the weights and the batches. */
  seed: number;
}

/** Runs one strategy; returns the test accuracy after each round (labels: initial + r·perRound). */
export async function activeLoop(
  strategy: Strategy,
  pool: Digits,
  test: Digits,
  options: ActiveOptions,
  bar?: utils.ProgressBar,
): Promise<number[]> {
  const gen = new Generator(options.seed);
  const n = pool.x.shape[0];
  let labelled = gen.randperm(n).slice(0, options.initial);
  const accuracies: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const net = trainOn(
      {
        x: rows(pool.x, labelled),
        y: rows(pool.y, labelled),
        labels: Int32Array.from(labelled, (i) => pool.labels[i]),
      },
      options.steps,
      options.seed + 1,
      new Generator(options.seed + 2 + round),
    );
    accuracies.push(await accuracyOf((x) => net.forward(x), test.x, test.y));
    bar?.update();
    if (round === options.rounds) break;
    const taken = new Set(labelled);
    const unlabelled = Array.from({ length: n }, (_, i) => i).filter((i) => !taken.has(i));
    let chosen: number[];
    if (strategy === "random") {
      chosen = gen.randperm(unlabelled.length).slice(0, options.perRound).map((k) => unlabelled[k]);
    } else {
      // Among a random subset of candidates (the whole pool's most uncertain digits are many near-copies of one
      // hesitation), the smallest margins.
      const candidates = gen.randperm(unlabelled.length).slice(0, options.candidates).map((k) => unlabelled[k]);
      const margins = await noGrad(() => softmaxMargin(net.forward(rows(pool.x, candidates))).neg()).data();
      chosen = topK(margins, options.perRound).map((k) => candidates[k]);
    }
    labelled = [...labelled, ...chosen];
  }
  return accuracies;
}

/** Per strategy, the mean test accuracy after each round, and the label counts. */
export interface ActiveResults {
  /** Labels after each round. */
  labels: number[];
  /** Mean test accuracy per round. */
  accuracy: Record<Strategy, number[]>;
}

/** Runs both strategies `--repeats` times, prints the table, writes the curve. */
export async function main(args: string[] = Deno.args): Promise<ActiveResults> {
  const flags = await parseFlags("active", {
    initial: "100",
    "per-round": "50",
    rounds: "8",
    repeats: "3",
    steps: "200",
    candidates: "500",
  }, args);
  const quick = flags.quick;
  const mnist = await data.loadMnist();
  const pool = digitsOf(mnist.train, { flat: true, device: flags.device, limit: quick ? 3000 : undefined });
  const test = digitsOf(mnist.test, { flat: true, device: flags.device, limit: quick ? 1000 : undefined });
  const options = {
    initial: Number(flags.initial),
    perRound: Number(flags["per-round"]),
    rounds: quick ? 5 : Number(flags.rounds),
    steps: quick ? 100 : Number(flags.steps),
    candidates: Number(flags.candidates),
  };
  const repeats = quick ? 2 : Number(flags.repeats);
  const strategies: Strategy[] = ["random", "uncertainty"];
  const sums: Record<Strategy, number[]> = { random: [], uncertainty: [] };
  const bar = new utils.ProgressBar(null, {
    total: strategies.length * repeats * (options.rounds + 1),
    desc: "rounds",
    unit: "round",
  });
  for (let r = 0; r < repeats; r++) {
    for (const strategy of strategies) {
      const acc = await activeLoop(strategy, pool, test, { ...options, seed: flags.seed + 100 * r }, bar);
      acc.forEach((a, i) => sums[strategy][i] = (sums[strategy][i] ?? 0) + a / repeats);
    }
  }
  bar.close();
  const labels = sums.random.map((_, i) => options.initial + i * options.perRound);
  console.log(`\nTest accuracy against labels (mean of ${repeats} runs, pool of ${pool.x.shape[0]} digits):`);
  console.log(table(
    ["labels", ...strategies],
    labels.map((l, i) => [l, ...strategies.map((s) => pct(sums[s][i]))]),
  ));
  const plot = new utils.Plot({ title: "active learning on the digits", xLabel: "labels", yLabel: "test accuracy" });
  for (const s of strategies) plot.line(labels, sums[s], { label: s, markers: true });
  await plot.savePng(`${flags.out}/accuracy_vs_labels.png`);
  return { labels, accuracy: sums };
}

if (import.meta.main) await main();
